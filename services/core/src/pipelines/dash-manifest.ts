/**
 * Fixes to the MPD ffmpeg's dash muxer writes. Its `codecs` attribute is a bare `hvc1` for
 * HEVC, which players cannot match against what they decode (they need the profile, tier and
 * level, as RFC 6381 writes them); the init segments hold the full string.
 */

/** The MPD with each listed Representation's `codecs` set to the given string (by Representation id). */
export function mpdWithCodecs(mpd: string, codecs: ReadonlyMap<string, string>): string {
  return mpd.replace(/<Representation\b[^>]*>/g, (tag) => {
    const id = /\bid="([^"]*)"/.exec(tag)?.[1];
    const codec = id === undefined ? undefined : codecs.get(id);
    if (codec === undefined || !/^[A-Za-z0-9.]+$/.test(codec)) return tag;
    return tag.replace(/\bcodecs="[^"]*"/, `codecs="${codec}"`);
  });
}
