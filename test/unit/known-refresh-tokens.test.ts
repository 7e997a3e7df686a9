// The refresh tokens a cookie-session middleware has seen: a Map in insertion order as the LRU,
// entries found by a cheap key but matched on the whole token, and marks from the shared ledger.
import { expect } from 'chai';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { TokenTarget } from '../../lib/grants/token-source.js';
import type { StoredToken } from '../../lib/core/types.js';
import { MemoryTokenCache } from '../../lib/provider/memory-cache.js';
import { KnownRefreshTokens } from '../../lib/subjects/session/known-tokens.js';
import { refreshTokenHash, SessionLedger } from '../../lib/subjects/session/ledger.js';

const logger = { debug() {}, info() {}, warn() {}, error() {} };
const target = (family: string): TokenTarget => ({ key: `k|${family}`, tenantId: 'tenant', scopes: ['api://x/.default'], resource: undefined });
const access: StoredToken = { token: 'at', expiresOnTimestamp: Date.now() + 3600_000, refreshAfterTimestamp: Date.now() + 1800_000, useUntilTimestamp: Date.now() + 3300_000 };

function known(max: number, ledger = new SessionLedger(new MemoryTokenCache())) {
  const tokens = new KnownRefreshTokens(max, ledger);
  const add = (refreshToken: string) => {
    const hash = refreshTokenHash(refreshToken);
    return tokens.add(refreshToken, hash, hash, target(hash));
  };
  return { tokens, add, ledger };
}

describe('KnownRefreshTokens', () => {
  it('lets the least recently renewed entry go once full', () => {
    const { tokens, add } = known(2);
    const a = add('rt-a');
    add('rt-b');
    tokens.renew(a);
    add('rt-c');
    expect(['rt-a', 'rt-b', 'rt-c'].map((t) => tokens.find(t)?.refreshToken)).to.deep.equal(['rt-a', undefined, 'rt-c']);
  });

  it('never takes one token for another that shares its key: the two take turns in the entry', () => {
    const { tokens, add } = known(10);
    // Same length and same last 32 characters: the same key.
    const tail = 'x'.repeat(40);
    add(`one-${tail}`);
    expect(tokens.find(`two-${tail}`)).to.equal(undefined);
    add(`two-${tail}`);
    expect(tokens.find(`one-${tail}`)).to.equal(undefined);
    expect(tokens.find(`two-${tail}`)?.refreshToken).to.equal(`two-${tail}`);
  });

  it('an entry is marked when the ledger notes a hand-off or a refusal of its token, and only that entry', async () => {
    const { tokens, add, ledger } = known(10);
    const [a, b, c] = [add('rt-a'), add('rt-b'), add('rt-c')];
    expect([a.marked, b.marked, c.marked]).to.deep.equal([false, false, false]);
    await ledger.recordHandOff(a.hash, { refreshToken: 'rt-a2', family: a.family, scopeKey: '', grantedScope: undefined, access }, logger);
    await ledger.markDead(b.hash, logger);
    expect([a.marked, b.marked, c.marked]).to.deep.equal([true, true, false]);
    // A token the ledger noted before the entry was made starts marked.
    tokens.clear();
    expect([add('rt-a').marked, add('rt-c').marked]).to.deep.equal([true, false]);
  });

  it('the ledger holds its watchers weakly: a middleware dropped without close() can be collected', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const ledger = new SessionLedger(new MemoryTokenCache());
    const kept = known(10, ledger).tokens;
    const dropped = new WeakRef(known(10, ledger).tokens);
    for (let i = 0; i < 3 && dropped.deref() !== undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    expect(dropped.deref()).to.equal(undefined);
    expect(kept).to.be.an.instanceOf(KnownRefreshTokens);
  });
});
