import { expect } from 'chai';
import { AadBackendAuthError } from '../../../lib/core/errors.js';
import type { AadBackendAuthLogger, StoredToken, TokenCache, TokenCacheLock } from '../../../lib/core/types.js';
import { obtainUnderFleetLock, type FleetLockContext } from '../../../lib/provider/fleet-lock.js';
import { ProviderToken } from '../../../lib/provider/provider-token.js';
import { ManualClock, settle } from '../../helpers/manual-clock.js';

const KEY = 'tenant|client|api://backend/.default';

/** What the scripted lock answers, call by call; the last answer repeats. */
type LockAnswer = 'granted' | 'held' | 'fails' | 'hangs';

/** An in-memory TokenCache whose lock answers from a script, on the manual clock. */
class ScriptedCache implements TokenCache {
  readonly entries = new Map<string, StoredToken>();
  readonly log: string[] = [];
  lockCalls = 0;
  releases = 0;
  releaseFails = false;
  readonly #clock: ManualClock;
  readonly #script: LockAnswer[];

  constructor(clock: ManualClock, script: LockAnswer[]) {
    this.#clock = clock;
    this.#script = script;
  }

  get(key: string): StoredToken | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: StoredToken): void {
    this.log.push(`set@${this.#clock.now()}`);
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  lock(_key: string, _ttlMs: number): Promise<TokenCacheLock | undefined> {
    const answer = this.#script[Math.min(this.lockCalls++, this.#script.length - 1)];
    this.log.push(`lock:${answer}@${this.#clock.now()}`);
    if (answer === 'fails') return Promise.reject(new Error('cache down'));
    if (answer === 'hangs') return new Promise(() => undefined);
    if (answer === 'held') return Promise.resolve(undefined);
    return Promise.resolve({
      release: () => {
        this.releases++;
        this.log.push(`release@${this.#clock.now()}`);
        if (this.releaseFails) throw new Error('release failed');
      },
    });
  }
}

/** Adds `waitForUpdate`: resolves on a write, or after `timeoutMs` of the manual clock. */
class WakingCache extends ScriptedCache {
  readonly waits: number[] = [];
  readonly #clockRef: ManualClock;
  readonly #wakers = new Set<() => void>();

  constructor(clock: ManualClock, script: LockAnswer[]) {
    super(clock, script);
    this.#clockRef = clock;
  }

  override set(key: string, value: StoredToken): void {
    super.set(key, value);
    for (const wake of [...this.#wakers]) wake();
  }

  waitForUpdate(_key: string, timeoutMs: number): Promise<void> {
    this.waits.push(timeoutMs);
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#wakers.delete(wake);
        this.#clockRef.clearTimeout(timer);
        resolve();
      };
      const timer = this.#clockRef.setTimeout(wake, timeoutMs);
      this.#wakers.add(wake);
    });
  }
}

function stored(clock: ManualClock, name: string): StoredToken {
  const now = clock.now();
  return { token: name, refreshAfterTimestamp: now + 30 * 60_000, useUntilTimestamp: now + 59 * 60_000, expiresOnTimestamp: now + 60 * 60_000 };
}

describe('obtainUnderFleetLock (manual clock, scripted cache)', function () {
  let clock: ManualClock;
  let debug: string[];
  const logger: AadBackendAuthLogger = { debug: (m) => debug.push(m), info: () => undefined, warn: () => undefined, error: () => undefined };

  beforeEach(() => {
    clock = new ManualClock();
    debug = [];
  });

  /** The fleet-lock context over `cache`, with a fetch that records its calls and stores `tok-fetched`. */
  function context(cache: ScriptedCache, options: { waitMs?: number; signal?: AbortSignal; fetchFails?: Error } = {}) {
    const fetches: boolean[] = [];
    const ctx: FleetLockContext = {
      cache,
      logger,
      key: KEY,
      deadline: clock.now() + (options.waitMs ?? 1000),
      lockTtlMs: 1000,
      signal: options.signal ?? new AbortController().signal,
      clock,
      readUsable: async () => {
        const token = ProviderToken.fromStored(cache.get(KEY), clock.now());
        return token !== undefined && clock.now() < token.useUntilTimestamp ? token : undefined;
      },
      fetchAndStore: async (awaitStore) => {
        fetches.push(awaitStore);
        cache.log.push(`fetch@${clock.now()}`);
        if (options.fetchFails !== undefined) throw options.fetchFails;
        const token = ProviderToken.fromStored(stored(clock, 'tok-fetched'), clock.now())!;
        cache.set(KEY, token.toStored());
        return token;
      },
    };
    return { ctx, fetches };
  }

  describe('the lock taken', function () {
    it('adopts a usable token another holder stored, without fetching, and releases the lock', async function () {
      const cache = new ScriptedCache(clock, ['granted']);
      cache.entries.set(KEY, stored(clock, 'tok-stored'));
      const { ctx, fetches } = context(cache);
      const outcome = await obtainUnderFleetLock(ctx);
      expect(outcome.origin).to.equal('cache');
      expect(outcome.token.token).to.equal('tok-stored');
      expect(fetches).to.deep.equal([]);
      expect(cache.releases).to.equal(1);
    });

    it('fetches, waits for the store, and releases the lock after it', async function () {
      const cache = new ScriptedCache(clock, ['granted']);
      const { ctx, fetches } = context(cache);
      const outcome = await obtainUnderFleetLock(ctx);
      expect(outcome.origin).to.equal('idp');
      expect(outcome.token.token).to.equal('tok-fetched');
      expect(fetches, 'awaitStore: the others wait for this write').to.deep.equal([true]);
      const at = clock.now();
      expect(cache.log).to.deep.equal([`lock:granted@${at}`, `fetch@${at}`, `set@${at}`, `release@${at}`]);
    });

    it('releases the lock when the fetch fails, and passes the failure on', async function () {
      const cache = new ScriptedCache(clock, ['granted']);
      const failure = new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'the IdP is down');
      const { ctx } = context(cache, { fetchFails: failure });
      expect(await obtainUnderFleetLock(ctx).catch((e: unknown) => e)).to.equal(failure);
      expect(cache.releases).to.equal(1);
    });

    it('a failing release is logged at debug level, never an error', async function () {
      const cache = new ScriptedCache(clock, ['granted']);
      cache.releaseFails = true;
      const { ctx } = context(cache);
      const outcome = await obtainUnderFleetLock(ctx);
      await settle();
      expect(outcome.token.token).to.equal('tok-fetched');
      expect(cache.releases).to.equal(1);
      expect(debug.join('\n')).to.match(/lock release failed.*release failed/);
    });
  });

  describe('the lock held elsewhere', function () {
    it("polls without waitForUpdate, adopts the winner's token, and never fetches", async function () {
      const cache = new ScriptedCache(clock, ['held']);
      const { ctx, fetches } = context(cache);
      const start = clock.now();
      clock.setTimeout(() => cache.set(KEY, stored(clock, 'tok-winner')), 120);
      let adoptedAt: number | undefined;
      const result = obtainUnderFleetLock(ctx).then((outcome) => ((adoptedAt = clock.now()), outcome));
      await clock.advanceAsync(200);
      const outcome = await result;
      expect(outcome).to.include({ origin: 'cache' });
      expect(outcome.token.token).to.equal('tok-winner');
      // Polls every 50 ms: tried at 0, 50 and 100; the write at 120 is seen at 150.
      expect(adoptedAt! - start).to.equal(150);
      expect(cache.lockCalls).to.equal(3);
      expect(fetches).to.deep.equal([]);
      expect(cache.releases).to.equal(0);
    });

    it("wakes on the winner's write with waitForUpdate, not at the next poll", async function () {
      const cache = new WakingCache(clock, ['held']);
      const { ctx, fetches } = context(cache, { waitMs: 1000 });
      const start = clock.now();
      clock.setTimeout(() => cache.set(KEY, stored(clock, 'tok-winner')), 120);
      let adoptedAt: number | undefined;
      const result = obtainUnderFleetLock(ctx).then((outcome) => ((adoptedAt = clock.now()), outcome));
      await clock.advanceAsync(300);
      const outcome = await result;
      expect(outcome.token.token).to.equal('tok-winner');
      expect(adoptedAt! - start).to.equal(120);
      expect(cache.waits, 'each wait is at most 250 ms').to.deep.equal([250]);
      expect(fetches).to.deep.equal([]);
    });

    it('gets ERR_IDP_UNAVAILABLE at the deadline when no token appears, never fetching', async function () {
      const cache = new ScriptedCache(clock, ['held']);
      const { ctx, fetches } = context(cache, { waitMs: 120 });
      const start = clock.now();
      let failedAt: number | undefined;
      const result = obtainUnderFleetLock(ctx).catch((e: unknown) => ((failedAt = clock.now()), e));
      await clock.advanceAsync(500);
      const error = await result;
      expect(error).to.be.instanceOf(AadBackendAuthError).with.property('code', 'ERR_IDP_UNAVAILABLE');
      // The last poll is cut to the deadline: 50 + 50 + 20.
      expect(failedAt! - start).to.equal(120);
      expect(fetches).to.deep.equal([]);
    });

    it('with waitForUpdate, waits no longer than the time left', async function () {
      const cache = new WakingCache(clock, ['held']);
      const { ctx } = context(cache, { waitMs: 400 });
      const result = obtainUnderFleetLock(ctx).catch((e: unknown) => e);
      await clock.advanceAsync(500);
      expect(await result).to.have.property('code', 'ERR_IDP_UNAVAILABLE');
      expect(cache.waits).to.deep.equal([250, 150]);
    });

    it('takes the lock itself when the holder went away without writing, and fetches', async function () {
      const cache = new ScriptedCache(clock, ['held', 'held', 'granted']);
      const { ctx, fetches } = context(cache);
      const start = clock.now();
      const result = obtainUnderFleetLock(ctx);
      await clock.advanceAsync(200);
      const outcome = await result;
      expect(outcome.origin).to.equal('idp');
      expect(fetches).to.deep.equal([true]);
      const at = start + 100;
      expect(cache.log).to.deep.equal([`lock:held@${start}`, `lock:held@${start + 50}`, `lock:granted@${at}`, `fetch@${at}`, `set@${at}`, `release@${at}`]);
    });

    it("stops waiting with the signal's reason when the flight is aborted", async function () {
      const cache = new ScriptedCache(clock, ['held']);
      const abort = new AbortController();
      const { ctx, fetches } = context(cache, { signal: abort.signal });
      const start = clock.now();
      let stoppedAt: number | undefined;
      const result = obtainUnderFleetLock(ctx).catch((e: unknown) => ((stoppedAt = clock.now()), e));
      await clock.advanceAsync(20);
      const reason = new Error('every caller left');
      abort.abort(reason);
      await settle();
      expect(await result).to.equal(reason);
      expect(stoppedAt! - start, 'at once, not at the next poll').to.equal(20);
      expect(clock.pendingTimers, 'the poll timer is cleared').to.equal(0);
      expect(fetches).to.deep.equal([]);
    });
  });

  describe('the cache failing', function () {
    it('a failing lock means this process fetches alone, without waiting for the store', async function () {
      const cache = new ScriptedCache(clock, ['fails']);
      const { ctx, fetches } = context(cache);
      const outcome = await obtainUnderFleetLock(ctx);
      expect(outcome.origin).to.equal('idp');
      expect(fetches).to.deep.equal([false]);
      expect(cache.releases).to.equal(0);
      expect(cache.lockCalls).to.equal(1);
    });

    it('a lock that never answers counts as failing by the deadline, and this process fetches alone', async function () {
      // The lock's own timeout runs on a real timer (withTimeout): the deadline is 1 ms away.
      const cache = new ScriptedCache(clock, ['hangs']);
      const { ctx, fetches } = context(cache, { waitMs: 1 });
      const outcome = await obtainUnderFleetLock(ctx);
      expect(outcome.origin).to.equal('idp');
      expect(fetches).to.deep.equal([false]);
    });
  });
});
