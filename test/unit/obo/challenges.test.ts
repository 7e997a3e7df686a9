import { expect } from 'chai';
import { AadBackendAuthError } from '../../../lib/core/errors.js';
import { ProviderToken } from '../../../lib/provider/provider-token.js';
import { problemBody } from '../../../lib/http/problem.js';
import { userConsentRequired, userInteractionRequired, userTokenInvalid, userTokenMissing } from '../../../lib/core/user-errors.js';
import { sanitiseClaims, wwwAuthenticateFor } from '../../../lib/http/challenge.js';

describe('WWW-Authenticate for user-token errors', () => {
  it('challenges a missing token with Bearer and an invalid one with invalid_token', () => {
    expect(wwwAuthenticateFor(userTokenMissing('none'))).to.equal('Bearer');
    expect(wwwAuthenticateFor(userTokenInvalid('bad'))).to.equal('Bearer error="invalid_token"');
    expect(wwwAuthenticateFor(userConsentRequired('no'))).to.equal('Bearer error="insufficient_scope"');
  });

  it('carries the claims challenge as base64 JSON', () => {
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    const challenge = wwwAuthenticateFor(userInteractionRequired('mfa', claims))!;
    const encoded = /claims="([^"]+)"/.exec(challenge)![1]!;
    expect(challenge.startsWith('Bearer error="insufficient_claims", ')).to.equal(true);
    expect(Buffer.from(encoded, 'base64').toString('utf8')).to.equal(claims);
  });

  it('sets no challenge for app-token errors', () => {
    expect(wwwAuthenticateFor(new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'down'))).to.equal(undefined);
  });

  it('keeps only bounded JSON objects as claims', () => {
    expect(sanitiseClaims('{"a":1}')).to.equal('{"a":1}');
    expect(sanitiseClaims('"quoted\\" header injection')).to.equal(undefined);
    expect(sanitiseClaims('[1]')).to.equal(undefined);
    expect(sanitiseClaims(`{"a":"${'x'.repeat(5000)}"}`)).to.equal(undefined);
    expect(sanitiseClaims(42)).to.equal(undefined);
  });

  it('gives each user error its own generic detail and status', () => {
    const body = JSON.parse(problemBody(userConsentRequired('AADSTS65001 text'))) as Record<string, unknown>;
    expect(body).to.include({ status: 403, code: 'ERR_USER_CONSENT_REQUIRED' });
    expect(JSON.stringify(body)).to.not.include('AADSTS');
    expect(userTokenInvalid('x').status).to.equal(401);
    expect(userInteractionRequired('x', undefined).status).to.equal(401);
  });
});

describe("an exchanged token's use-until time", () => {
  const T0 = 1_800_000_000_000;
  const hour = { token: 'tok', expiresInMs: 3600_000, refreshInMs: undefined };

  it("never passes the user token's exp, and is not refreshed ahead when that exp comes first", () => {
    const token = ProviderToken.fromFetched(hour, T0, 300_000, T0 + 600_000);
    expect(token.useUntilTimestamp).to.equal(T0 + 600_000);
    expect(token.refreshAfterTimestamp).to.equal(T0 + 600_000);
    expect(token.expiresOnTimestamp).to.equal(T0 + 3600_000);
  });

  it('keeps its own timing when the user token outlives it', () => {
    const token = ProviderToken.fromFetched(hour, T0, 300_000, T0 + 7200_000);
    expect(token.useUntilTimestamp).to.equal(T0 + 3570_000);
    expect(token.refreshAfterTimestamp).to.equal(T0 + 3300_000);
  });
});
