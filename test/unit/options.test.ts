import { expect } from 'chai';
import { AadBackendAuthError, aadBackendAuth, createTokenProvider, type AadBackendAuthOptions } from '../../lib/index.js';
import { startupErrorOf } from '../helpers/startup-error.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const base: AadBackendAuthOptions = { tenantId: TENANT, clientId: 'client-id', clientSecret: 'shh-secret', resource: 'api://orders' };

const startupError = (options: unknown): AadBackendAuthError => startupErrorOf(() => aadBackendAuth(options as AadBackendAuthOptions));

describe('options validation at start-up', () => {
  it('accepts a complete client-secret configuration', () => {
    expect(aadBackendAuth(base)).to.be.a('function');
  });

  it('treats keys set to undefined as unset', () => {
    expect(aadBackendAuth({ ...base, scope: undefined, header: undefined })).to.be.a('function');
  });

  for (const option of ['tenantId', 'clientId', 'clientSecret'] as const) {
    it(`names a missing ${option}`, () => {
      expect(startupError({ ...base, [option]: undefined }).message).to.include(`"${option}"`);
    });
    it(`names an empty ${option}`, () => {
      expect(startupError({ ...base, [option]: '' }).message).to.include(`"${option}"`);
    });
  }

  it('refuses both resource and scope, and neither', () => {
    expect(startupError({ ...base, scope: 'api://orders/.default' }).message).to.match(/"resource".*"scope"/);
    expect(startupError({ ...base, resource: undefined }).message).to.match(/"resource".*"scope"/);
  });

  for (const alias of ['common', 'organizations', 'consumers', 'Common']) {
    it(`refuses the multi-tenant alias ${alias}`, () => {
      expect(startupError({ ...base, tenantId: alias }).message).to.include('"tenantId"').and.include('one tenant');
    });
  }

  for (const tenant of ['not a tenant', 'contoso', '1234', 'x'.repeat(300) + '.com']) {
    it(`refuses the tenant ${JSON.stringify(tenant.slice(0, 20))}`, () => {
      expect(startupError({ ...base, tenantId: tenant }).message).to.include('"tenantId"');
    });
  }

  it('accepts a verified domain as tenant', () => {
    expect(aadBackendAuth({ ...base, tenantId: 'contoso.onmicrosoft.com' })).to.be.a('function');
  });

  it('refuses non-https authority hosts and token URLs except on loopback', () => {
    expect(startupError({ ...base, authorityHost: 'http://login.example.com' }).message).to.include('"authorityHost"').and.include('https');
    expect(startupError({ ...base, tenantId: undefined, tokenUrl: 'http://idp.example.com/token' }).message).to.include('"tokenUrl"');
    expect(aadBackendAuth({ ...base, authorityHost: 'http://127.0.0.1:8080' })).to.be.a('function');
    expect(aadBackendAuth({ ...base, authorityHost: 'http://localhost:8080' })).to.be.a('function');
    expect(aadBackendAuth({ ...base, authorityHost: 'http://[::1]:8080' })).to.be.a('function');
    expect(aadBackendAuth({ ...base, authorityHost: 'https://login.microsoftonline.us' })).to.be.a('function');
  });

  it('refuses URLs with credentials, queries or garbage', () => {
    expect(startupError({ ...base, authorityHost: 'https://user:pw@login.example.com' }).message).to.include('credentials');
    expect(startupError({ ...base, authorityHost: 'https://login.example.com/?x=1' }).message).to.include('query');
    expect(startupError({ ...base, authorityHost: 'login.microsoftonline.com' }).message).to.include('absolute URL');
  });

  it('refuses an unknown option with a "did you mean" hint', () => {
    const error = startupError({ ...base, refreshWindowMS: 1000 });
    expect(error.message).to.include('"refreshWindowMS"').and.include('Did you mean "refreshWindowMs"?');
    expect(startupError({ ...base, zzzzzzzzzz: 1 }).message).not.to.include('Did you mean');
  });

  it('refuses a v2 scope without /.default, and a resource with it', () => {
    expect(startupError({ ...base, resource: undefined, scope: 'api://orders' }).message).to.include('"scope"').and.include('/.default');
    expect(startupError({ ...base, resource: 'api://orders/.default' }).message).to.include('"resource"');
    expect(startupError({ ...base, resource: undefined, scope: ['a/.default', 'b/.default'] }).message).to.include('exactly one');
  });

  it('accepts arbitrary scopes for a generic RFC 6749 token URL', () => {
    const options = { clientId: 'c', clientSecret: 's', tokenUrl: 'https://keycloak.example.com/realms/x/protocol/openid-connect/token', scope: ['orders:read', 'orders:write'] };
    expect(aadBackendAuth(options)).to.be.a('function');
  });

  it('needs a resource for an Entra v1 token URL', () => {
    const v1 = { clientId: 'c', clientSecret: 's', tokenUrl: `https://login.microsoftonline.com/${TENANT}/oauth2/token` };
    expect(aadBackendAuth({ ...v1, resource: 'https://legacy.example.com' })).to.be.a('function');
    expect(aadBackendAuth({ ...v1, scope: 'https://legacy.example.com/.default' })).to.be.a('function');
    expect(startupError({ ...v1, scope: 'orders.read' }).message).to.include('v1');
  });

  it('keys a credential by its clientId and tenant with a shared cache, so a fleet never mixes identities', async () => {
    const stored: string[] = [];
    const cache = { get: () => undefined, set: (key: string) => void stored.push(key), delete: () => undefined };
    const credential = { getToken: async () => ({ token: 'abc', expiresOnTimestamp: Date.now() + 3600_000 }) };
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    expect(startupError({ credential, clientId: 'app-one', resource: 'api://a', cache }).message).to.match(/"tenantId" is required/);
    await createTokenProvider({ credential, clientId: 'app-one', tenantId: TENANT, resource: 'api://a', cache, logger }).getToken();
    await createTokenProvider({ credential, clientId: 'app-two', tenantId: TENANT, resource: 'api://a', cache, logger }).getToken();
    expect(stored).to.have.length(2);
    expect(stored[0]).to.include('app-one').and.include(TENANT);
    expect(stored[1]).to.include('app-two');
    expect(warnings).to.deep.equal([]);
    createTokenProvider({ credential, resource: 'api://a', cache, logger });
    expect(warnings.join()).to.include('"clientId"');
  });

  it('refuses a credential mixed with a client secret or an authority', () => {
    const credential = { getToken: async () => null };
    expect(startupError({ credential, clientSecret: 'x', resource: 'api://a' }).message).to.include('"clientSecret"');
    expect(startupError({ credential, authorityHost: 'https://login.microsoftonline.us', resource: 'api://a' }).message).to.include('"authorityHost"');
    expect(startupError({ credential: { nope: true }, resource: 'api://a' }).message).to.include('"credential"');
    expect(aadBackendAuth({ credential, resource: 'api://a' })).to.be.a('function');
  });

  it('checks numbers, headers, stores and callbacks', () => {
    expect(startupError({ ...base, timeoutMs: 0 }).message).to.include('"timeoutMs"');
    expect(startupError({ ...base, timeoutMs: '100' }).message).to.include('"timeoutMs"');
    expect(startupError({ ...base, refreshWindowMs: -1 }).message).to.include('"refreshWindowMs"');
    expect(startupError({ ...base, failureCooldownMs: 6000 }).message).to.include('"failureCooldownMs"');
    expect(startupError({ ...base, header: 'bad header' }).message).to.include('"header"');
    expect(startupError({ ...base, removeHeaders: 'cookie' }).message).to.include('"removeHeaders"');
    expect(startupError({ ...base, removeHeaders: ['ok', 'not ok'] }).message).to.include('"removeHeaders"');
    expect(startupError({ ...base, purgeOnStatus: [401, 99] }).message).to.include('"purgeOnStatus"');
    expect(startupError({ ...base, cache: { get() {} } }).message).to.include('"cache"');
    expect(startupError({ ...base, onError: 'nope' }).message).to.include('"onError"');
    expect(startupError({ ...base, logger: console.log }).message).to.include('"logger"');
    expect(startupError(null).message).to.include('"options"');
  });

  it('does not accept middleware options on a bare provider', () => {
    expect(() => createTokenProvider({ ...base, header: 'x' } as never)).to.throw(AadBackendAuthError, '"header"');
  });

  it('never puts the secret in a start-up error', () => {
    const error = startupError({ ...base, clientSecret: 'SENTINEL-secret-value', tenantId: 'common' });
    expect(error.message + String(error.stack)).not.to.include('SENTINEL');
  });
});
