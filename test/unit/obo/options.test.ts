import { expect } from 'chai';
import { AadBackendAuthError, aadOnBehalfOf, type AadOnBehalfOfOptions } from '../../../lib/index.js';
import { parseOnBehalfOfOptions } from '../../../lib/options/on-behalf-of-options.js';
import { startupErrorOf } from '../../helpers/startup-error.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const base: AadOnBehalfOfOptions = { tenantId: TENANT, clientId: 'bff-client', clientSecret: 'shh-secret', scope: 'api://orders/Orders.Read' };

const startupError = (options: unknown): AadBackendAuthError => startupErrorOf(() => aadOnBehalfOf(options as AadOnBehalfOfOptions));

describe('aadOnBehalfOf options at start-up', () => {
  it('accepts an Entra configuration and an RFC 8693 one', () => {
    expect(aadOnBehalfOf(base)).to.be.a('function');
    const exchange = { clientId: 'c', clientSecret: 's', scope: ['orders:read', 'orders:write'], grant: 'token-exchange', tokenUrl: 'https://kc.example/realms/r/protocol/openid-connect/token', issuer: 'https://kc.example/realms/r' } as const;
    expect(aadOnBehalfOf(exchange)).to.be.a('function');
  });

  it('refuses unknown options with a hint', () => {
    expect(startupError({ ...base, maxUser: 5 }).message).to.include('Did you mean "maxUsers"?');
  });

  for (const alias of ['common', 'organizations', 'consumers']) {
    it(`refuses tenantId "${alias}"`, () => {
      expect(startupError({ ...base, tenantId: alias }).message).to.include('"tenantId"');
    });
  }

  for (const option of ['clientId', 'clientSecret', 'scope', 'tenantId'] as const) {
    it(`names a missing ${option}`, () => {
      expect(startupError({ ...base, [option]: undefined }).message).to.include(`"${option}"`);
    });
  }

  it('refuses tenantId and authorityHost with grant token-exchange, and tokenUrl or issuer without it', () => {
    const exchange = { clientId: 'c', clientSecret: 's', scope: 'x', grant: 'token-exchange', tokenUrl: 'https://kc.example/token', issuer: 'https://kc.example' };
    expect(startupError({ ...exchange, tenantId: TENANT }).message).to.include('"tenantId"');
    expect(startupError({ ...exchange, authorityHost: 'https://login.microsoftonline.com' }).message).to.include('"authorityHost"');
    expect(startupError({ ...exchange, issuer: undefined }).message).to.include('"issuer"');
    expect(startupError({ ...base, tokenUrl: 'https://kc.example/token' }).message).to.include('"tokenUrl"');
    expect(startupError({ ...base, grant: 'password' }).message).to.include('"grant"');
  });

  it('refuses http endpoints off loopback, bad maxUsers, audiences, userToken and header names', () => {
    expect(startupError({ ...base, authorityHost: 'http://login.example' }).message).to.include('"authorityHost"');
    expect(startupError({ ...base, maxUsers: 0 }).message).to.include('"maxUsers"');
    expect(startupError({ ...base, userTokenAudience: [] }).message).to.include('"userTokenAudience"');
    expect(startupError({ ...base, userToken: 'session' }).message).to.include('"userToken"');
    expect(startupError({ ...base, removeHeaders: ['bad header'] }).message).to.include('"removeHeaders"');
    for (const header of ['content-length', 'Transfer-Encoding', 'host', 'connection']) {
      expect(startupError({ ...base, header }).message, header).to.include('"header"');
    }
    expect(startupError({ ...base, scope: 'has space' }).message).to.include('"scope"');
  });

  it('never puts the secret in an option error', () => {
    expect(startupError({ ...base, maxUsers: -1 }).message).to.not.include('shh-secret');
  });
});

describe('aadOnBehalfOf accepted issuers', () => {
  const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  it('also accepts the v1 issuer https://sts.windows.net/{tid}/ on the public cloud', () => {
    const { validator } = parseOnBehalfOfOptions(base);
    expect(validator.extraIssuers(`https://login.microsoftonline.com/${tid}/v2.0`)).to.deep.equal([`https://sts.windows.net/${tid}/`]);
    expect(validator.discoveryUrl).to.equal(`https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration`);
    expect(validator.audiences).to.deep.equal(['bff-client', 'api://bff-client']);
  });

  it('accepts no extra issuer on another cloud or for token exchange', () => {
    const sovereign = parseOnBehalfOfOptions({ ...base, authorityHost: 'https://login.microsoftonline.us' });
    expect(sovereign.validator.extraIssuers(`https://login.microsoftonline.us/${tid}/v2.0`)).to.deep.equal([]);
    const exchange = parseOnBehalfOfOptions({ clientId: 'c', clientSecret: 's', scope: 'x', grant: 'token-exchange', tokenUrl: 'https://kc.example/token', issuer: 'https://kc.example/realms/r/' });
    expect(exchange.validator.discoveryUrl).to.equal('https://kc.example/realms/r/.well-known/openid-configuration');
    expect(exchange.validator.expectedIssuer).to.equal('https://kc.example/realms/r/');
  });

  it('keys a user by the SHA-256 of the token, never the token, and hides the token in the target', () => {
    const { targetFor } = parseOnBehalfOfOptions(base);
    const target = targetFor('user.token.value', 1_900_000_000_000);
    expect(target.key).to.not.include('user.token.value');
    expect(target.key).to.match(/\|api:\/\/orders\/Orders\.Read\|user:[A-Za-z0-9_-]{43}$/);
    expect(target.assertion).to.equal('user.token.value');
    expect(JSON.stringify(target)).to.not.include('user.token.value');
    expect(targetFor('another.user.token', 0).key).to.not.equal(target.key);
  });
});
