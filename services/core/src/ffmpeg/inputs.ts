import { constants } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { UnsafeJobError } from '../errors.ts';
import { baseName, parseStorageUrl } from '../storage/url.ts';
import type { CommandPlan, WorkLayout } from './command.ts';
import { type EntryResolver, ListEntryError, rewriteConcatList, rewriteHlsPlaylist } from './playlists.ts';

/**
 * Checks downloaded inputs before ffmpeg runs, for what only the bytes can show:
 *
 * - A declared list input (`-f concat`, `-f hls`) must list only the job's other inputs; it
 *   is rewritten in place to their local paths.
 * - Any other input must not be a playlist, concat script, XML manifest or SDP file in
 *   disguise (ffmpeg picks a demuxer by content, not by name), and an AVI must not embed a
 *   playlist (the GAB2 subtitle trick).
 *
 * ffmpeg's `-format_whitelist` (set by buildArgv) refuses those demuxers too; this check
 * fails the job earlier, with an error that says why, before any byte is read by ffmpeg.
 */
export async function checkInputFiles(plan: CommandPlan, layout: WorkLayout): Promise<void> {
  for (const [i, input] of plan.inputs.entries()) {
    const path = posix.join(layout.inputDir(i), input.localName);
    const label = `inputs[${i}] (${input.url})`;
    const head = await readHead(path, label);
    const kind = sniffInput(head);
    if (input.list) {
      const text = await readListText(path, label);
      if (input.list === 'hls' && kind !== 'hls') {
        throw new UnsafeJobError(`${label} is declared -f hls but is not an HLS playlist`, { input: i });
      }
      const resolve = resolverFor(plan, layout, i);
      try {
        const rewritten =
          input.list === 'concat' ? rewriteConcatList(text, resolve) : rewriteHlsPlaylist(text, resolve);
        await writeFile(path, rewritten);
      } catch (err) {
        if (!(err instanceof ListEntryError)) throw err;
        throw new UnsafeJobError(
          `${label} is refused: ${input.list} list line ${err.line}: ${err.message}; ` +
            "a list input may only name the job's other inputs",
          { input: i, line: err.line },
        );
      }
      continue;
    }
    if (kind !== 'media') {
      throw new UnsafeJobError(
        `${label} is refused: it is ${DESCRIPTION[kind]}, which makes ffmpeg open other files. ` +
          (kind === 'hls' || kind === 'concat'
            ? `To use it, declare "-f ${kind}" in its options and list only the job's other inputs.`
            : 'Such inputs are not supported.'),
        { input: i, content: kind },
      );
    }
    if (containsPlaylist(head) || (isAvi(head) && (await fileContainsPlaylist(path)))) {
      throw new UnsafeJobError(
        `${label} is refused: it embeds a playlist or concat script, which could make ffmpeg open other files`,
        { input: i, content: 'embedded-playlist' },
      );
    }
  }
}

export type InputContent = 'hls' | 'concat' | 'xml' | 'sdp' | 'media';

const DESCRIPTION: Record<Exclude<InputContent, 'media'>, string> = {
  hls: 'an HLS playlist',
  concat: 'an ffconcat script',
  xml: 'an XML manifest (DASH, IMF, SMIL)',
  sdp: 'an SDP session description',
};

const HEAD_BYTES = 1 << 20;
const MAX_LIST_BYTES = 1 << 20;

/** What the first bytes of a file say it is, as far as ffmpeg's probing is concerned. */
export function sniffInput(head: Uint8Array): InputContent {
  let text = Buffer.from(head.subarray(0, 512)).toString('latin1');
  if (text.startsWith('\xef\xbb\xbf')) text = text.slice(3);
  text = text.trimStart();
  const lower = text.toLowerCase();
  if (text.startsWith('#EXTM3U')) return 'hls';
  if (lower.startsWith('ffconcat version')) return 'concat';
  if (/^<(\?xml|mpd|compositionplaylist|assetmap|smil)/.test(lower)) return 'xml';
  if (/^v=0\r?\n/.test(text)) return 'sdp';
  return 'media';
}

const MARKERS = [Buffer.from('#EXTM3U'), Buffer.from('ffconcat version')];

function containsPlaylist(bytes: Uint8Array): boolean {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return MARKERS.some((m) => buf.includes(m));
}

function isAvi(head: Uint8Array): boolean {
  const b = Buffer.from(head.subarray(0, 12));
  return b.length === 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'AVI ';
}

/** Scans the whole file, in chunks that overlap by a marker's length. */
async function fileContainsPlaylist(path: string): Promise<boolean> {
  const overlap = Math.max(...MARKERS.map((m) => m.length)) - 1;
  const handle = await open(path, 'r');
  try {
    const chunk = Buffer.alloc(HEAD_BYTES + overlap);
    let carried = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, carried, HEAD_BYTES);
      if (bytesRead === 0) return false;
      const filled = carried + bytesRead;
      if (containsPlaylist(chunk.subarray(0, filled))) return true;
      carried = Math.min(overlap, filled);
      chunk.copy(chunk, 0, filled - carried, filled);
    }
  } finally {
    await handle.close();
  }
}

async function readHead(path: string, label: string): Promise<Buffer> {
  // O_NOFOLLOW: the worker downloaded a regular file here; a symlink would be an attack.
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ELOOP')
        throw new UnsafeJobError(`${label} is a symlink, not a downloaded file`, { path });
      throw new UnsafeJobError(`${label} was not downloaded: ${err.code ?? err.message}`, { path });
    },
  );
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UnsafeJobError(`${label} is not a regular file`, { path });
    const buf = Buffer.alloc(Math.min(HEAD_BYTES, stat.size));
    await handle.read(buf, 0, buf.length, 0);
    return buf;
  } finally {
    await handle.close();
  }
}

async function readListText(path: string, label: string): Promise<string> {
  const bytes = await readFile(path);
  if (bytes.length > MAX_LIST_BYTES) {
    throw new UnsafeJobError(`${label} is larger than ${MAX_LIST_BYTES} bytes, too large for a list`, {});
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UnsafeJobError(`${label} is declared as a list but is not UTF-8 text`, {});
  }
}

/**
 * Resolves a list entry to another input of the job, by that input's full URL or by the
 * last segment of its URL (how a playlist next to its segments names them).
 */
function resolverFor(plan: CommandPlan, layout: WorkLayout, self: number): EntryResolver {
  const byName = new Map<string, number[]>();
  const add = (key: string, index: number): void => {
    const list = byName.get(key) ?? [];
    if (!list.includes(index)) list.push(index);
    byName.set(key, list);
  };
  plan.inputs.forEach((input, i) => {
    if (i === self) return;
    add(input.url, i);
    add(baseName(parseStorageUrl(input.url, { allowFile: true })), i);
  });
  return (entry) => {
    const found = byName.get(entry);
    if (!found) return { problem: "it is not one of the job's inputs" };
    if (found.length > 1) return { problem: 'several inputs have this name; use the full URL' };
    const index = found[0]!;
    const input = plan.inputs[index]!;
    if (input.list) return { problem: 'it is itself a list input' };
    return { path: posix.join(layout.inputDir(index), input.localName) };
  };
}
