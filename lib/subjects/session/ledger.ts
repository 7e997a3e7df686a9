import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { cacheCall } from '../../provider/cache-access.js';
import { parseJsonObject } from '../../core/json.js';
import { MAX_REFRESH_TOKEN_LENGTH } from '../../grants/refresh-token-grant.js';
import type { AadBackendAuthLogger, StoredToken, TokenCache } from '../../core/types.js';

/**
 * How long rotated tokens stay under the old refresh token's hash: a loser of the fleet lock, or a
 * request whose session copy is stale, takes them from there instead of redeeming the old one again.
 */
export const HAND_OFF_MS = 120_000;
/** How long a shared cache remembers a refresh token the IdP refused. */
const DEAD_MS = 24 * 60 * 60 * 1000;
/** The family a rotated refresh token belongs to is remembered as long as a refresh token may live. */
const FAMILY_MS = 24 * 60 * 60 * 1000;
/** In-process bounds: hashes and hand-offs of this many refresh tokens. */
const MAX_ENTRIES = 10_000;
const HASH = /^[A-Za-z0-9_-]{43}$/;

/** A refresh token's name in keys, maps and logs: its SHA-256, never the token. */
export function refreshTokenHash(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest('base64url');
}

/**
 * What a shared cache offers to hold cookie-session records beside tokens: `RedisTokenCache`
 * implements it. Values are opaque strings the cache encrypts (`encrypted` says whether it does).
 */
export interface SessionRecordStore {
  readonly encrypted: boolean;
  getRecord(key: string): Promise<string | undefined>;
  setRecord(key: string, value: string, ttlMs: number): Promise<void>;
}

export function isSessionRecordStore(cache: unknown): cache is SessionRecordStore {
  const c = cache as Partial<SessionRecordStore> | null;
  return typeof c === 'object' && c !== null && typeof c.getRecord === 'function' && typeof c.setRecord === 'function' && typeof c.encrypted === 'boolean';
}

/** The tokens a redemption of one refresh token brought, kept under that refresh token's hash. Holds tokens. */
export interface HandOff {
  /** The refresh token that replaced the redeemed one. */
  readonly refreshToken: string;
  /** The family: the hash of the first refresh token this process or fleet saw of the chain. */
  readonly family: string;
  /** The scope asked for (`''` for none). */
  readonly scopeKey: string;
  readonly grantedScope: string | undefined;
  readonly access: StoredToken | undefined;
}

/** Told when the ledger notes a rotation or a refusal of a refresh token in this process. */
export interface LedgerWatcher {
  noted(hash: string): void;
}

/**
 * Every `aadUserToken` on one cache shares one ledger: the redemption in flight per refresh token,
 * hand-offs of rotated tokens, refresh tokens the IdP refused, and the family of each refresh
 * token. In process always; in the cache too when it is a shared {@link SessionRecordStore}.
 */
export class SessionLedger {
  /** One redemption per refresh token hash in this process. */
  readonly flights = new Map<string, Promise<unknown>>();
  readonly shared: (SessionRecordStore & TokenCache) | undefined;
  readonly #cache: TokenCache;
  readonly #handOffs = new LRUCache<string, HandOff>({ max: MAX_ENTRIES, ttl: HAND_OFF_MS });
  readonly #dead = new LRUCache<string, true>({ max: MAX_ENTRIES });
  readonly #families = new LRUCache<string, string>({ max: MAX_ENTRIES });
  /** Held weakly: a middleware that is dropped without `close()` is not kept alive by the ledger it shared. */
  readonly #watchers = new Set<WeakRef<LedgerWatcher>>();

  constructor(cache: TokenCache) {
    this.#cache = cache;
    this.shared = isSessionRecordStore(cache) ? (cache as SessionRecordStore & TokenCache) : undefined;
  }

  get cache(): TokenCache {
    return this.#cache;
  }

  /** Tells `watcher` of every rotation and refusal this process notes from now on. */
  watch(watcher: LedgerWatcher): void {
    this.#watchers.add(new WeakRef(watcher));
  }

  /** Whether this process holds a hand-off or a refusal of the refresh token. */
  notedHere(hash: string): boolean {
    return this.#dead.has(hash) || this.#handOffs.has(hash);
  }

  isDeadHere(hash: string): boolean {
    return this.#dead.has(hash);
  }

  async isDead(hash: string, logger: AadBackendAuthLogger): Promise<boolean> {
    if (this.#dead.has(hash)) return true;
    const shared = this.shared;
    if (shared === undefined) return false;
    const found = (await cacheCall(logger, () => shared.getRecord(`dead|${hash}`), 'get')) !== undefined;
    if (found) this.#note(this.#dead, hash, true);
    return found;
  }

  async markDead(hash: string, logger: AadBackendAuthLogger): Promise<void> {
    this.#note(this.#dead, hash, true);
    this.#handOffs.delete(hash);
    const shared = this.shared;
    if (shared !== undefined) await cacheCall(logger, () => shared.setRecord(`dead|${hash}`, '1', DEAD_MS), 'set');
  }

  /** Whether this process knows the refresh token was rotated (its session copy is behind). */
  handOffHere(hash: string): boolean {
    return this.#handOffs.has(hash);
  }

  familyHere(hash: string): string | undefined {
    return this.#families.get(hash);
  }

  async handOff(hash: string, logger: AadBackendAuthLogger): Promise<HandOff | undefined> {
    const here = this.#handOffs.get(hash);
    if (here !== undefined) return here;
    const shared = this.shared;
    if (shared === undefined) return undefined;
    const record = await cacheCall(logger, () => shared.getRecord(`handoff|${hash}`), 'get');
    const handOff = record === undefined ? undefined : parseHandOff(record);
    if (handOff !== undefined) {
      this.#note(this.#handOffs, hash, handOff);
      this.#families.set(refreshTokenHash(handOff.refreshToken), handOff.family);
    }
    return handOff;
  }

  /** Records a rotation; in a shared cache before the fleet lock is released, so a loser finds it. */
  async recordHandOff(hash: string, handOff: HandOff, logger: AadBackendAuthLogger): Promise<void> {
    this.#note(this.#handOffs, hash, handOff);
    const next = refreshTokenHash(handOff.refreshToken);
    this.#families.set(next, handOff.family);
    const shared = this.shared;
    if (shared === undefined) return;
    const { refreshToken, family, scopeKey, grantedScope, access } = handOff;
    const record = JSON.stringify({ refreshToken, family, scopeKey, grantedScope, access });
    await Promise.all([
      cacheCall(logger, () => shared.setRecord(`handoff|${hash}`, record, HAND_OFF_MS), 'set'),
      cacheCall(logger, () => shared.setRecord(`family|${next}`, family, FAMILY_MS), 'set'),
    ]);
  }

  /** The family of a refresh token another instance rotated to, from the shared cache. */
  async familyShared(hash: string, logger: AadBackendAuthLogger): Promise<string | undefined> {
    const shared = this.shared;
    if (shared === undefined) return undefined;
    const family = await cacheCall(logger, () => shared.getRecord(`family|${hash}`), 'get');
    if (family === undefined || !HASH.test(family)) return undefined;
    this.#families.set(hash, family);
    return family;
  }

  /** Every write of a hand-off or a refusal comes here, so that no watcher misses one. */
  #note<V extends {}>(entries: LRUCache<string, V>, hash: string, value: V): void {
    entries.set(hash, value);
    for (const ref of this.#watchers) {
      const watcher = ref.deref();
      if (watcher === undefined) this.#watchers.delete(ref);
      else watcher.noted(hash);
    }
  }
}

/** Trusts nothing from a shared store: anything but a well-formed hand-off is a miss. */
function parseHandOff(text: string): HandOff | undefined {
  const o = parseJsonObject(text);
  if (o === undefined) return undefined;
  const { refreshToken, family, scopeKey, grantedScope, access } = o;
  if (typeof refreshToken !== 'string' || refreshToken === '' || refreshToken.length > MAX_REFRESH_TOKEN_LENGTH) return undefined;
  if (typeof family !== 'string' || !HASH.test(family) || typeof scopeKey !== 'string') return undefined;
  if (grantedScope !== undefined && typeof grantedScope !== 'string') return undefined;
  const stored = access !== null && typeof access === 'object' ? (access as StoredToken) : undefined;
  return { refreshToken, family, scopeKey, grantedScope, access: stored };
}

// A weak side table keyed by the user's cache object (which we must not mutate): every
// aadUserToken on one cache, and by default the process-wide memory store, shares one ledger.
const ledgers = new WeakMap<object, SessionLedger>();

export function ledgerFor(cache: TokenCache): SessionLedger {
  let ledger = ledgers.get(cache);
  if (ledger === undefined) ledgers.set(cache, (ledger = new SessionLedger(cache)));
  return ledger;
}
