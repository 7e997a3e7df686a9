import { LRUCache } from 'lru-cache';
import type { TokenTarget } from '../../grants/token-source.js';
import type { TargetState } from '../../provider/target-state.js';

/** A refresh token a middleware has seen: the token, its hash, and the target of its family for the scope. */
export interface Known {
  readonly refreshToken: string;
  readonly hash: string;
  readonly family: string;
  readonly target: TokenTarget;
  /** The provider's state for the target, kept until the provider lets it go: a warm session skips the provider's LRU. */
  state: TargetState | undefined;
  /** When the state's place in the provider's LRU is next renewed, so that a busy session's state is not the one let go. */
  touchAfter: number;
}

/** How often a warm session renews its state's place in the provider's LRU. */
export const TOUCH_EVERY_MS = 1000;

const KEY_CHARACTERS = 32;

/**
 * A number from the token's length and last 32 characters. A session store hands each request a new
 * copy of the token, and V8 hashes a new 1 KB string in microseconds; this costs nanoseconds.
 */
function keyOf(refreshToken: string): number {
  const length = refreshToken.length;
  let key = length ^ 0x811c9dc5;
  for (let i = Math.max(0, length - KEY_CHARACTERS); i < length; i++) key = Math.imul(key ^ refreshToken.charCodeAt(i), 0x01000193);
  return key;
}

/**
 * The refresh tokens a middleware has seen, at most `max`, least recently used first out. An entry is
 * found by a cheap key and its token compared whole, so two tokens that share a key are never taken
 * for one another (they only take turns in the entry).
 */
export class KnownRefreshTokens {
  readonly #entries: LRUCache<number, Known>;

  constructor(max: number) {
    this.#entries = new LRUCache({ max });
  }

  find(refreshToken: string): Known | undefined {
    const known = this.#entries.get(keyOf(refreshToken));
    return known !== undefined && known.refreshToken === refreshToken ? known : undefined;
  }

  add(known: Known): void {
    this.#entries.set(keyOf(known.refreshToken), known);
  }

  clear(): void {
    this.#entries.clear();
  }
}
