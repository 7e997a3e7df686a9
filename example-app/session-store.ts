import session from 'express-session';
import { LRUCache } from 'lru-cache';

/** Sign-in sessions kept by default; each holds one user token (~2 KB). */
export const DEFAULT_MAX_SESSIONS = 1000;
/** A session unused this long is dropped. */
export const DEFAULT_SESSION_IDLE_MS = 60 * 60 * 1000;

export interface LruSessionStoreOptions {
  /** @default DEFAULT_MAX_SESSIONS */
  readonly max?: number;
  /** @default DEFAULT_SESSION_IDLE_MS */
  readonly idleMs?: number;
}

/**
 * express-session's MemoryStore never forgets a session it was not told to
 * destroy, so a loop of sign-ins grows it without bound. This store keeps at
 * most `max` sessions: a new one drops the least recently used (that user is
 * signed out, and signs in again). A limit that refused new sign-ins instead
 * would let anyone lock everyone out by filling it.
 */
export class LruSessionStore extends session.Store {
  // JSON text, as MemoryStore keeps it: what a request changes is stored only when express-session saves it.
  readonly #sessions: LRUCache<string, string>;

  constructor(options: LruSessionStoreOptions = {}) {
    super();
    const max = options.max ?? DEFAULT_MAX_SESSIONS;
    const ttl = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxSessions must be a whole number from 1, got ${max}`);
    this.#sessions = new LRUCache({ max, ttl, updateAgeOnGet: true });
  }

  /** Sessions held now. */
  get size(): number {
    return this.#sessions.size;
  }

  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    const text = this.#sessions.get(sid);
    callback(null, text === undefined ? null : (JSON.parse(text) as session.SessionData));
  }

  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    this.#sessions.set(sid, JSON.stringify(data));
    callback?.();
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.#sessions.delete(sid);
    callback?.();
  }

  /** express-session calls this for a request that did not change its session: it counts as use. */
  override touch(sid: string, _data: session.SessionData, callback?: () => void): void {
    this.#sessions.get(sid);
    callback?.();
  }
}
