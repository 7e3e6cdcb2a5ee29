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
  /** The WebVTT file, relative to the MPD. */
  url: string;
  /** ISO 639-2 language (`eng`), when known. */
  language?: string;
  forced?: boolean;
  hearingImpaired?: boolean;
}

/**
 * The MPD with one text adaptation set per subtitle rendition, each a whole WebVTT file (what
 * ffmpeg's dash muxer cannot package), after the sets it has. Its Role says what it is, as
 * DASH's role scheme does: `subtitle`, `forced-subtitle`, or `caption` for the deaf and hard
 * of hearing.
 */
export function mpdWithSubtitles(mpd: string, subtitles: readonly DashSubtitles[]): string {
  if (subtitles.length === 0) return mpd;
  const ids = [...mpd.matchAll(/<AdaptationSet\b[^>]*\bid="(\d+)"/g)].map((m) => Number(m[1]));
  const firstId = ids.length > 0 ? Math.max(...ids) + 1 : 0;
  const sets = subtitles.map((sub, i) => {
    const role = sub.forced ? 'forced-subtitle' : sub.hearingImpaired ? 'caption' : 'subtitle';
    const lang = sub.language ? ` lang="${xmlEscaped(sub.language)}"` : '';
    return [
      `\t\t<AdaptationSet id="${firstId + i}" contentType="text" mimeType="text/vtt"${lang}>`,
      `\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="${role}"/>`,
      `\t\t\t<Representation id="text-${i}" bandwidth="256">`,
      `\t\t\t\t<BaseURL>${xmlEscaped(sub.url)}</BaseURL>`,
      '\t\t\t</Representation>',
      '\t\t</AdaptationSet>',
    ].join('\n');
  });
  const end = mpd.lastIndexOf('</Period>');
  if (end < 0) throw new Error('the MPD has no Period to add subtitles to');
  const before = mpd.slice(0, end).replace(/[ \t]*$/, '');
  return `${before}${sets.join('\n')}\n\t${mpd.slice(end)}`;
}
