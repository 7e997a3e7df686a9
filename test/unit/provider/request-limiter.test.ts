import { expect } from 'chai';
import { RequestLimiter } from '../../../lib/provider/request-limiter.js';
import { settle } from '../../helpers/manual-clock.js';

const open = (): AbortSignal => new AbortController().signal;

describe('RequestLimiter (no time)', function () {
  it('grants up to its cap at once and holds the next until a slot is released', async function () {
    const limiter = new RequestLimiter(2);
    const first = await limiter.acquire(open());
    await limiter.acquire(open());
    let third: (() => void) | undefined;
    void limiter.acquire(open()).then((release) => (third = release));
    await settle();
    expect(third, 'over the cap').to.equal(undefined);
    first();
    await settle();
    expect(third).to.be.a('function');
  });

  it('grants waiters in the order they came', async function () {
    const limiter = new RequestLimiter(1);
    const holder = await limiter.acquire(open());
    const order: string[] = [];
    const releases: Record<string, () => void> = {};
    for (const name of ['a', 'b', 'c']) {
      void limiter.acquire(open()).then((release) => {
        order.push(name);
        releases[name] = release;
      });
    }
    holder();
    await settle();
    expect(order).to.deep.equal(['a']);
    releases['a']!();
    await settle();
    releases['b']!();
    await settle();
    expect(order).to.deep.equal(['a', 'b', 'c']);
  });

  it("an aborted waiter leaves the queue with its signal's reason, and the slot goes to the next", async function () {
    const limiter = new RequestLimiter(1);
    const holder = await limiter.acquire(open());
    const quitting = new AbortController();
    const reason = new Error('caller gave up');
    const aborted = limiter.acquire(quitting.signal).catch((e: unknown) => e);
    let next: (() => void) | undefined;
    void limiter.acquire(open()).then((release) => (next = release));
    quitting.abort(reason);
    expect(await aborted).to.equal(reason);
    holder();
    await settle();
    expect(next, 'the slot skipped the aborted waiter').to.be.a('function');
    // The aborted waiter took no slot: one release frees room for exactly one more.
    next!();
    const again = await limiter.acquire(open());
    let blocked: (() => void) | undefined;
    void limiter.acquire(open()).then((release) => (blocked = release));
    await settle();
    expect(blocked).to.equal(undefined);
    again();
  });

  it('rejects at once when the signal is already aborted, taking no slot', async function () {
    const limiter = new RequestLimiter(1);
    const gone = new AbortController();
    gone.abort(new Error('already gone'));
    const error = await limiter.acquire(gone.signal).catch((e: unknown) => e);
    expect((error as Error).message).to.equal('already gone');
    let granted = false;
    void limiter.acquire(open()).then(() => (granted = true));
    await settle();
    expect(granted).to.equal(true);
  });

  it('a second release of the same slot is harmless: the cap still holds', async function () {
    const limiter = new RequestLimiter(1);
    const release = await limiter.acquire(open());
    release();
    release();
    await limiter.acquire(open());
    let second = false;
    void limiter.acquire(open()).then(() => (second = true));
    await settle();
    expect(second, 'a double release must not free a second slot').to.equal(false);
  });
});
