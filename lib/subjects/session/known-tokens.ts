import type { TokenTarget } from '../../grants/token-source.js';
import type { TargetState } from '../../provider/target-state.js';
import type { LedgerWatcher, SessionLedger } from './ledger.js';

/** A refresh token a middleware has seen: the token, its hash, and the target of its family for the scope. */
export interface Known {
  readonly refreshToken: string;
  readonly hash: string;
  readonly family: string;
  readonly target: TokenTarget;
  /**
   * Whether this process's ledger noted a rotation or a refusal of the token: only then are its
   * hand-offs and refusals looked up. A warm session whose token was neither skips both lookups.
   */
  marked: boolean;
  /** The provider's state for the target, kept until the provider lets it go: a warm session skips the provider's LRU. */
  state: TargetState | undefined;
  /**
   * The second (since the epoch) from which the entry's place, here and its state's in the provider's
   * LRU, is next renewed, so a busy session's is not the one let go. Whole seconds: a small integer
   * V8 keeps in the object, where milliseconds would be a number boxed elsewhere on the heap.
   */
  touchAfter: number;
}

/** How often, in seconds, a warm session renews its places in the LRUs. */
const TOUCH_EVERY_SECONDS = 1;

const KEY_CHARACTERS = 32;

/**
 * A number from the token's length and last 32 characters. A session store hands each request a new
 * copy of the token, and V8 hashes a new 1 KB string in microseconds; this costs nanoseconds.
 */
function keyOf(refreshToken: string): number {
  const length = refreshToken.length;
  let key = length ^ 0x811c9dc5;
  for (let i = Math.max(0, length - KEY_CHARACTERS); i < length; i++) key = Math.imul(key ^ refreshToken.charCodeAt(i), 0x01000193);
  // A small integer: V8 then keys the map without allocating a number.
  return key & 0x3fffffff;
}

/**
 * The refresh tokens a middleware has seen, at most `max`, least recently used first out. An entry is
 * found by a cheap key and its token compared whole, so two tokens that share a key are never taken
 * for one another (they only take turns in the entry). A plain `Map` in insertion order is the LRU:
 * `renew` moves an entry to the end, which the session does once a second, not on every request.
 * It watches the ledger, so that an entry learns when its token is rotated or refused.
 */
export class KnownRefreshTokens implements LedgerWatcher {
  readonly #max: number;
  readonly #ledger: SessionLedger;
  readonly #entries = new Map<number, Known>();
  readonly #byHash = new Map<string, Known>();

  constructor(max: number, ledger: SessionLedger) {
    this.#max = max;
    this.#ledger = ledger;
    ledger.watch(this);
  }

  find(refreshToken: string): Known | undefined {
    const known = this.#entries.get(keyOf(refreshToken));
    return known !== undefined && known.refreshToken === refreshToken ? known : undefined;
  }

  /** A new entry, marked when the ledger already noted its token. */
  add(refreshToken: string, hash: string, family: string, target: TokenTarget): Known {
    const known: Known = { refreshToken, hash, family, target, marked: this.#ledger.notedHere(hash), state: undefined, touchAfter: 0 };
    const key = keyOf(refreshToken);
    const taken = this.#entries.get(key);
    if (taken !== undefined) this.#remove(key, taken);
    this.#entries.set(key, known);
    this.#byHash.set(hash, known);
    if (this.#entries.size > this.#max) {
      const [oldestKey, oldest] = this.#entries.entries().next().value as [number, Known];
      this.#remove(oldestKey, oldest);
    }
    return known;
  }

  /**
   * Makes `known` the most recently used, at most once a second: returns whether it did, so that
   * the caller renews the entry's place elsewhere too.
   */
  renewIfDue(known: Known, now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second < known.touchAfter) return false;
    known.touchAfter = second + TOUCH_EVERY_SECONDS;
    this.renew(known);
    return true;
  }

  /** Makes `known` the most recently used. */
  renew(known: Known): void {
    const key = keyOf(known.refreshToken);
    if (this.#entries.get(key) !== known) return;
    this.#entries.delete(key);
    this.#entries.set(key, known);
  }

  /** The ledger noted a rotation or a refusal of the token with this hash. */
  noted(hash: string): void {
    const known = this.#byHash.get(hash);
    if (known !== undefined) known.marked = true;
  }

  clear(): void {
    this.#entries.clear();
    this.#byHash.clear();
  }

  #remove(key: number, known: Known): void {
    this.#entries.delete(key);
    if (this.#byHash.get(known.hash) === known) this.#byHash.delete(known.hash);
  }
}
