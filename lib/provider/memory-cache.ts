import NodeCache from 'node-cache';
import { invalidOption } from '../core/errors.js';
import { integerOption } from '../core/option-checks.js';
import type { StoredToken, TokenCache } from '../core/types.js';

/** Options of {@link MemoryTokenCache}. */
export interface MemoryTokenCacheOptions {
  /**
   * The most tokens held; the oldest written is dropped to make room, so per-request
   * targets (one per tenant, say) cannot grow the store without bound.
   * @default 10000
   */
  maxEntries?: number | undefined;
}

/**
 * The default {@link TokenCache}: process memory on `node-cache`. Its expiry
 * check timer is unref'd, so it never keeps a process alive.
 */
export class MemoryTokenCache implements TokenCache {
  readonly #entries = new NodeCache({ useClones: false, checkperiod: 60, deleteOnExpire: true });
  readonly #maxEntries: number;

  constructor(options: MemoryTokenCacheOptions = {}) {
    this.#maxEntries = integerOption('maxEntries', options.maxEntries, 10_000, 1, Number.MAX_SAFE_INTEGER, (name, problem) =>
      invalidOption(name, problem, 'MemoryTokenCache'),
    );
  }

  get(key: string): StoredToken | undefined {
    return this.#entries.get<StoredToken>(key);
  }

  set(key: string, value: StoredToken, ttlMs: number): void {
    if (!(ttlMs > 0)) return;
    if (!this.#entries.has(key) && this.#entries.getStats().keys >= this.#maxEntries) {
      // node-cache keeps keys in insertion order: the first is the oldest written.
      const oldest = this.#entries.keys()[0];
      if (oldest !== undefined) this.#entries.del(oldest);
    }
    this.#entries.set(key, value, ttlMs / 1000);
  }

  delete(key: string): void {
    this.#entries.del(key);
  }

  /** How many tokens are held. */
  get size(): number {
    return this.#entries.keys().length;
  }
}

// The documented process-wide default store: every provider of the process shares it unless given a cache.
let shared: MemoryTokenCache | undefined;

/** The store every provider of the process uses unless given another. */
export function sharedMemoryTokenCache(): MemoryTokenCache {
  shared ??= new MemoryTokenCache();
  return shared;
}
