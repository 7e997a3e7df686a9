import NodeCache from 'node-cache';
import type { StoredToken, TokenCache } from './types.js';

/**
 * The default {@link TokenCache}: process memory on `node-cache`. Its expiry
 * check timer is unref'd, so it never keeps a process alive.
 */
export class MemoryTokenCache implements TokenCache {
  readonly #entries = new NodeCache({ useClones: false, checkperiod: 60, deleteOnExpire: true });

  get(key: string): StoredToken | undefined {
    return this.#entries.get<StoredToken>(key);
  }

  set(key: string, value: StoredToken, ttlMs: number): void {
    if (ttlMs > 0) this.#entries.set(key, value, ttlMs / 1000);
  }

  delete(key: string): void {
    this.#entries.del(key);
  }

  /** How many tokens are held. */
  get size(): number {
    return this.#entries.keys().length;
  }
}

let shared: MemoryTokenCache | undefined;

/** The store every provider of the process uses unless given another. */
export function sharedMemoryTokenCache(): MemoryTokenCache {
  shared ??= new MemoryTokenCache();
  return shared;
}
