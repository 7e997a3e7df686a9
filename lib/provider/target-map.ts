import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { TargetSelector } from './provider-settings.js';
import { evict, newTargetState, type TargetState } from './target-state.js';

/** A provider's targets: one fixed target, or per-request targets in an LRU of `maxKeys`. */
export class TargetMap {
  readonly #select: TargetSelector;
  readonly #fixed: TargetState | undefined;
  readonly #lru: LRUCache<string, TargetState> | undefined;

  constructor(select: TargetSelector, maxKeys: number) {
    this.#select = select;
    // A state let go is marked, so that a subject keeping one for its user asks again rather than use an orphan.
    if (typeof select === 'function') this.#lru = new LRUCache({ max: maxKeys, dispose: (state) => void (state.retired = true) });
    else this.#fixed = newTargetState(select);
  }

  /** The state for a request's target. Throws `ERR_INVALID_TARGET` when per-request options give a bad value. */
  for(req: IncomingMessage | undefined): TargetState {
    if (this.#fixed !== undefined) return this.#fixed;
    return this.forTarget((this.#select as (req: IncomingMessage) => TargetState['target'])(req as IncomingMessage));
  }

  /** The state for a target the caller picked (a validated user token, say); LRU-bounded. */
  forTarget(target: TargetState['target']): TargetState {
    if (this.#fixed !== undefined) return this.#fixed;
    let found = this.#lru!.get(target.key);
    if (found === undefined) this.#lru!.set(target.key, (found = newTargetState(target)));
    return found;
  }

  all(): Iterable<TargetState> {
    return this.#fixed !== undefined ? [this.#fixed] : this.#lru!.values();
  }

  /**
   * Evicts `token` wherever it is held, or every token when `undefined`; returns the targets evicted.
   * Drops the pending claims challenge of those targets too, and of a target whose challenged token it was.
   */
  evict(token: string | undefined): TargetState[] {
    const evicted: TargetState[] = [];
    for (const target of this.all()) {
      if (token === undefined || target.token?.token === token || target.evictedToken === token) target.pendingClaims = undefined;
      if (target.token === undefined || (token !== undefined && target.token.token !== token)) continue;
      evict(target);
      evicted.push(target);
    }
    return evicted;
  }

  get perRequest(): boolean {
    return this.#fixed === undefined;
  }

  get size(): number {
    return this.#lru?.size ?? 1;
  }

  clear(): void {
    for (const target of this.all()) target.token = undefined;
    this.#lru?.clear();
  }
}
