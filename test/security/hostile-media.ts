/**
 * Real files of the known "make ffmpeg read something else" attacks, generated in code so
 * the corpus needs no binary fixtures: HLS playlists, concat scripts, a DASH manifest and
 * an SDP file that point elsewhere, and an AVI whose subtitle stream embeds a playlist
 * (the GAB2 trick: avidec probes the subtitle payload as a nested input).
 */

const encoder = new TextEncoder();
const text = (s: string): Uint8Array => encoder.encode(s);

/** An HLS media playlist whose segments are `targets` (paths or URLs). */
export function hlsPlaylist(targets: readonly string[], extraTags: readonly string[] = []): Uint8Array {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:10',
    '#EXT-X-MEDIA-SEQUENCE:0',
    ...extraTags,
  ];
  for (const target of targets) lines.push('#EXTINF:10.0,', target);
  lines.push('#EXT-X-ENDLIST', '');
  return text(lines.join('\n'));
}

/** An HLS master playlist naming variant playlists. */
export function hlsMasterPlaylist(variants: readonly string[]): Uint8Array {
  const lines = ['#EXTM3U'];
  for (const v of variants) lines.push('#EXT-X-STREAM-INF:BANDWIDTH=800000', v);
  return text(`${lines.join('\n')}\n`);
}

/** An ffmpeg concat script (with or without the `ffconcat version 1.0` header). */
export function concatList(
  entries: readonly string[],
  { header = true, extra = [] as readonly string[] } = {},
): Uint8Array {
  const lines = header ? ['ffconcat version 1.0'] : [];
  for (const e of entries) lines.push(`file '${e.replaceAll("'", "'\\''")}'`);
  lines.push(...extra, '');
  return text(lines.join('\n'));
}

/** A DASH manifest whose segment template points at `base`. */
export function dashManifest(base: string): Uint8Array {
  return text(
    '<?xml version="1.0" encoding="utf-8"?>\n' +
      '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" ' +
      'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">\n' +
      `  <BaseURL>${base}</BaseURL>\n` +
      '  <Period><AdaptationSet mimeType="video/mp4"><Representation id="0" bandwidth="1000">\n' +
      '    <SegmentTemplate media="seg-$Number$.m4s" initialization="init.mp4" startNumber="1" duration="10" />\n' +
      '  </Representation></AdaptationSet></Period>\n</MPD>\n',
  );
}

/** An SDP description that makes ffmpeg listen for RTP on a loopback port. */
export function sdpFile(port: number): Uint8Array {
  return text(
    'v=0\no=- 0 0 IN IP4 127.0.0.1\ns=ffleet\nc=IN IP4 127.0.0.1\nt=0 0\n' +
      `m=video ${port} RTP/AVP 96\na=rtpmap:96 H264/90000\n`,
  );
}

/** Bytes that are not a playlist: stand-ins for segment inputs a list names. */
export function opaqueMedia(label: string): Uint8Array {
  const bytes = new Uint8Array(4096);
  bytes.set(text(`\u0000\u0000\u0000\u0018ftypisom${label}`));
  return bytes;
}

// --- AVI -------------------------------------------------------------------------------

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
function u16(n: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, n, true);
  return b;
}
function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
function chunk(id: string, data: Uint8Array): Uint8Array {
  const pad = data.length % 2 === 1 ? [new Uint8Array(1)] : [];
  return concat([text(id), u32(data.length), data, ...pad]);
}
function list(type: string, children: readonly Uint8Array[]): Uint8Array {
  const body = concat([text(type), ...children]);
  return concat([text('LIST'), u32(body.length), body]);
}
function streamHeader(
  type: string,
  handler: string,
  scale: number,
  rate: number,
  length: number,
  bufSize: number,
) {
  return chunk(
    'strh',
    concat([
      text(type),
      text(handler),
      u32(0), // flags
      u16(0), // priority
      u16(0), // language
      u32(0), // initial frames
      u32(scale),
      u32(rate),
      u32(0), // start
      u32(length),
      u32(bufSize),
      u32(0xffffffff), // quality
      u32(0), // sample size
      u16(0),
      u16(0),
      u16(16),
      u16(16), // frame rectangle
    ]),
  );
}

/**
 * A valid AVI (one 16x16 raw RGB video frame) with a second, subtitle ("txts") stream
 * whose one packet is a GAB2 payload carrying `payload`, e.g. an HLS playlist.
 */
export function aviWithEmbeddedPlaylist(payload: Uint8Array): Uint8Array {
  const width = 16;
  const height = 16;
  const frame = new Uint8Array(width * height * 3).fill(0x80);
  const name = 'subs';
  const gab2 = concat([
    text('GAB2\u0000'),
    u16(2), // version
    u32(name.length * 2 + 2),
    ...[...name].map((c) => u16(c.charCodeAt(0))),
    u16(0),
    u16(4), // type: subtitle data follows
    u32(payload.length),
    payload,
  ]);
  const bitmapInfo = concat([
    u32(40),
    u32(width),
    u32(height),
    u16(1), // planes
    u16(24), // bits per pixel
    u32(0), // BI_RGB
    u32(frame.length),
    u32(0),
    u32(0),
    u32(0),
    u32(0),
  ]);
  const avih = chunk(
    'avih',
    concat([
      u32(40_000), // microseconds per frame (25 fps)
      u32(0),
      u32(0),
      u32(0x10), // AVIF_HASINDEX
      u32(1), // total frames
      u32(0),
      u32(2), // streams
      u32(Math.max(frame.length, gab2.length)),
      u32(width),
      u32(height),
      u32(0),
      u32(0),
      u32(0),
      u32(0),
    ]),
  );
  const hdrl = list('hdrl', [
    avih,
    list('strl', [streamHeader('vids', 'DIB ', 1, 25, 1, frame.length), chunk('strf', bitmapInfo)]),
    list('strl', [
      streamHeader('txts', '\u0000\u0000\u0000\u0000', 1, 25, 1, gab2.length),
      chunk('strf', new Uint8Array(0)),
    ]),
  ]);
  const videoChunk = chunk('00db', frame);
  const subChunk = chunk('01tx', gab2);
  const movi = list('movi', [videoChunk, subChunk]);
  // idx1 offsets are relative to the 'movi' fourcc.
  const idx1 = chunk(
    'idx1',
    concat([
      text('00db'),
      u32(0x10),
      u32(4),
      u32(frame.length),
      text('01tx'),
      u32(0x10),
      u32(4 + videoChunk.length),
      u32(gab2.length),
    ]),
  );
  const body = concat([text('AVI '), hdrl, movi, idx1]);
  return concat([text('RIFF'), u32(body.length), body]);
}
