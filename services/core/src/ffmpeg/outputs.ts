import { lstat, readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { UnsafeJobError } from '../errors.ts';

/** A file ffmpeg wrote in an output folder, ready to upload. */
export interface OutputFile {
  /** Absolute path on the worker. */
  path: string;
  /** Path relative to the folder, with `/` separators: the suffix of the object key. */
  relativePath: string;
  size: number;
}

export interface OutputListLimits {
  maxFiles: number;
  maxDepth: number;
}

export const DEFAULT_OUTPUT_LIST_LIMITS: OutputListLimits = { maxFiles: 10_000, maxDepth: 8 };

// A name that is safe as part of an object key: no control characters, no backslash.
const SAFE_NAME = /^[^\u0000-\u001f\u007f-\u009f\\\u2028\u2029]{1,255}$/u;

/**
 * The regular files under `dir`, recursively: what a folder output uploads. Symlinks are
 * never followed nor returned (a symlink to /etc/passwd stays on the worker), nor are
 * devices, sockets, FIFOs or names unfit for an object key. `dir` itself must be a real
 * directory, not a symlink. Sorted by relative path.
 */
export async function listOutputFiles(
  dir: string,
  limits: OutputListLimits = DEFAULT_OUTPUT_LIST_LIMITS,
): Promise<OutputFile[]> {
  const root = posix.resolve(dir);
  const rootStat = await lstat(root);
  if (!rootStat.isDirectory()) throw new UnsafeJobError('output folder is not a directory', { dir });
  const files: OutputFile[] = [];
  const pending: { abs: string; rel: string; depth: number }[] = [{ abs: root, rel: '', depth: 0 }];
  while (pending.length > 0) {
    const { abs, rel, depth } = pending.pop()!;
    for (const entry of await readdir(abs, { withFileTypes: true })) {
      if (!SAFE_NAME.test(entry.name) || !entry.name.isWellFormed()) continue;
      const childAbs = posix.join(abs, entry.name);
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (depth + 1 < limits.maxDepth) pending.push({ abs: childAbs, rel: childRel, depth: depth + 1 });
      } else if (entry.isFile()) {
        // lstat again: the dirent type is read once; never trust a later-swapped symlink.
        const stat = await lstat(childAbs);
        if (!stat.isFile()) continue;
        files.push({ path: childAbs, relativePath: childRel, size: stat.size });
        if (files.length > limits.maxFiles) {
          throw new UnsafeJobError(`output folder has more than ${limits.maxFiles} files`, { dir });
        }
      }
    }
  }
  return files.sort((a, b) =>
    a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0,
  );
}
