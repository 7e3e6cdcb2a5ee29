import { copyFile, mkdir, realpath, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { InputMissingError, type ObjectStore } from './storage.ts';
import { formatStorageUrl, type StorageUrl } from './url.ts';

/**
 * `file://` storage confined to one root directory, for local fleets and shared volumes.
 * A path that resolves (through symlinks) outside the root is refused.
 */
export class FileStore implements ObjectStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async download(url: StorageUrl, destination: string): Promise<number> {
    const source = await this.#resolve(url, true);
    await copyFile(source, destination);
    return (await stat(destination)).size;
  }

  async upload(source: string, url: StorageUrl): Promise<number> {
    const target = await this.#resolve(url, false);
    await mkdir(dirname(target), { recursive: true });
    await this.#confine(dirname(target));
    await copyFile(source, target);
    return (await stat(target)).size;
  }

  async remove(url: StorageUrl): Promise<void> {
    const target = await this.#resolve(url, false);
    await this.#confine(dirname(target)).catch(() => {});
    await rm(target, { force: true });
  }

  async #resolve(url: StorageUrl, mustExist: boolean): Promise<string> {
    if (url.scheme !== 'file') throw new Error(`FileStore cannot handle ${url.scheme} URLs`);
    const path = join(this.#root, url.path);
    if (mustExist) {
      try {
        await this.#confine(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          throw new InputMissingError(formatStorageUrl(url), error);
        throw error;
      }
    }
    return path;
  }

  async #confine(path: string): Promise<void> {
    const root = await realpath(this.#root);
    const real = await realpath(path);
    const rel = relative(root, real);
    if (rel.startsWith(`..${sep}`) || rel === '..' || rel.startsWith(sep)) {
      throw new InputMissingError(`${path} is outside the file root`);
    }
  }
}
