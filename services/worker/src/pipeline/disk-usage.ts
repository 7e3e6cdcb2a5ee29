import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Total bytes of regular files under `dir`, for the output size limit. Links and special
 * files are not followed; a directory that vanishes mid-walk counts as empty.
 */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (path: string) => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) total += (await lstat(child).catch(() => ({ size: 0 }))).size;
    }
  };
  await walk(dir);
  return total;
}
