/**
 * Fixes to the MPD ffmpeg's dash muxer writes. Its `codecs` attribute is a bare `hvc1` for
 * HEVC, which players cannot match against what they decode (they need the profile, tier and
 * level, as RFC 6381 writes them); the init segments hold the full string. And it says nothing
 * of an HDR video's colour, which players need before they pick it.
 */
import type { HdrColour } from './tone-map.ts';

/** The MPD with each listed Representation's `codecs` set to the given string (by Representation id). */
export function mpdWithCodecs(mpd: string, codecs: ReadonlyMap<string, string>): string {
  return mpd.replace(/<Representation\b[^>]*>/g, (tag) => {
    const id = /\bid="([^"]*)"/.exec(tag)?.[1];
    const codec = id === undefined ? undefined : codecs.get(id);
    if (codec === undefined || !/^[A-Za-z0-9.]+$/.test(codec)) return tag;
    return tag.replace(/\bcodecs="[^"]*"/, `codecs="${codec}"`);
  });
}

/** ISO/IEC 23091-2 (CICP) code points of the HDR colours ffleet keeps. */
const CICP = {
  primaries: { bt2020: 9, bt709: 1, smpte432: 12, smpte431: 11 },
  transfer: { pq: 16, hlg: 18 },
  matrix: { bt2020nc: 9, bt2020c: 10, bt709: 1, ictcp: 14 },
} as const;

/**
 * The MPD with an HDR video adaptation set's colour declared (the set with id `setId`), as
 * DASH-IF's guidelines for HDR ask: its primaries, transfer (PQ or HLG) and matrix as CICP
 * code points.
 */
export function mpdWithColour(mpd: string, hdr: HdrColour, setId = 0): string {
  const property = (name: string, value: number) =>
    `<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:${name}" value="${value}"/>`;
  const properties = [
    property('ColourPrimaries', CICP.primaries[hdr.primaries]),
    property('TransferCharacteristics', CICP.transfer[hdr.transfer]),
    property('MatrixCoefficients', CICP.matrix[hdr.matrix]),
  ];
  return mpd.replace(/(\n?([ \t]*)<AdaptationSet\b[^>]*>)/g, (tag, _all, indent: string) =>
    /\bcontentType="video"/.test(tag) && tag.includes(` id="${setId}"`)
      ? `${tag}${properties.map((p) => `\n${indent}\t${p}`).join('')}`
      : tag,
  );
}

/** Text safe inside an XML attribute or element. */
function xmlEscaped(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface DashSubtitles {
  /** The init segment, relative to the MPD. */
  initialization: string;
  /** The media segment's template, relative to the MPD: `$Number$` is 1, the only segment. */
  media: string;
  /** ISO 639-2 language (`eng`), when known. */
  language?: string;
  forced?: boolean;
  hearingImpaired?: boolean;
}

/**
 * The MPD with one text adaptation set per subtitle rendition, after the sets it has: WebVTT in
 * fragmented MP4 (`wvtt`, see wvtt-mp4.ts), an init segment and one media segment as long as
 * the presentation. Its Role says what it is, as DASH's role scheme does: `subtitle`,
 * `forced-subtitle`, or `caption` for the deaf and hard of hearing.
 */
export function mpdWithSubtitles(
  mpd: string,
  subtitles: readonly DashSubtitles[],
  durationSeconds: number,
): string {
  if (subtitles.length === 0) return mpd;
  const ids = [...mpd.matchAll(/<AdaptationSet\b[^>]*\bid="(\d+)"/g)].map((m) => Number(m[1]));
  const firstId = ids.length > 0 ? Math.max(...ids) + 1 : 0;
  // One segment: its duration reaches the presentation's end.
  const segmentMs = Math.max(1, Math.ceil(durationSeconds * 1000));
  const sets = subtitles.map((sub, i) => {
    const role = sub.forced ? 'forced-subtitle' : sub.hearingImpaired ? 'caption' : 'subtitle';
    const lang = sub.language ? ` lang="${xmlEscaped(sub.language)}"` : '';
    return [
      `\t\t<AdaptationSet id="${firstId + i}" contentType="text" mimeType="application/mp4" codecs="wvtt"${lang}>`,
      `\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="${role}"/>`,
      `\t\t\t<Representation id="text-${i}" bandwidth="256">`,
      `\t\t\t\t<SegmentTemplate timescale="1000" duration="${segmentMs}" startNumber="1" initialization="${xmlEscaped(sub.initialization)}" media="${xmlEscaped(sub.media)}"/>`,
      '\t\t\t</Representation>',
      '\t\t</AdaptationSet>',
    ].join('\n');
  });
  const end = mpd.lastIndexOf('</Period>');
  if (end < 0) throw new Error('the MPD has no Period to add subtitles to');
  const before = mpd.slice(0, end).replace(/[ \t]*$/, '');
  return `${before}${sets.join('\n')}\n\t${mpd.slice(end)}`;
}
