import { expect } from 'chai';
import { TargetMap } from '../../lib/provider/target-map.js';
import {
  CLAIMS_CHALLENGE_TTL_MS,
  dropPendingClaims,
  newTargetState,
  pendingClaims,
  setPendingClaims,
  type TargetState,
} from '../../lib/provider/target-state.js';
import { ProviderToken } from '../../lib/provider/provider-token.js';
import { ProcessHold } from '../../lib/core/timing.js';

const target = { key: 'k', tenantId: 't', scope: 'api://orders/.default', notAfter: Infinity } as unknown as TargetState['target'];
const claims = '{"access_token":{"nbf":{"essential":true,"value":"1"}}}';

describe('pending claims challenges (pure)', () => {
  it('live at most 5 minutes, and an expired one is dropped when read', () => {
    expect(CLAIMS_CHALLENGE_TTL_MS).to.be.at.most(5 * 60_000);
    const state = newTargetState(target);
    setPendingClaims(state, claims, 1000);
    expect(pendingClaims(state, 1000 + CLAIMS_CHALLENGE_TTL_MS - 1)).to.equal(claims);
    expect(pendingClaims(state, 1000 + CLAIMS_CHALLENGE_TTL_MS)).to.equal(undefined);
    expect(state.pendingClaims).to.equal(undefined);
  });

  it('dropping a challenge leaves a newer, different one', () => {
    const state = newTargetState(target);
    setPendingClaims(state, claims, 0);
    dropPendingClaims(state, '{"other":1}');
    expect(pendingClaims(state, 1)).to.equal(claims);
    dropPendingClaims(state, claims);
    expect(pendingClaims(state, 1)).to.equal(undefined);
  });

  it('TargetMap.evict: every challenge without a token; with one, only the target that holds it or was challenged over it', () => {
    const map = new TargetMap(() => target, 10);
    const a = map.forTarget({ ...target, key: 'a' } as TargetState['target']);
    const b = map.forTarget({ ...target, key: 'b' } as TargetState['target']);
    const fetched = (token: string): ProviderToken => ProviderToken.fromFetched({ token, expiresInMs: 3_600_000, refreshInMs: undefined }, Date.now(), 0);
    a.evictedToken = 'challenged-a';
    b.token = fetched('held-b');
    setPendingClaims(a, claims, Date.now());
    setPendingClaims(b, claims, Date.now());
    map.evict('unrelated');
    expect([a.pendingClaims, b.pendingClaims].every((p) => p !== undefined)).to.equal(true);
    map.evict('challenged-a');
    expect(a.pendingClaims).to.equal(undefined);
    expect(b.pendingClaims).not.to.equal(undefined);
    map.evict('held-b');
    expect(b.pendingClaims).to.equal(undefined);
    expect(b.token).to.equal(undefined);
    setPendingClaims(a, claims, Date.now());
    map.evict(undefined);
    expect(a.pendingClaims).to.equal(undefined);
  });
});

describe('ProcessHold', () => {
  const refTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('holds one ref\'d handle for any number of holders, and none once all released (twice is harmless)', () => {
    const before = refTimers();
    const processHold = new ProcessHold();
    const first = processHold.hold();
    const second = processHold.hold();
    expect(refTimers()).to.equal(before + 1);
    first();
    first();
    expect(refTimers()).to.equal(before + 1);
    second();
    expect(refTimers()).to.equal(before);
  });
});
