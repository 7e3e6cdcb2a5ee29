/**
 * The Content-Type an object is stored with, from its name: what a CDN in front of the bucket
 * serves it as. Apple's HLS wants playlists as `application/vnd.apple.mpegurl`, a browser takes
 * WebVTT from a `<track>` only as `text/vtt`, and an image or a video opens in a browser tab
 * instead of downloading. Names not listed keep the store's default (S3's `binary/octet-stream`).
 */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  m3u8: 'application/vnd.apple.mpegurl',
  mpd: 'application/dash+xml',
  m4s: 'video/mp4',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  m4a: 'audio/mp4',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  ts: 'video/mp2t',
  mp3: 'audio/mpeg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  vtt: 'text/vtt',
  srt: 'application/x-subrip',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  json: 'application/json',
};

/** The Content-Type of an object named `key`, or undefined when its extension is not known. */
export function contentTypeOf(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? CONTENT_TYPES[name.slice(dot + 1).toLowerCase()] : undefined;
}
