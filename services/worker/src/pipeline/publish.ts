/**
 * How a job's outputs reach storage so that nothing is half-published: every file of a folder
 * before the playlists that point at it, the master playlists and MPDs last (players read them
 * first); and an upload that fails takes back what it had written.
 */
import { readFile } from 'node:fs/promises';
import { childUrl, formatStorageUrl, type StorageUrl } from '@ffleet/core';
import type { JobContext } from './context.ts';
import { inBatches } from './in-batches.ts';
import { removeObjects } from './remove-objects.ts';

const PARALLEL_UPLOADS = 8;
const INDEX = /\.(m3u8|mpd)$/;
/** A master playlist names variant (or I-frame) streams; a media playlist names segments. */
const MASTER = /#EXT-X-(I-FRAME-)?STREAM-INF/;

/**
 * The upload group of a file in a folder: 0 media (segments, init segments, pictures, anything
 * else), 1 media playlists, 2 master playlists and MPDs. `text` is the playlist's content.
 */
export function publishRank(relativePath: string, text = ''): 0 | 1 | 2 {
  if (!INDEX.test(relativePath)) return 0;
  return relativePath.endsWith('.mpd') || MASTER.test(text) ? 2 : 1;
}

export interface LocalFile {
  /** Where it is on disk. */
  path: string;
  /** Its name under the output folder. */
  relativePath: string;
}

/** The files in their upload groups, in order; a group starts once the one before is written. */
export async function publishGroups(files: readonly LocalFile[]): Promise<LocalFile[][]> {
  const groups: LocalFile[][] = [[], [], []];
  for (const file of files) {
    const text = file.relativePath.endsWith('.m3u8') ? await readFile(file.path, 'utf8') : undefined;
    groups[publishRank(file.relativePath, text)]!.push(file);
  }
  return groups.filter((group) => group.length > 0);
}

/** Every object an upload stage started to write, so a stage that fails can take them back. */
export class Publication {
  readonly #ctx: JobContext;
  readonly #started: string[] = [];

  constructor(ctx: JobContext) {
    this.#ctx = ctx;
  }

  async file(path: string, url: StorageUrl): Promise<{ url: string; bytes: number }> {
    const formatted = formatStorageUrl(url);
    this.#started.push(formatted);
    return { url: formatted, bytes: await this.#ctx.deps.storage.upload(path, url, this.#ctx.signal) };
  }

  /** Files into a folder output, group after group (see `publishGroups`), some at a time. */
  async folder(target: StorageUrl, files: readonly LocalFile[]): Promise<{ url: string; bytes: number }[]> {
    const uploaded: { url: string; bytes: number }[] = [];
    // A batch's uploads all end before a failure goes on: none may land after the take-back.
    for (const group of await publishGroups(files))
      uploaded.push(
        ...(await inBatches(
          group,
          PARALLEL_UPLOADS,
          (f) => this.file(f.path, childUrl(target, f.relativePath)),
          () => this.#ctx.throwIfAborted(),
        )),
      );
    return uploaded;
  }

  /** Removes every object this publication started to write (by name, never a listing). */
  async takeBack(): Promise<void> {
    if (this.#started.length === 0) return;
    this.#ctx.log.warn({ objects: this.#started.length }, 'upload failed: removing the objects it wrote');
    await removeObjects(this.#ctx, this.#started);
  }
}

/** Runs `publish`; when it fails, what it wrote is removed before the failure goes on. */
export async function publishing<T>(ctx: JobContext, publish: (p: Publication) => Promise<T>): Promise<T> {
  const publication = new Publication(ctx);
  try {
    return await publish(publication);
  } catch (error) {
    await publication.takeBack();
    throw error;
  }
}
