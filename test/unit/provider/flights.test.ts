import { expect } from 'chai';
import { joinFlight, type Participation } from '../../../lib/provider/flights.js';
import { ManualClock, settle } from '../../helpers/manual-clock.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A flight start that records each call and the signal it was given. */
function starter<T>() {
  const calls: Array<{ signal: AbortSignal; outcome: Deferred<T> }> = [];
  const start = (signal: AbortSignal): Promise<T> => {
    const outcome = deferred<T>();
    calls.push({ signal, outcome });
    return outcome.promise;
  };
  return { calls, start };
}

/** How a pending promise settles, read without waiting for it. */
function watch(promise: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected'; value?: unknown } {
  const seen: { state: 'pending' | 'resolved' | 'rejected'; value?: unknown } = { state: 'pending' };
  promise.then(
    (value) => Object.assign(seen, { state: 'resolved', value }),
    (error: unknown) => Object.assign(seen, { state: 'rejected', value: error }),
  );
  return seen;
}

describe('flights (manual clock)', function () {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });

  function participant(name: string, waitMs: number, closed: AbortSignal = new AbortController().signal): Participation {
    return { deadline: clock.now() + waitMs, closed, timedOut: () => new Error(`${name} timed out`), onClosed: () => new Error(`${name} closed`), clock };
  }

  it('two joiners of one (cache, key) share one start and its outcome', async function () {
    const cache = {};
    const { calls, start } = starter<string>();
    const a = joinFlight(cache, 'k', start, participant('a', 1000));
    const b = joinFlight(cache, 'k', start, participant('b', 1000));
    expect(calls).to.have.length(1);
    calls[0]!.outcome.resolve('tok-1');
    expect(await a).to.equal('tok-1');
    expect(await b).to.equal('tok-1');
    expect(calls[0]!.signal.aborted).to.equal(false);
    expect(clock.pendingTimers, 'deadline timers cleared').to.equal(0);
  });

  it('different caches, or different keys, never share a flight', function () {
    const { calls, start } = starter<string>();
    const first = {};
    const second = {};
    joinFlight(first, 'k', start, participant('a', 1000)).catch(() => undefined);
    joinFlight(second, 'k', start, participant('b', 1000)).catch(() => undefined);
    joinFlight(first, 'k2', start, participant('c', 1000)).catch(() => undefined);
    expect(calls).to.have.length(3);
    for (const call of calls) call.outcome.resolve('done');
  });

  it('a participant past its deadline leaves with its own error; the flight goes on for the others', async function () {
    const cache = {};
    const { calls, start } = starter<string>();
    const a = watch(joinFlight(cache, 'k', start, participant('a', 100)));
    const b = watch(joinFlight(cache, 'k', start, participant('b', 1000)));
    await clock.advanceAsync(99);
    expect(a.state).to.equal('pending');
    await clock.advanceAsync(1);
    expect(a.state).to.equal('rejected');
    expect((a.value as Error).message).to.equal('a timed out');
    expect(b.state).to.equal('pending');
    expect(calls[0]!.signal.aborted, 'the flight is not aborted while b waits').to.equal(false);
    calls[0]!.outcome.resolve('tok-1');
    await settle();
    expect(b).to.deep.equal({ state: 'resolved', value: 'tok-1' });
    expect(calls).to.have.length(1);
  });

  it('the flight is aborted when, and only when, the last participant leaves; the next join starts anew', async function () {
    const cache = {};
    const { calls, start } = starter<string>();
    const a = watch(joinFlight(cache, 'k', start, participant('a', 100)));
    const b = watch(joinFlight(cache, 'k', start, participant('b', 200)));
    await clock.advanceAsync(100);
    expect(a.state).to.equal('rejected');
    expect(calls[0]!.signal.aborted).to.equal(false);
    await clock.advanceAsync(100);
    expect((b.value as Error).message).to.equal('b timed out');
    expect(calls[0]!.signal.aborted).to.equal(true);
    expect((calls[0]!.signal.reason as DOMException).name).to.equal('AbortError');
    // The abandoned flight is forgotten at once, even before it settles.
    const c = watch(joinFlight(cache, 'k', start, participant('c', 1000)));
    expect(calls).to.have.length(2);
    calls[0]!.outcome.reject(calls[0]!.signal.reason);
    calls[1]!.outcome.resolve('tok-2');
    await settle();
    expect(c).to.deep.equal({ state: 'resolved', value: 'tok-2' });
  });

  it('a participant whose provider closes gets its onClosed error; the others carry on', async function () {
    const cache = {};
    const { calls, start } = starter<string>();
    const closing = new AbortController();
    const a = watch(joinFlight(cache, 'k', start, participant('a', 1000, closing.signal)));
    const b = watch(joinFlight(cache, 'k', start, participant('b', 1000)));
    expect(clock.pendingTimers).to.equal(2);
    closing.abort();
    await settle();
    expect(a.state).to.equal('rejected');
    expect((a.value as Error).message).to.equal('a closed');
    expect(clock.pendingTimers, "a's deadline timer is cleared").to.equal(1);
    expect(calls[0]!.signal.aborted).to.equal(false);
    calls[0]!.outcome.resolve('tok-1');
    await settle();
    expect(b).to.deep.equal({ state: 'resolved', value: 'tok-1' });
  });

  it('an already-closed participant leaves at once, and a flight with nobody else is aborted', async function () {
    const cache = {};
    const { calls, start } = starter<string>();
    const closing = new AbortController();
    closing.abort();
    const error = await joinFlight(cache, 'k', start, participant('a', 1000, closing.signal)).catch((e: unknown) => e);
    expect((error as Error).message).to.equal('a closed');
    expect(calls).to.have.length(1);
    expect(calls[0]!.signal.aborted).to.equal(true);
    expect(clock.pendingTimers).to.equal(0);
    calls[0]!.outcome.reject(new Error('aborted'));
  });

  it('a failed flight fails every participant with its error, and is forgotten', async function () {
    const cache = {};
    const { calls, start } = starter<string>();
    const a = joinFlight(cache, 'k', start, participant('a', 1000));
    const b = joinFlight(cache, 'k', start, participant('b', 1000));
    const failure = new Error('idp down');
    calls[0]!.outcome.reject(failure);
    expect(await a.catch((e: unknown) => e)).to.equal(failure);
    expect(await b.catch((e: unknown) => e)).to.equal(failure);
    await settle();
    const c = joinFlight(cache, 'k', start, participant('c', 1000));
    expect(calls).to.have.length(2);
    calls[1]!.outcome.resolve('tok-2');
    expect(await c).to.equal('tok-2');
  });

  it('a finished flight is forgotten: the next join starts a new one', async function () {
    const cache = {};
    const { calls, start } = starter<string>();
    const a = joinFlight(cache, 'k', start, participant('a', 1000));
    calls[0]!.outcome.resolve('tok-1');
    expect(await a).to.equal('tok-1');
    await settle();
    const b = joinFlight(cache, 'k', start, participant('b', 1000));
    expect(calls).to.have.length(2);
    calls[1]!.outcome.resolve('tok-2');
    expect(await b).to.equal('tok-2');
  });

  it('a deadline already past times out at the next tick of the clock', async function () {
    const cache = {};
    const { calls, start } = starter<string>();
    const a = watch(joinFlight(cache, 'k', start, participant('a', -50)));
    await clock.advanceAsync(0);
    expect((a.value as Error).message).to.equal('a timed out');
    expect(calls[0]!.signal.aborted).to.equal(true);
    calls[0]!.outcome.reject(new Error('aborted'));
  });
});
