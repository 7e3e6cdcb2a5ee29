/**
 * Inputs that are lists of other files: ffmpeg concat scripts and HLS media playlists.
 * A job may use one only when every entry is another of the job's own inputs. The list is
 * parsed, each entry resolved to that input's local file, and the list rewritten from what
 * was understood, so nothing the parser skipped can reach ffmpeg.
 */

/** Finds the local path of a declared input named by a list entry. */
export type EntryResolver = (entry: string) => { path: string } | { problem: string };

export class ListEntryError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(message);
    this.name = 'ListEntryError';
    this.line = line;
  }
}

const CONCAT_TIME = /^-?((\d{1,9}:)?\d{1,2}:\d{1,2}(\.\d{1,9})?|\d{1,12}(\.\d{1,9})?(s|ms|us)?)$/;

/**
 * Checks an ffmpeg concat script (`ffconcat version 1.0`, `file`, `duration`, `inpoint`,
 * `outpoint`, comments) and returns it rewritten with absolute paths of the job's inputs.
 * Other directives (`option`, `stream`, `file_packet_meta`, …) are refused.
 */
export function rewriteConcatList(text: string, resolve: EntryResolver): string {
  const out = ['ffconcat version 1.0'];
  let files = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const words = splitConcatWords(trimmed, line);
    const [directive, ...args] = words;
    const one = (): string => {
      if (args.length !== 1) throw new ListEntryError(`"${directive}" takes one argument`, line);
      return args[0]!;
    };
    switch (directive) {
      case 'ffconcat':
        if (args.join(' ') !== 'version 1.0') throw new ListEntryError('unknown ffconcat version', line);
        return;
      case 'file': {
        const entry = one();
        const found = resolve(entry);
        if ('problem' in found) throw new ListEntryError(`file "${entry}": ${found.problem}`, line);
        out.push(`file '${found.path}'`);
        files++;
        return;
      }
      case 'duration':
      case 'inpoint':
      case 'outpoint': {
        const value = one();
        if (files === 0) throw new ListEntryError(`"${directive}" before any "file"`, line);
        if (!CONCAT_TIME.test(value)) throw new ListEntryError(`"${directive} ${value}" is not a time`, line);
        out.push(`${directive} ${value}`);
        return;
      }
      default:
        throw new ListEntryError(`directive "${directive}" is not accepted in concat lists`, line);
    }
  });
  if (files === 0) throw new ListEntryError('the list names no file', 0);
  return `${out.join('\n')}\n`;
}

/** Splits a concat script line into words with ffmpeg's quoting (`'…'` and `\x`). */
function splitConcatWords(line: string, lineNumber: number): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    let word = '';
    while (i < line.length && !/\s/.test(line[i]!)) {
      const c = line[i++]!;
      if (c === '\\') {
        if (i >= line.length) throw new ListEntryError('line ends with a backslash', lineNumber);
        word += line[i++];
      } else if (c === "'") {
        const end = line.indexOf("'", i);
        if (end < 0) throw new ListEntryError('unterminated quote', lineNumber);
        word += line.slice(i, end);
        i = end + 1;
      } else word += c;
    }
    words.push(word);
  }
  return words;
}

// Tags of a plain media playlist that name no other file.
const HLS_TAGS = new Set([
  'EXTM3U',
  'EXTINF',
  'EXT-X-VERSION',
  'EXT-X-TARGETDURATION',
  'EXT-X-MEDIA-SEQUENCE',
  'EXT-X-DISCONTINUITY-SEQUENCE',
  'EXT-X-PLAYLIST-TYPE',
  'EXT-X-ENDLIST',
  'EXT-X-DISCONTINUITY',
  'EXT-X-PROGRAM-DATE-TIME',
  'EXT-X-BYTERANGE',
  'EXT-X-INDEPENDENT-SEGMENTS',
  'EXT-X-ALLOW-CACHE',
  'EXT-X-START',
  'EXT-X-GAP',
]);

/**
 * Checks an HLS media playlist and returns it rewritten with absolute paths of the job's
 * inputs. Master playlists, keys, and any tag not known to name no file are refused.
 */
export function rewriteHlsPlaylist(text: string, resolve: EntryResolver): string {
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0 || lines[first]!.trim() !== '#EXTM3U') throw new ListEntryError('missing #EXTM3U header', 1);
  const out: string[] = [];
  let segments = 0;
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '') return;
    const entry = (uri: string): string => {
      const found = resolve(uri);
      if ('problem' in found) throw new ListEntryError(`"${uri}": ${found.problem}`, line);
      return found.path;
    };
    if (trimmed.startsWith('#EXT')) {
      const colon = trimmed.indexOf(':');
      const tag = trimmed.slice(1, colon < 0 ? undefined : colon);
      const attrs = colon < 0 ? '' : trimmed.slice(colon + 1);
      if (tag === 'EXT-X-MAP') {
        const uri = /^URI="([^"]*)"(,BYTERANGE="\d+(@\d+)?")?$/.exec(attrs);
        if (!uri) throw new ListEntryError('#EXT-X-MAP must be URI="…" with an optional BYTERANGE', line);
        out.push(`#EXT-X-MAP:URI="${entry(uri[1]!)}"${uri[2] ?? ''}`);
      } else if (tag === 'EXT-X-KEY') {
        if (attrs !== 'METHOD=NONE') throw new ListEntryError('encrypted playlists are not accepted', line);
        out.push(trimmed);
      } else if (HLS_TAGS.has(tag)) {
        if (/URI=/i.test(attrs)) throw new ListEntryError(`#${tag} must not name a URI`, line);
        out.push(trimmed);
      } else {
        throw new ListEntryError(`tag #${tag} is not accepted in HLS inputs (media playlists only)`, line);
      }
      return;
    }
    if (trimmed.startsWith('#')) return; // a comment
    out.push(entry(trimmed));
    segments++;
  });
  if (segments === 0) throw new ListEntryError('the playlist names no segment', 0);
  return `${out.join('\n')}\n`;
}
