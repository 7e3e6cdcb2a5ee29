/**
 * The HLS playlists a ladder writes itself: the master playlist (one variant per rung, with
 * bandwidths measured from the segments) and one I-frame playlist per rung. ffmpeg writes the
 * media playlists; this reads them back to measure.
 */
import type { AudioRole } from './media-analysis.ts';

export interface MediaSegment {
  uri: string;
  seconds: number;
}

/** The segments of a VOD media playlist ffmpeg wrote (EXTINF and URI lines). */
export function mediaSegments(playlist: string): MediaSegment[] {
  const segments: MediaSegment[] = [];
  let seconds: number | undefined;
  for (const raw of playlist.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) seconds = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith('#') && seconds !== undefined) {
      segments.push({ uri: line, seconds });
      seconds = undefined;
    }
  }
  return segments;
}

/** Peak and average bitrate (bits/s) of segments of known sizes, as HLS declares them. */
export function measuredBandwidth(segments: readonly { bytes: number; seconds: number }[]): {
  peak: number;
  average: number;
} {
  const total = segments.reduce((s, x) => s + x.seconds, 0);
  const bytes = segments.reduce((s, x) => s + x.bytes, 0);
  const peak = Math.max(0, ...segments.filter((s) => s.seconds > 0).map((s) => (s.bytes * 8) / s.seconds));
  return { peak: Math.ceil(peak), average: total > 0 ? Math.ceil((bytes * 8) / total) : 0 };
}

export interface IFrame {
  uri: string;
  seconds: number;
  offset: number;
  length: number;
}

export function iFramePlaylist(init: string, frames: readonly IFrame[], targetSeconds: number): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${targetSeconds}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-I-FRAMES-ONLY',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-MAP:URI="${init}"`,
  ];
  for (const f of frames)
    lines.push(`#EXTINF:${f.seconds.toFixed(6)},`, `#EXT-X-BYTERANGE:${f.length}@${f.offset}`, f.uri);
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

export interface HlsVariant {
  uri: string;
  iFramesUri: string;
  width: number;
  height: number;
  frameRate: number;
  videoCodec: string;
  video: { peak: number; average: number };
  iFramesPeak: number;
  /** HDR rungs' VIDEO-RANGE (players that cannot show it skip the variant); absent: SDR. */
  videoRange?: 'PQ' | 'HLG';
}

export interface HlsAudio {
  uri: string;
  codec: string;
  bandwidth: { peak: number; average: number };
  /** ISO 639-2 language of the rendition (`eng`), when known. */
  language?: string;
  /** A commentary or an audio description; absent: the programme's sound. */
  role?: AudioRole;
}

export interface HlsSubtitles {
  uri: string;
  /** ISO 639-2 language (`eng`), when known. */
  language?: string;
  forced?: boolean;
  hearingImpaired?: boolean;
}

/** What a role adds to a rendition's NAME. */
const ROLE_NAMES: Record<AudioRole, string> = {
  commentary: 'commentary',
  description: 'audio description',
};

/** ISO 639-2 codes whose BCP 47 form (what HLS's LANGUAGE takes) is the two-letter ISO 639-1 code. */
const TWO_LETTER: Record<string, string> = {
  ara: 'ar',
  ben: 'bn',
  ces: 'cs',
  cze: 'cs',
  chi: 'zh',
  zho: 'zh',
  dan: 'da',
  deu: 'de',
  ger: 'de',
  ell: 'el',
  gre: 'el',
  eng: 'en',
  spa: 'es',
  fas: 'fa',
  per: 'fa',
  fin: 'fi',
  fra: 'fr',
  fre: 'fr',
  heb: 'he',
  hin: 'hi',
  hun: 'hu',
  ind: 'id',
  ita: 'it',
  jpn: 'ja',
  kor: 'ko',
  msa: 'ms',
  may: 'ms',
  nld: 'nl',
  dut: 'nl',
  nor: 'no',
  pol: 'pl',
  por: 'pt',
  ron: 'ro',
  rum: 'ro',
  rus: 'ru',
  swe: 'sv',
  tam: 'ta',
  tel: 'te',
  tha: 'th',
  tur: 'tr',
  ukr: 'uk',
  urd: 'ur',
  vie: 'vi',
};

/** HLS's LANGUAGE for an ISO 639-2 code: its two-letter form when it has one, else the code. */
export function hlsLanguage(iso639: string): string {
  return TWO_LETTER[iso639] ?? iso639;
}

/**
 * NAME must differ within a group: a second rendition of one name gets a number (`en 2`).
 * Returns a function giving each base name its unique form, in order of asking.
 */
function uniqueNames(): (base: string) => string {
  const seen = new Map<string, number>();
  return (base) => {
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base} ${count}`;
  };
}

/** A subtitle rendition's EXT-X-MEDIA attributes (GROUP-ID `subs`); none is the default. */
function subtitleMedia(subtitles: readonly HlsSubtitles[]): string[] {
  const unique = uniqueNames();
  return subtitles.map((sub, i) => {
    const language = sub.language
      ? hlsLanguage(sub.language)
      : subtitles.length > 1
        ? `subtitles ${i + 1}`
        : 'subtitles';
    const kind = sub.forced ? ' forced' : sub.hearingImpaired ? ' SDH' : '';
    const attributes = [
      'TYPE=SUBTITLES',
      'GROUP-ID="subs"',
      `NAME="${unique(`${language}${kind}`)}"`,
      ...(sub.language ? [`LANGUAGE="${hlsLanguage(sub.language)}"`] : []),
      'DEFAULT=NO',
      'AUTOSELECT=YES',
      `FORCED=${sub.forced ? 'YES' : 'NO'}`,
      ...(sub.hearingImpaired
        ? [
            'CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound"',
          ]
        : []),
      `URI="${sub.uri}"`,
    ];
    return `#EXT-X-MEDIA:${attributes.join(',')}`;
  });
}

/**
 * The master playlist: each rung's variant declares its measured peak and average (video plus
 * the costliest audio it may play with), its size, codecs and frame rate; the audio renditions
 * (one per audio stream of the source) are one group, the first of the programme's sound the
 * default. A player picks a commentary only when asked (AUTOSELECT=NO), and an audio
 * description when its user asked for described video (its CHARACTERISTICS). Subtitle
 * renditions (WebVTT) are a group of their own, which every variant names.
 */
export function masterPlaylist(
  variants: readonly HlsVariant[],
  audio: readonly HlsAudio[] = [],
  subtitles: readonly HlsSubtitles[] = [],
): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  const defaultIndex = Math.max(
    0,
    audio.findIndex((a) => !a.role),
  );
  const unique = uniqueNames();
  audio.forEach((a, i) => {
    const language = a.language ? hlsLanguage(a.language) : audio.length > 1 ? `audio ${i + 1}` : 'audio';
    const attributes = [
      'TYPE=AUDIO',
      'GROUP-ID="audio"',
      `NAME="${unique(a.role ? `${language} ${ROLE_NAMES[a.role]}` : language)}"`,
      ...(a.language ? [`LANGUAGE="${hlsLanguage(a.language)}"`] : []),
      `DEFAULT=${i === defaultIndex ? 'YES' : 'NO'}`,
      `AUTOSELECT=${a.role === 'commentary' ? 'NO' : 'YES'}`,
      ...(a.role === 'description' ? ['CHARACTERISTICS="public.accessibility.describes-video"'] : []),
      'CHANNELS="2"',
      `URI="${a.uri}"`,
    ];
    lines.push(`#EXT-X-MEDIA:${attributes.join(',')}`);
  });
  lines.push(...subtitleMedia(subtitles));
  const peak = Math.max(0, ...audio.map((a) => a.bandwidth.peak));
  const average = Math.max(0, ...audio.map((a) => a.bandwidth.average));
  for (const v of variants) {
    const codecs = audio[0] ? `${v.videoCodec},${audio[0].codec}` : v.videoCodec;
    const attributes = [
      `BANDWIDTH=${v.video.peak + peak}`,
      `AVERAGE-BANDWIDTH=${v.video.average + average}`,
      `RESOLUTION=${v.width}x${v.height}`,
      `CODECS="${codecs}"`,
      `FRAME-RATE=${v.frameRate.toFixed(3)}`,
      ...(v.videoRange ? [`VIDEO-RANGE=${v.videoRange}`] : []),
      ...(audio.length > 0 ? ['AUDIO="audio"'] : []),
      ...(subtitles.length > 0 ? ['SUBTITLES="subs"'] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, v.uri);
  }
  for (const v of variants)
    lines.push(
      `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=${v.iFramesPeak},RESOLUTION=${v.width}x${v.height},CODECS="${v.videoCodec}",${v.videoRange ? `VIDEO-RANGE=${v.videoRange},` : ''}URI="${v.iFramesUri}"`,
    );
  return `${lines.join('\n')}\n`;
}
