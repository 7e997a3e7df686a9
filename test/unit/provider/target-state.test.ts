import { expect } from 'chai';
import { AadBackendAuthError } from '../../../lib/core/errors.js';
import { ProviderToken } from '../../../lib/provider/provider-token.js';
import {
  CLAIMS_CHALLENGE_TTL_MS,
  acceptToken,
  backOffRefresh,
  dropPendingClaims,
  evict,
  evictIfHeld,
  newTargetState,
  pendingClaims,
  recordFailure,
  refreshDue,
  rememberedFailure,
  retryDelayMs,
  setPendingClaims,
  usableToken,
  type TargetState,
} from '../../../lib/provider/target-state.js';

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;

/** A token whose times are given relative to NOW. */
function token(name: string, times: { refreshAfter: number; useUntil: number; expiresOn: number }): ProviderToken {
  const stored = { token: name, refreshAfterTimestamp: NOW + times.refreshAfter, useUntilTimestamp: NOW + times.useUntil, expiresOnTimestamp: NOW + times.expiresOn };
  const built = ProviderToken.fromStored(stored, NOW);
  if (built === undefined) throw new Error('bad test token');
  return built;
}

const hour = (name: string): ProviderToken => token(name, { refreshAfter: 30 * MINUTE, useUntil: 59 * MINUTE, expiresOn: 60 * MINUTE });

function stateWith(held?: ProviderToken): TargetState {
  const state = newTargetState({ key: 'tenant|client|api://backend/.default', tenantId: 'tenant', scopes: ['api://backend/.default'], resource: undefined });
  state.token = held;
  return state;
}

const unavailable = (retryAfterSeconds?: number): AadBackendAuthError =>
  new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'the IdP is down', retryAfterSeconds === undefined ? {} : { retryAfterSeconds });

describe('target state (pure, no clock)', function () {
  describe('usableToken', function () {
    it('serves the token up to, and not at, its useUntil', function () {
      const held = hour('tok-a');
      const state = stateWith(held);
      expect(usableToken(state, held.useUntilTimestamp - 1)).to.equal(held);
      expect(usableToken(state, held.useUntilTimestamp)).to.equal(undefined);
      expect(usableToken(stateWith(), NOW)).to.equal(undefined);
    });
  });

  describe('refreshDue', function () {
    it('is due from refreshAfter on, not before', function () {
      const held = hour('tok-a');
      const state = stateWith(held);
      expect(refreshDue(state, held.refreshAfterTimestamp - 1)).to.equal(false);
      expect(refreshDue(state, held.refreshAfterTimestamp)).to.equal(true);
    });

    it('is not due while a wait is pending, nor before refreshNotBefore', function () {
      const held = hour('tok-a');
      const state = stateWith(held);
      const at = held.refreshAfterTimestamp + 10;
      state.pending = new Promise(() => undefined);
      expect(refreshDue(state, at)).to.equal(false);
      state.pending = undefined;
      state.refreshNotBefore = at + 500;
      expect(refreshDue(state, at + 499)).to.equal(false);
      expect(refreshDue(state, at + 500)).to.equal(true);
    });
  });

  describe('rememberedFailure', function () {
    it('is given back until its time runs out, then forgotten', function () {
      const state = stateWith();
      const error = unavailable();
      state.failure = { error, until: NOW + 1000 };
      expect(rememberedFailure(state, NOW + 999)).to.equal(error);
      expect(rememberedFailure(state, NOW + 1000)).to.equal(undefined);
      expect(rememberedFailure(stateWith(), NOW)).to.equal(undefined);
    });
  });

  describe('acceptToken', function () {
    it('takes a newer token, clearing the failure and the refresh back-off', function () {
      const state = stateWith(hour('tok-a'));
      state.failure = { error: unavailable(), until: NOW + 5000 };
      state.refreshFailures = 3;
      state.refreshNotBefore = NOW + 8000;
      const newer = token('tok-b', { refreshAfter: 40 * MINUTE, useUntil: 69 * MINUTE, expiresOn: 70 * MINUTE });
      expect(acceptToken(state, newer, 'refresh', NOW)).to.equal(true);
      expect(state.token).to.equal(newer);
      expect(state.failure).to.equal(undefined);
      expect(state.refreshFailures).to.equal(0);
      expect(state.refreshNotBefore).to.equal(0);
    });

    it('keeps the held token when the new one expires no later', function () {
      const held = hour('tok-a');
      const state = stateWith(held);
      const same = hour('tok-b');
      const older = token('tok-c', { refreshAfter: 10 * MINUTE, useUntil: 19 * MINUTE, expiresOn: 20 * MINUTE });
      expect(acceptToken(state, same, 'acquire', NOW)).to.equal(false);
      expect(acceptToken(state, older, 'acquire', NOW)).to.equal(false);
      expect(state.token).to.equal(held);
      // An acquisition that brought nothing newer does not back off refreshes.
      expect(state.refreshNotBefore).to.equal(0);
      expect(state.refreshFailures).to.equal(0);
    });

    it('backs off a refresh that brought nothing newer, as a failed one', function () {
      const held = hour('tok-a');
      const state = stateWith(held);
      state.failure = { error: unavailable(), until: NOW + 5000 };
      expect(acceptToken(state, hour('tok-b'), 'refresh', NOW)).to.equal(false);
      expect(state.token).to.equal(held);
      expect(state.failure).to.equal(undefined);
      expect(state.refreshFailures).to.equal(1);
      // First back-off: between half and all of 1 s.
      expect(state.refreshNotBefore).to.be.within(NOW + 500, NOW + 1000);
    });

    it('takes any token when none is held', function () {
      const state = stateWith();
      const fresh = hour('tok-a');
      expect(acceptToken(state, fresh, 'acquire', NOW)).to.equal(true);
      expect(state.token).to.equal(fresh);
    });
  });

  describe('recordFailure', function () {
    it("is 'stale' while a usable token is served: nothing remembered, the refresh backs off", function () {
      const state = stateWith(hour('tok-a'));
      expect(recordFailure(state, unavailable(), 'refresh', NOW, 1000)).to.equal('stale');
      expect(state.failure).to.equal(undefined);
      expect(state.refreshFailures).to.equal(1);
      expect(state.refreshNotBefore).to.be.within(NOW + 500, NOW + 1000);
    });

    it("is 'stale' for a failed acquisition too when a usable token is held", function () {
      const state = stateWith(hour('tok-a'));
      expect(recordFailure(state, unavailable(), 'acquire', NOW, 1000)).to.equal('stale');
      expect(state.refreshFailures).to.equal(1);
    });

    it("is 'failed' without a usable token: the error is remembered for the cooldown", function () {
      const state = stateWith();
      const error = unavailable();
      expect(recordFailure(state, error, 'acquire', NOW, 1000)).to.equal('failed');
      expect(state.failure).to.deep.equal({ error, until: NOW + 1000 });
      // An acquisition without a token has nothing to refresh: no back-off recorded.
      expect(state.refreshFailures).to.equal(0);
      expect(rememberedFailure(state, NOW + 999)).to.equal(error);
      expect(rememberedFailure(state, NOW + 1000)).to.equal(undefined);
    });

    it("is 'failed' once the held token is past useUntil, and a refresh still backs off", function () {
      const held = hour('tok-a');
      const state = stateWith(held);
      const at = held.useUntilTimestamp;
      expect(recordFailure(state, unavailable(), 'refresh', at, 1000)).to.equal('failed');
      expect(state.failure?.until).to.equal(at + 1000);
      expect(state.refreshFailures).to.equal(1);
    });

    it('remembers a failure for Retry-After when longer than the cooldown', function () {
      const state = stateWith();
      recordFailure(state, unavailable(3), 'acquire', NOW, 1000);
      expect(state.failure?.until).to.equal(NOW + 3000);
    });

    it('never remembers a failure longer than 5 s, whatever Retry-After or the cooldown say', function () {
      const byRetryAfter = stateWith();
      recordFailure(byRetryAfter, unavailable(120), 'acquire', NOW, 1000);
      expect(byRetryAfter.failure?.until).to.equal(NOW + 5000);
      const byCooldown = stateWith();
      recordFailure(byCooldown, unavailable(), 'acquire', NOW, 60_000);
      expect(byCooldown.failure?.until).to.equal(NOW + 5000);
    });
  });

  describe('backOffRefresh', function () {
    const always = (value: number) => (): number => value;

    it('grows with each failure: half fixed, half random, from 1 s to a 30 s cap', function () {
      const state = stateWith(token('tok-a', { refreshAfter: 10 * MINUTE, useUntil: 20 * 60 * MINUTE, expiresOn: 21 * 60 * MINUTE }));
      backOffRefresh(state, undefined, NOW, always(0));
      expect(state.refreshNotBefore).to.equal(NOW + 500);
      backOffRefresh(state, undefined, NOW, always(1));
      expect(state.refreshNotBefore).to.equal(NOW + 2000);
      state.refreshFailures = 10;
      backOffRefresh(state, undefined, NOW, always(1));
      expect(state.refreshNotBefore).to.equal(NOW + 30_000);
      expect(state.refreshFailures).to.equal(11);
    });

    it('takes Retry-After as a floor over the back-off', function () {
      const state = stateWith(hour('tok-a'));
      backOffRefresh(state, 20, NOW, always(1));
      expect(state.refreshNotBefore).to.equal(NOW + 20_000);
    });

    it('never waits past half the usable life left, even for Retry-After', function () {
      const state = stateWith(token('tok-a', { refreshAfter: 0, useUntil: 10_000, expiresOn: 40_000 }));
      state.refreshFailures = 10;
      backOffRefresh(state, undefined, NOW, always(1));
      expect(state.refreshNotBefore).to.equal(NOW + 5000);
      backOffRefresh(state, 3600, NOW + 2000, always(1));
      expect(state.refreshNotBefore).to.equal(NOW + 2000 + 4000);
    });

    it('keeps at least the 1 s spacing in the token’s last moments', function () {
      const state = stateWith(token('tok-a', { refreshAfter: 0, useUntil: 400, expiresOn: 40_000 }));
      state.refreshFailures = 10;
      backOffRefresh(state, undefined, NOW, always(1));
      expect(state.refreshNotBefore).to.equal(NOW + 1000);
    });

    it('has no life-based cap without a token: Retry-After counts in full', function () {
      const state = stateWith();
      backOffRefresh(state, 100, NOW, always(0));
      expect(state.refreshNotBefore).to.equal(NOW + 100_000);
    });
  });

  describe('evictIfHeld', function () {
    it('evicts only the token that is held', function () {
      const held = hour('tok-a');
      const state = stateWith(held);
      expect(evictIfHeld(state, 'tok-other', NOW, 1000)).to.equal(false);
      expect(state.token).to.equal(held);
      expect(evictIfHeld(state, 'tok-a', NOW, 1000)).to.equal(true);
      expect(state.token).to.equal(undefined);
      expect(state.evictedToken).to.equal('tok-a');
      expect(state.lastEvictionAt).to.equal(NOW);
    });

    it('evicts at most once per cooldown', function () {
      const state = stateWith(hour('tok-a'));
      expect(evictIfHeld(state, 'tok-a', NOW, 1000)).to.equal(true);
      const next = token('tok-b', { refreshAfter: 40 * MINUTE, useUntil: 69 * MINUTE, expiresOn: 70 * MINUTE });
      state.token = next;
      expect(evictIfHeld(state, 'tok-b', NOW + 999, 1000)).to.equal(false);
      expect(state.token).to.equal(next);
      expect(state.evictedToken).to.equal('tok-a');
      expect(evictIfHeld(state, 'tok-b', NOW + 1000, 1000)).to.equal(true);
      expect(state.evictedToken).to.equal('tok-b');
      expect(state.lastEvictionAt).to.equal(NOW + 1000);
    });

    it('evict without a token keeps the last evicted one', function () {
      const state = stateWith();
      state.evictedToken = 'tok-old';
      evict(state);
      expect(state.evictedToken).to.equal('tok-old');
    });
  });

  describe('retryDelayMs', function () {
    const always = (value: number) => (): number => value;

    it('backs off from 200 ms up to a 2 s cap, half of it random', function () {
      expect(retryDelayMs(0, undefined, always(0))).to.equal(100);
      expect(retryDelayMs(0, undefined, always(1))).to.equal(200);
      expect(retryDelayMs(2, undefined, always(1))).to.equal(800);
      expect(retryDelayMs(10, undefined, always(1))).to.equal(2000);
    });

    it('honours Retry-After as a floor, never as a licence to skip the back-off', function () {
      expect(retryDelayMs(0, 5, always(0))).to.equal(5000);
      expect(retryDelayMs(4, 1, always(1))).to.equal(2000);
      expect(retryDelayMs(1, 0, always(0))).to.equal(200);
    });
  });

  describe('pending claims', function () {
    it('are carried until their time runs out, then dropped', function () {
      const state = stateWith();
      setPendingClaims(state, '{"access_token":{"nbf":{"essential":true}}}', NOW);
      expect(pendingClaims(state, NOW + CLAIMS_CHALLENGE_TTL_MS - 1)).to.equal('{"access_token":{"nbf":{"essential":true}}}');
      expect(pendingClaims(state, NOW + CLAIMS_CHALLENGE_TTL_MS)).to.equal(undefined);
      expect(state.pendingClaims).to.equal(undefined);
    });

    it('a later challenge replaces an earlier one, and only the challenge sent is dropped', function () {
      const state = stateWith();
      setPendingClaims(state, 'first', NOW);
      setPendingClaims(state, 'second', NOW + 10);
      expect(pendingClaims(state, NOW + 20)).to.equal('second');
      dropPendingClaims(state, 'first');
      expect(pendingClaims(state, NOW + 20)).to.equal('second');
      dropPendingClaims(state, 'second');
      expect(pendingClaims(state, NOW + 20)).to.equal(undefined);
    });
  });
});
