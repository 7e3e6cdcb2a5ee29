import { describe, expect, it } from 'vitest';
import { mpdWithSubtitles } from '../src/pipelines/dash-manifest.ts';
import { masterPlaylist } from '../src/pipelines/hls-playlists.ts';
import { type LadderPlan, ladderScratch, subtitleCandidates } from '../src/pipelines/ladder-commands.ts';
import { analyseMedia, firstFrameTime, type SubtitleTrack } from '../src/pipelines/media-analysis.ts';
import {
  cuesOnTimeline,
  cuesProblem,
  MAX_CUES,
  MAX_SEGMENTED_BYTES,
  parseWebVtt,
  webVttFile,
  webVttPlaylist,
  webVttSegments,
  webVttTimestamp,
} from '../src/pipelines/webvtt.ts';

const FILE = [
  'WEBVTT',
  '',
  'NOTE written by hand',
  '',
  '1',
  '00:00:01.000 --> 00:00:02.500 line:90% align:start',
  'Hello <i>there</i>',
  '',
  '01:02.250 --> 01:04.000',
  'Two',
  'lines',
  '',
  '00:00:05.000 --> 00:00:06.000',
  '',
].join('\n');

describe('WebVTT cues', () => {
  it('reads times, settings and text, leaving out headers, notes, identifiers and empty cues', () => {
    expect(parseWebVtt(FILE)).toEqual([
      { start: 1, end: 2.5, settings: 'line:90% align:start', text: 'Hello <i>there</i>' },
      { start: 62.25, end: 64, settings: '', text: 'Two\nlines' },
    ]);
    expect(parseWebVtt(FILE.replace(/\n/g, '\r\n'))).toHaveLength(2);
  });

  it('drops what would change the file it is written into: an arrow line in the text, settings that are not words', () => {
    const hostile = 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000 <script>\nok\n00:00:03.000 --> 00:00:09.000\n';
    expect(parseWebVtt(hostile)).toEqual([{ start: 1, end: 2, settings: '', text: 'ok' }]);
    expect(webVttFile(parseWebVtt(hostile))).toBe('WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n');
  });

  it('moves cues onto a timeline that starts later, cutting them to it and dropping those outside', () => {
    const cues = [
      { start: 0.2, end: 0.5, settings: '', text: 'before the picture' },
      { start: 0.4, end: 1.6, settings: '', text: 'across its start' },
      { start: 2, end: 3, settings: '', text: 'inside' },
      { start: 6, end: 8, settings: '', text: 'across its end' },
      { start: 9, end: 10, settings: '', text: 'after' },
    ];
    expect(cuesOnTimeline(cues, 0.6, 6).map((c) => [c.start, c.end, c.text])).toEqual([
      [0, 1, 'across its start'],
      [1.4, 2.4, 'inside'],
      [5.4, 6, 'across its end'],
    ]);
  });

  it('are carried unless there are none, too many, or too much text once in every segment each spans', () => {
    const cue = (start: number, end: number, text = 'x') => ({ start, end, settings: '', text });
    expect(cuesProblem([], 6)).toBe('it has no cues while the video shows');
    const many = Array.from({ length: MAX_CUES + 1 }, (_, i) => cue(i, i + 0.5));
    expect(cuesProblem(many, 6)).toBe(`it has ${MAX_CUES + 1} cues, more than ${MAX_CUES}`);
    expect(cuesProblem(many.slice(1), 6)).toBeUndefined();
    // One long cue over a two-hour film is written into each of its 1200 six-second segments.
    const long = 'x'.repeat(64 * 1024);
    expect(cuesProblem([cue(0, 7200, long)], 6)).toBe(
      `its cues would fill 76 MiB of segments, more than ${MAX_SEGMENTED_BYTES / 1024 / 1024}`,
    );
    // The same cue shown for a minute is ten segments' worth.
    expect(cuesProblem([cue(0, 60, long)], 6)).toBeUndefined();
  });

  it('land in the segment a time rounded to the millisecond says, not the one before', () => {
    const [cue] = cuesOnTimeline([{ start: 4.6, end: 5.6, settings: '', text: 'x' }], 0.6, 10);
    expect(cue).toMatchObject({ start: 4, end: 5 });
    const segments = webVttSegments([cue!], 10, 2);
    expect(segments.map((s) => parseWebVtt(s.body).length)).toEqual([0, 0, 1, 0, 0]);
  });

  it('writes timestamps to the millisecond, hours included', () => {
    expect(webVttTimestamp(0)).toBe('00:00:00.000');
    expect(webVttTimestamp(3723.4567)).toBe('01:02:03.457');
    expect(webVttTimestamp(-1)).toBe('00:00:00.000');
  });
});

describe('WebVTT segments for HLS', () => {
  const cues = [
    { start: 1, end: 2, settings: '', text: 'one' },
    { start: 5.5, end: 6.5, settings: 'align:end', text: 'across' },
  ];

  it('cuts the timeline into segments as long as the video, each holding the cues showing during it', () => {
    const segments = webVttSegments(cues, 13, 6);
    expect(segments.map((s) => [s.uri, s.seconds])).toEqual([
      ['segment-00000.vtt', 6],
      ['segment-00001.vtt', 6],
      ['segment-00002.vtt', 1],
    ]);
    expect(segments[0]!.body).toBe(
      'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:01.000 --> 00:00:02.000\none\n\n00:00:05.500 --> 00:00:06.500 align:end\nacross\n\n',
    );
    expect(segments[1]!.body).toContain('00:00:05.500 --> 00:00:06.500 align:end\nacross');
    expect(parseWebVtt(segments[2]!.body)).toEqual([]);
  });

  it('lists them in a VOD playlist whose target duration covers the longest', () => {
    const playlist = webVttPlaylist(webVttSegments(cues, 13, 6), 6);
    expect(playlist).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:6',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        '#EXTINF:6.000000,',
        'segment-00000.vtt',
        '#EXTINF:6.000000,',
        'segment-00001.vtt',
        '#EXTINF:1.000000,',
        'segment-00002.vtt',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
  });
});

describe('subtitle streams of a source', () => {
  const probe = (streams: object[]) => JSON.stringify({ format: { duration: '6' }, streams });
  const stream = (index: number, codec: string, extra: object = {}) => ({
    index,
    codec_type: 'subtitle',
    codec_name: codec,
    ...extra,
  });

  it('are read with their language, forced and hearing-impaired dispositions, text or pictures', () => {
    const media = analyseMedia(
      probe([
        { index: 0, codec_type: 'video', codec_name: 'h264' },
        stream(1, 'subrip', { tags: { language: 'ENG' } }),
        stream(2, 'mov_text', { tags: { language: 'fra' }, disposition: { forced: 1 } }),
        stream(3, 'ass', { tags: { language: 'und' }, disposition: { hearing_impaired: 1 } }),
        stream(4, 'hdmv_pgs_subtitle', { tags: { language: 'deu' } }),
      ]),
      '',
    );
    expect(media.subtitles).toEqual([
      { index: 1, codec: 'subrip', text: true, forced: false, hearingImpaired: false, language: 'eng' },
      { index: 2, codec: 'mov_text', text: true, forced: true, hearingImpaired: false, language: 'fra' },
      { index: 3, codec: 'ass', text: true, forced: false, hearingImpaired: true },
      {
        index: 4,
        codec: 'hdmv_pgs_subtitle',
        text: false,
        forced: false,
        hearingImpaired: false,
        language: 'deu',
      },
    ]);
  });

  const track = (index: number, codec = 'subrip'): SubtitleTrack => ({
    index,
    codec,
    text: !['dvd_subtitle', 'hdmv_pgs_subtitle'].includes(codec),
    forced: false,
    hearingImpaired: false,
  });

  it('are tried when they are not pictures, the pictures named in a note by their stream', () => {
    expect(subtitleCandidates([])).toEqual({ candidates: [] });
    const { candidates, note } = subtitleCandidates([
      track(2),
      { ...track(3, 'microdvd'), language: 'fra', forced: true },
      track(4, 'dvd_subtitle'),
      track(5, 'hdmv_pgs_subtitle'),
    ]);
    expect(candidates).toEqual([{ index: 2 }, { index: 3, language: 'fra', forced: true }]);
    expect(note).toBe(
      'subtitle streams 0:4, 0:5 are pictures (dvd_subtitle, hdmv_pgs_subtitle), which WebVTT cannot carry',
    );
    expect(subtitleCandidates([track(7, 'dvd_subtitle')]).note).toBe(
      'subtitle stream 0:7 is pictures (dvd_subtitle), which WebVTT cannot carry',
    );
  });

  it('are the first 64 of more, and the note says so', () => {
    const { candidates, note } = subtitleCandidates(Array.from({ length: 70 }, (_, i) => track(i + 1)));
    expect(candidates).toHaveLength(64);
    expect(note).toBe('only the first 64 of 70 text subtitle streams are tried');
  });

  it('are in the scratch a failed or finished ladder removes', () => {
    const plan = {
      scratch: 's3://b/scratch/j/',
      rungs: { kept: [], dropped: [] },
      audio: false,
      subtitleTracks: [{ index: 2 }, { index: 3 }],
    } as unknown as LadderPlan;
    expect(ladderScratch.all(plan)).toEqual([
      's3://b/scratch/j/subtitles-s2.vtt',
      's3://b/scratch/j/subtitles-s3.vtt',
    ]);
  });
});

describe('where the packaged rungs show their first frame', () => {
  it('is the earliest presentation time of a kept packet, in decode order or not', () => {
    // B-frames: the keyframe decoded first is shown at 0.08, after two frames decoded later.
    expect(
      firstFrameTime(
        '0.080000,0.040000,K__\n0.160000,0.040000,___\n0.000000,0.040000,__D\n0.120000,0.040000,___\n',
      ),
    ).toBe(0.08);
    expect(firstFrameTime('')).toBeUndefined();
  });
});

describe('subtitles in the master playlist and the MPD', () => {
  const variant = {
    uri: 'hls/720p/index.m3u8',
    iFramesUri: 'hls/720p/iframes.m3u8',
    width: 1280,
    height: 720,
    frameRate: 25,
    videoCodec: 'avc1.64001f',
    video: { peak: 3_000_000, average: 2_500_000 },
    iFramesPeak: 500_000,
  };

  it('are a SUBTITLES group every variant names, none the default, forced and SDH said so, names unique', () => {
    const master = masterPlaylist(
      [variant],
      [],
      [
        { uri: 'hls/subtitles/index.m3u8', language: 'eng' },
        { uri: 'hls/subtitles-1/index.m3u8', language: 'eng' },
        { uri: 'hls/subtitles-2/index.m3u8', language: 'fra', forced: true },
        { uri: 'hls/subtitles-3/index.m3u8', language: 'eng', hearingImpaired: true },
        { uri: 'hls/subtitles-4/index.m3u8' },
      ],
    );
    const media = master.split('\n').filter((l) => l.startsWith('#EXT-X-MEDIA:'));
    expect(media).toEqual([
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="en",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="hls/subtitles/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="en 2",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="hls/subtitles-1/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="fr forced",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,FORCED=YES,URI="hls/subtitles-2/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="en SDH",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound",URI="hls/subtitles-3/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="subtitles 5",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="hls/subtitles-4/index.m3u8"',
    ]);
    expect(master).toContain('FRAME-RATE=25.000,SUBTITLES="subs"\nhls/720p/index.m3u8');
    // WebVTT is not a codec the variants declare.
    expect(master).toContain('CODECS="avc1.64001f"');
    expect(masterPlaylist([variant])).not.toContain('SUBTITLES');
  });

  it('are text sets after the MPD ffmpeg wrote, each WebVTT in MP4 with its language and role', () => {
    const mpd = [
      '<MPD>',
      '\t<Period id="0" start="PT0.0S">',
      '\t\t<AdaptationSet id="0" contentType="video">',
      '\t\t</AdaptationSet>',
      '\t\t<AdaptationSet id="1" contentType="audio">',
      '\t\t</AdaptationSet>',
      '\t</Period>',
      '</MPD>',
      '',
    ].join('\n');
    const files = (name: string) => ({
      initialization: `dash/${name}-init.mp4`,
      media: `dash/${name}-$Number$.m4s`,
    });
    const out = mpdWithSubtitles(
      mpd,
      [
        { ...files('subtitles'), language: 'eng' },
        { ...files('subtitles-1'), language: 'fra', forced: true },
        { ...files('subtitles-2'), hearingImpaired: true },
      ],
      10.0401,
    );
    // One segment, as long as the presentation or a little longer.
    const template = (name: string) =>
      `\t\t\t\t<SegmentTemplate timescale="1000" duration="10041" startNumber="1" initialization="dash/${name}-init.mp4" media="dash/${name}-$Number$.m4s"/>`;
    expect(out).toBe(
      [
        '<MPD>',
        '\t<Period id="0" start="PT0.0S">',
        '\t\t<AdaptationSet id="0" contentType="video">',
        '\t\t</AdaptationSet>',
        '\t\t<AdaptationSet id="1" contentType="audio">',
        '\t\t</AdaptationSet>',
        '\t\t<AdaptationSet id="2" contentType="text" mimeType="application/mp4" codecs="wvtt" lang="eng">',
        '\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="subtitle"/>',
        '\t\t\t<Representation id="text-0" bandwidth="256">',
        template('subtitles'),
        '\t\t\t</Representation>',
        '\t\t</AdaptationSet>',
        '\t\t<AdaptationSet id="3" contentType="text" mimeType="application/mp4" codecs="wvtt" lang="fra">',
        '\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="forced-subtitle"/>',
        '\t\t\t<Representation id="text-1" bandwidth="256">',
        template('subtitles-1'),
        '\t\t\t</Representation>',
        '\t\t</AdaptationSet>',
        '\t\t<AdaptationSet id="4" contentType="text" mimeType="application/mp4" codecs="wvtt">',
        '\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="caption"/>',
        '\t\t\t<Representation id="text-2" bandwidth="256">',
        template('subtitles-2'),
        '\t\t\t</Representation>',
        '\t\t</AdaptationSet>',
        '\t</Period>',
        '</MPD>',
        '',
      ].join('\n'),
    );
    expect(mpdWithSubtitles(mpd, [], 10)).toBe(mpd);
  });
});
