import { lstat, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';

/**
 * Regular files under `dir`, as paths relative to it. Symlinks and special files are skipped
 * (ffmpeg writes regular files; a link could point anywhere), and nothing outside `dir` is read.
 */
export async function listOutputFiles(dir: string): Promise<{ relative: string; bytes: number }[]> {
  const found: { relative: string; bytes: number }[] = [];
  const walk = async (sub: string) => {
    const entries = await readdir(join(dir, sub), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const relative = sub ? posix.join(sub, entry.name) : entry.name;
      if (entry.isDirectory()) await walk(relative);
      else if (entry.isFile()) found.push({ relative, bytes: (await lstat(join(dir, relative))).size });
    }
  };
  await walk('');
  return found;
}

/** Total bytes of regular files under `dir` (the output size limit). */
export async function directoryBytes(dir: string): Promise<number> {
  try {
    return (await listOutputFiles(dir)).reduce((sum, f) => sum + f.bytes, 0);
  } catch {
    return 0;
  }
}
