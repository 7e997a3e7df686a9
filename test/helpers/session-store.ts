// A server-side session store for cookie-session tests: sessions keyed by the `x-session` header
// (standing in for the session cookie), copied on every read and write as a real store
// serialises them, with every call counted.
import type { IncomingMessage } from 'node:http';
import type { UserTokens, UserTokenSession } from '../../lib/subjects/session/types.js';

export interface TestSessions extends UserTokenSession {
  readonly store: Map<string, UserTokens>;
  readonly calls: { get: number; set: number; clear: number };
  /** Every value `set` was given, in order. */
  readonly written: UserTokens[];
}

const sidOf = (req: IncomingMessage): string => String(req.headers['x-session'] ?? '');

/** `persist: false` drops writes (a store that lost them): the session copy stays behind. */
export function testSessions(options: { async?: boolean; persist?: boolean } = {}): TestSessions {
  const store = new Map<string, UserTokens>();
  const calls = { get: 0, set: 0, clear: 0 };
  const written: UserTokens[] = [];
  const maybeAsync = <T>(value: T): T | Promise<T> => (options.async === true ? Promise.resolve(value) : value);
  return {
    store,
    calls,
    written,
    get(req) {
      calls.get++;
      const tokens = store.get(sidOf(req));
      return maybeAsync(tokens === undefined ? undefined : { ...tokens });
    },
    set(req, tokens) {
      calls.set++;
      written.push({ ...tokens });
      if (options.persist !== false) store.set(sidOf(req), { ...tokens });
      return maybeAsync(undefined);
    },
    clear(req) {
      calls.clear++;
      store.delete(sidOf(req));
      return maybeAsync(undefined);
    },
  };
}
