import { expect } from 'chai';
import { inspect } from 'node:util';
import { ProviderToken } from '../../lib/provider/provider-token.js';

const T0 = 1_800_000_000_000;
const fetched = (expiresInS: number, refreshInS?: number) => ({
  token: 'secret-token-value',
  expiresInMs: expiresInS * 1000,
  refreshInMs: refreshInS === undefined ? undefined : refreshInS * 1000,
});

describe('token timing', () => {
  it('refreshes a one-hour token five minutes before expiry and stops using it 30 s before', () => {
    const token = ProviderToken.fromFetched(fetched(3600), T0, 300_000);
    expect(token.expiresOnTimestamp).to.equal(T0 + 3600_000);
    expect(token.refreshAfterTimestamp).to.equal(T0 + 3300_000);
    expect(token.useUntilTimestamp).to.equal(T0 + 3570_000);
  });

  it('never refreshes before half the lifetime, and keeps a 10 % margin for short tokens', () => {
    const token = ProviderToken.fromFetched(fetched(4), T0, 300_000);
    expect(token.refreshAfterTimestamp).to.equal(T0 + 2000);
    expect(token.useUntilTimestamp).to.equal(T0 + 3600);
  });

  it('honours refresh_in when it comes before the refresh window, but not before half-life', () => {
    expect(ProviderToken.fromFetched(fetched(3600, 2400), T0, 300_000).refreshAfterTimestamp).to.equal(T0 + 2400_000);
    expect(ProviderToken.fromFetched(fetched(3600, 60), T0, 300_000).refreshAfterTimestamp).to.equal(T0 + 1800_000);
  });

  it('hides the token from inspect and JSON', () => {
    const token = ProviderToken.fromFetched(fetched(60), T0, 300_000);
    expect(token.token).to.equal('secret-token-value');
    expect(token.authorization).to.equal('Bearer secret-token-value');
    expect(inspect(token, { showHidden: true, depth: Infinity })).not.to.include('secret-token-value');
    expect(JSON.stringify(token)).not.to.include('secret-token-value');
  });

  it('round-trips through a store and rejects corrupt entries', () => {
    const token = ProviderToken.fromFetched(fetched(60), T0, 300_000);
    const back = ProviderToken.fromStored(JSON.parse(JSON.stringify(token.toStored())), T0);
    expect(back?.token).to.equal(token.token);
    expect(back?.useUntilTimestamp).to.equal(token.useUntilTimestamp);
    expect(ProviderToken.fromStored('garbage')).to.equal(undefined);
    expect(ProviderToken.fromStored({ ...token.toStored(), token: 'a b' })).to.equal(undefined);
    expect(ProviderToken.fromStored({ ...token.toStored(), useUntilTimestamp: 'x' })).to.equal(undefined);
    expect(ProviderToken.fromStored({ ...token.toStored(), useUntilTimestamp: T0 + 999_999_999 })).to.equal(undefined);
  });

  it('clamps times read from a shared store to the 24 h a fetched token may live at most', () => {
    const farOff = { token: 'abc', expiresOnTimestamp: T0 + 1e12, refreshAfterTimestamp: T0 + 1e12 - 2, useUntilTimestamp: T0 + 1e12 - 1 };
    const back = ProviderToken.fromStored(farOff, T0)!;
    expect(back.expiresOnTimestamp).to.equal(T0 + 24 * 3600_000);
    expect(back.useUntilTimestamp).to.be.at.most(back.expiresOnTimestamp);
    expect(back.refreshAfterTimestamp).to.be.at.most(back.useUntilTimestamp);
  });
});
