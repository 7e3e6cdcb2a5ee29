import type { ObjectStore } from './storage.ts';
import type { StorageUrl } from './url.ts';

/** Sends each URL to the store for its scheme. */
export class StorageRouter implements ObjectStore {
  readonly #stores: Partial<Record<StorageUrl['scheme'], ObjectStore>>;

  constructor(stores: Partial<Record<StorageUrl['scheme'], ObjectStore>>) {
    this.#stores = stores;
  }

  #store(url: StorageUrl): ObjectStore {
    const store = this.#stores[url.scheme];
    if (!store) throw new Error(`no storage configured for ${url.scheme}:// URLs`);
    return store;
  }

  download(url: StorageUrl, destination: string, signal?: AbortSignal): Promise<number> {
    return this.#store(url).download(url, destination, signal);
  }

  upload(source: string, url: StorageUrl, signal?: AbortSignal): Promise<number> {
    return this.#store(url).upload(source, url, signal);
  }

  remove(url: StorageUrl): Promise<void> {
    return this.#store(url).remove(url);
  }
}
