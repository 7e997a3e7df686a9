// The redemption rules of cookie sessions, through the redeemer and the ledger with a scripted
// refresh-token grant (the grant's interface is the seam): one redemption per refresh token,
// hand-off chains, scopes sharing a chain, dead refresh tokens, and what a shared store may not
// make it do.
import { expect } from 'chai';
import { AadBackendAuthError } from '../../lib/core/errors.js';
import { MemoryTokenCache } from '../../lib/provider/memory-cache.js';
import { sessionExpired, type RefreshedTokens, type RefreshTokenGrant } from '../../lib/grants/refresh-token-grant.js';
import { ledgerFor, refreshTokenHash, SessionLedger } from '../../lib/subjects/session/ledger.js';
import { SessionRedeemer, type Latest } from '../../lib/subjects/session/redeem.js';
import type { StoredToken } from '../../lib/core/types.js';

const logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A grant that rotates: `rt-n` redeems for `rt-(n+1)`; a used one answers invalid_grant. */
function scriptedGrant(options: { rotate?: boolean; delayMs?: number } = {}) {
  const calls: { refreshToken: string; scope: string | undefined }[] = [];
  const used = new Set<string>();
  let next = 100;
  const grant: RefreshTokenGrant = {
    id: 'test-grant',
    serverAddress: '127.0.0.1',
    async redeem(refreshToken, scope): Promise<RefreshedTokens> {
      calls.push({ refreshToken, scope });
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 5));
      if (used.has(refreshToken) || refreshToken === 'rt-revoked') throw sessionExpired('invalid_grant');
      if (options.rotate !== false) used.add(refreshToken);
      return {
        fetched: { token: `at-${next}-${scope ?? 'own'}`.replace(/[^A-Za-z0-9-]/g, '-'), expiresInMs: 3600_000, refreshInMs: undefined },
        refreshToken: options.rotate === false ? undefined : `rt-${next++}`,
        scope,
      };
    },
  };
  return { grant, calls };
}

function setup(options: { rotate?: boolean; delayMs?: number } = {}, cache = new MemoryTokenCache()) {
  const { grant, calls } = scriptedGrant(options);
  const ledger = ledgerFor(cache);
  const redeemer = new SessionRedeemer({ grant, ledger, logger, timeoutMs: 2000, refreshWindowMs: 300_000, accessKey: (family, scopeKey) => `k|${family}|${scopeKey}` });
  const writes: Latest[] = [];
  const write = async (latest: Latest) => void writes.push(latest);
  const start = (refreshToken: string, family?: string) => {
    const hash = refreshTokenHash(refreshToken);
    return { refreshToken, hash, family: family ?? ledger.familyHere(hash) ?? hash };
  };
  return { redeemer, ledger, calls, writes, write, start };
}

describe('cookie-session redemption', () => {
  it('concurrent requests with one refresh token redeem it once; only the redeeming request writes', async () => {
    const { redeemer, calls, writes, write, start } = setup();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => redeemer.tokenFor(start('rt-1'), undefined, undefined, write)));
    expect(calls).to.deep.equal([{ refreshToken: 'rt-1', scope: undefined }]);
    expect(new Set(tokens.map((t) => t.token)).size).to.equal(1);
    expect(writes.map((w) => w.refreshToken)).to.deep.equal(['rt-100']);
  });

  it('a copy two rotations behind follows the chain of hand-offs, redeems nothing, and writes the newest', async () => {
    const { redeemer, calls, writes, write, start } = setup();
    const scope = 'api://a/A.Read';
    await redeemer.tokenFor(start('rt-1'), scope, undefined, write);
    const first = writes.at(-1)!;
    // The family's token expired: the holder of rt-100 refreshes again (as `current` demands a fresher one).
    await redeemer.tokenFor(start(first.refreshToken), scope, first.access, write);
    expect(calls.map((c) => c.refreshToken)).to.deep.equal(['rt-1', 'rt-100']);
    writes.length = 0;
    const stale = await redeemer.tokenFor(start('rt-1'), scope, undefined, write);
    expect(calls).to.have.length(2);
    expect(writes.map((w) => w.refreshToken)).to.deep.equal(['rt-101']);
    expect(stale.token).to.equal(writes[0]!.access.token);
  });

  it('two scopes on one chain: the second redeems the rotated refresh token, never the same one twice', async () => {
    const { redeemer, calls, write, start } = setup({ delayMs: 20 });
    const [a, b] = await Promise.all([redeemer.tokenFor(start('rt-1'), 'api://a/.default', undefined, write), redeemer.tokenFor(start('rt-1'), 'api://b/.default', undefined, write)]);
    expect(calls.map((c) => c.refreshToken)).to.deep.equal(['rt-1', 'rt-100']);
    expect(calls.map((c) => c.scope)).to.deep.equal(['api://a/.default', 'api://b/.default']);
    expect(a.token).to.not.equal(b.token);
  });

  it('without rotation the refresh token stays; the family\'s token is taken from the cache', async () => {
    const { redeemer, calls, writes, write, start } = setup({ rotate: false });
    await redeemer.tokenFor(start('rt-1'), undefined, undefined, write);
    await redeemer.tokenFor(start('rt-1'), undefined, undefined, write);
    expect(calls).to.have.length(1);
    expect(writes.map((w) => w.refreshToken)).to.deep.equal(['rt-1']);
  });

  it('a refresh token the IdP refused is dead: ERR_USER_SESSION_EXPIRED with no second token request', async () => {
    const { redeemer, ledger, calls, write, start } = setup();
    for (let i = 0; i < 3; i++) {
      const error = await redeemer.tokenFor(start('rt-revoked'), undefined, undefined, write).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(AadBackendAuthError).and.include({ code: 'ERR_USER_SESSION_EXPIRED', status: 401, transient: false });
    }
    expect(calls).to.have.length(1);
    expect(ledger.isDeadHere(refreshTokenHash('rt-revoked'))).to.equal(true);
  });

  it('a cycle of hand-offs is not followed for ever', async () => {
    const { redeemer, ledger, calls, write, start } = setup();
    const access = undefined;
    await ledger.recordHandOff(refreshTokenHash('rt-a'), { refreshToken: 'rt-b', family: refreshTokenHash('rt-a'), scopeKey: '', grantedScope: undefined, access }, logger);
    await ledger.recordHandOff(refreshTokenHash('rt-b'), { refreshToken: 'rt-a', family: refreshTokenHash('rt-a'), scopeKey: '', grantedScope: undefined, access }, logger);
    const error = await redeemer.tokenFor(start('rt-a'), undefined, undefined, write).catch((e: unknown) => e);
    expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE' });
    expect(calls).to.have.length(0);
  });

  it('trusts nothing a shared store holds: a tampered or foreign hand-off is a miss', async () => {
    const records = new Map<string, string>();
    const shared = Object.assign(new MemoryTokenCache(), {
      encrypted: true,
      getRecord: async (key: string) => records.get(key),
      setRecord: async (key: string, value: string) => void records.set(key, value),
    });
    const ledger = new SessionLedger(shared);
    expect(ledger.shared).to.equal(shared);
    const hash = refreshTokenHash('rt-x');
    for (const bad of ['not json', '[]', JSON.stringify({ refreshToken: 'rt-y', family: '../../etc', scopeKey: '' }), JSON.stringify({ refreshToken: 42, family: hash, scopeKey: '' })]) {
      records.set(`handoff|${hash}`, bad);
      expect(await ledger.handOff(hash, logger), bad).to.equal(undefined);
    }
    const access: StoredToken = { token: 'at', expiresOnTimestamp: Date.now() + 60_000, refreshAfterTimestamp: Date.now() + 30_000, useUntilTimestamp: Date.now() + 50_000 };
    records.set(`handoff|${hash}`, JSON.stringify({ refreshToken: 'rt-y', family: hash, scopeKey: '', access }));
    expect(await ledger.handOff(hash, logger)).to.include({ refreshToken: 'rt-y', family: hash });
    expect(ledger.familyHere(refreshTokenHash('rt-y'))).to.equal(hash);
  });
});
