/**
 * The cookie BFF's server-side session store in a gateway process: tokens by the `sid` cookie,
 * copied on every read and write as a store that serialises them would, every write counted.
 */
import type { IncomingMessage } from 'node:http';
import type { UserTokens, UserTokenSession } from '../lib/index.js';

/** What the store saw, for the herd's report. */
export interface SessionStoreStats {
  readonly sessions: number;
  /** `set` calls: one per rotation. */
  readonly writes: number;
  /** Sessions written more than once. */
  readonly writtenTwice: number;
  /** `clear` calls: a session the IdP refused (must be 0). */
  readonly clears: number;
  /** Sessions whose refresh token differs from the one they were loaded with. */
  readonly rotated: number;
}

const SID = /(?:^|;\s*)sid=([^;]*)/;

export class BenchSessions implements UserTokenSession {
  readonly #store = new Map<string, UserTokens>();
  readonly #loaded = new Map<string, string>();
  readonly #writes = new Map<string, number>();
  #clears = 0;

  static sidOf(req: IncomingMessage): string {
    return SID.exec(req.headers.cookie ?? '')?.[1] ?? '';
  }

  load(sessions: Record<string, UserTokens>): void {
    this.#store.clear();
    this.#loaded.clear();
    this.#writes.clear();
    this.#clears = 0;
    for (const [sid, tokens] of Object.entries(sessions)) {
      this.#store.set(sid, { ...tokens });
      this.#loaded.set(sid, tokens.refreshToken);
    }
  }

  get(req: IncomingMessage): UserTokens | undefined {
    const tokens = this.#store.get(BenchSessions.sidOf(req));
    return tokens === undefined ? undefined : { ...tokens };
  }

  set(req: IncomingMessage, tokens: UserTokens): void {
    const sid = BenchSessions.sidOf(req);
    this.#writes.set(sid, (this.#writes.get(sid) ?? 0) + 1);
    this.#store.set(sid, { ...tokens });
  }

  clear(req: IncomingMessage): void {
    this.#clears++;
    this.#store.delete(BenchSessions.sidOf(req));
  }

  stats(): SessionStoreStats {
    const writes = [...this.#writes.values()];
    const rotated = [...this.#loaded].filter(([sid, refreshToken]) => this.#store.get(sid)?.refreshToken !== refreshToken).length;
    return { sessions: this.#loaded.size, writes: writes.reduce((a, b) => a + b, 0), writtenTwice: writes.filter((n) => n > 1).length, clears: this.#clears, rotated };
  }
}
