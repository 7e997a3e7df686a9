// Interop with a real RFC 6749 server we did not write: panva's oidc-provider, started here on
// 127.0.0.1 with the client-credentials grant and resource indicators (RFC 8707). One client per
// authentication method: client_secret_basic, client_secret_post and private_key_jwt. A
// resource indicator goes through `tokenParameters`, and shows up as the token's audience.
import { expect } from 'chai';
import { once } from 'node:events';
import { createPublicKey } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK } from 'jose';
import Provider from 'oidc-provider';
import { AadBackendAuthError, createTokenProvider, MemoryTokenCache, type TokenProvider, type TokenProviderOptions } from '../../../lib/index.js';
import { makeCertificate, type TestCertificate } from '../../helpers/certificates.js';

const SECRET = 'interop:secret%with~odd+chars';
const API = 'https://api.example/';

describe('interop: oidc-provider as the token endpoint', () => {
  let server: http.Server;
  let tokenUrl: string;
  let certificate: TestCertificate;
  /** What oidc-provider itself reports: which client authenticated, and how. */
  const granted: { clientId: string; method: string }[] = [];
  const providers: TokenProvider[] = [];

  before(async () => {
    certificate = await makeCertificate('interop client');
    const jwk = await exportJWK(createPublicKey(certificate.certificate));
    server = http.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const common = { grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'read' };
    const oidc = new Provider(issuer, {
      clients: [
        { ...common, client_id: 'basic-client', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic' },
        { ...common, client_id: 'post-client', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post' },
        { ...common, client_id: 'jwt-client', jwks: { keys: [{ ...jwk, use: 'sig' }] }, token_endpoint_auth_method: 'private_key_jwt' },
      ],
      scopes: ['read'],
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource !== API) throw new Error(`unknown resource ${resource}`);
            return { scope: 'read', audience: API, accessTokenFormat: 'jwt', accessTokenTTL: 600 };
          },
        },
      },
    });
    oidc.on('grant.success', (ctx: unknown) => {
      const client = (ctx as { oidc: { client: { clientId: string; clientAuthMethod: string } } }).oidc.client;
      granted.push({ clientId: client.clientId, method: client.clientAuthMethod });
    });
    server.on('request', oidc.callback());
    tokenUrl = `${issuer}/token`;
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    granted.length = 0;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function provider(options: Partial<TokenProviderOptions>): TokenProvider {
    const created = createTokenProvider({ tokenUrl, scope: 'read', cache: new MemoryTokenCache(), failureCooldownMs: 0, timeoutMs: 3000, ...options } as TokenProviderOptions);
    providers.push(created);
    return created;
  }

  it('client_secret_basic, with a secret that needs form-encoding', async () => {
    const { token, expiresOnTimestamp } = await provider({ clientId: 'basic-client', clientSecret: SECRET, clientAuthentication: 'client_secret_basic' }).getToken();
    expect(token).to.be.a('string').with.length.above(20);
    expect(expiresOnTimestamp).to.be.above(Date.now());
    expect(granted).to.deep.equal([{ clientId: 'basic-client', method: 'client_secret_basic' }]);
  });

  it('client_secret_post', async () => {
    await provider({ clientId: 'post-client', clientSecret: SECRET }).getToken();
    expect(granted).to.deep.equal([{ clientId: 'post-client', method: 'client_secret_post' }]);
  });

  it('a wrong secret is refused as invalid_client (502)', async () => {
    const error: unknown = await provider({ clientId: 'basic-client', clientSecret: `${SECRET}x`, clientAuthentication: 'client_secret_basic' }).getToken().then(() => expect.fail('issued'), (e: unknown) => e);
    expect(error).to.be.instanceOf(AadBackendAuthError);
    expect(error).to.include({ code: 'ERR_IDP_REJECTED', status: 502 });
    expect((error as AadBackendAuthError).oauth?.error).to.equal('invalid_client');
    expect(granted).to.deep.equal([]);
  });

  for (const algorithm of ['RS256', 'PS256'] as const) {
    it(`private_key_jwt (${algorithm})`, async () => {
      await provider({ clientId: 'jwt-client', clientCertificate: { ...certificate, algorithm } }).getToken();
      expect(granted).to.deep.equal([{ clientId: 'jwt-client', method: 'private_key_jwt' }]);
    });
  }

  it('a resource indicator through tokenParameters: the token is a JWT for that audience', async () => {
    const { token } = await provider({ clientId: 'post-client', clientSecret: SECRET, tokenParameters: { resource: API } }).getToken();
    const claims = decodeJwt(token);
    expect(claims.aud).to.equal(API);
    expect(claims.client_id).to.equal('post-client');
    expect(claims.scope).to.equal('read');
  });
});
