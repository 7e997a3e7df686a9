import { ClientSecretCredential, type AccessToken as AzureAccessToken, type GetTokenOptions, type TokenCredential } from '@azure/identity';
import { expect } from 'chai';
import request from 'supertest';
import { aadBackendAuth, type AadBackendAuthError } from '../../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { startBackend, type Backend } from '../helpers/servers.js';
import { bearer } from '../helpers/setup.js';

/** A credential written for the test: counts calls and hands out numbered tokens. */
class CountingCredential implements TokenCredential {
  calls: { scopes: string[]; options: GetTokenOptions | undefined }[] = [];
  constructor(private readonly answer: (call: number) => Promise<AzureAccessToken | null>) {}
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AzureAccessToken | null> {
    this.calls.push({ scopes: [scopes].flat(), options });
    return this.answer(this.calls.length);
  }
}

describe('tokens from an @azure/identity TokenCredential', () => {
  let backend: Backend;
  let gateway: Gateway | undefined;
  beforeEach(async () => {
    backend = await startBackend();
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await backend.close();
  });

  async function through(credential: TokenCredential, extra: Record<string, unknown> = {}) {
    const auth = aadBackendAuth({ credential, resource: 'api://orders', ...extra });
    gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    return auth;
  }

  it('asks the credential once for <resource>/.default, however many requests arrive', async () => {
    const credential = new CountingCredential(async (n) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { token: `credential-token-${n}`, expiresOnTimestamp: Date.now() + 3600_000 };
    });
    await through(credential);
    const answers = await Promise.all(Array.from({ length: 100 }, () => fetch(`${gateway!.url}/api/x`)));
    expect(answers.every((r) => r.status === 200)).to.equal(true);
    expect(credential.calls).to.have.length(1);
    expect(credential.calls[0]!.scopes).to.deep.equal(['api://orders/.default']);
    expect(credential.calls[0]!.options?.abortSignal).to.be.instanceOf(AbortSignal);
    expect(new Set(backend.received.map((r) => r.headers.authorization))).to.deep.equal(new Set(['Bearer credential-token-1']));
  });

  it('takes refreshAfterTimestamp from the credential, but never refreshes before half the lifetime', async () => {
    const credential = new CountingCredential(async (n) => ({
      token: `t${n}`,
      expiresOnTimestamp: Date.now() + 3600_000,
      refreshAfterTimestamp: Date.now() + (n === 1 ? 1000 : 3000_000),
    }));
    const auth = await through(credential);
    await fetch(`${gateway!.url}/api/x`);
    // refresh_in earlier than half-life is not honoured: the refresh waits for half the lifetime.
    await fetch(`${gateway!.url}/api/x`);
    expect(credential.calls).to.have.length(1);
    expect(auth.tokenProvider.peek()!.refreshAfterTimestamp - Date.now()).to.be.within(1790_000, 1800_000);
  });

  it('answers 502 ERR_CREDENTIAL_UNAVAILABLE when the credential cannot work here', async () => {
    const unavailable = new CountingCredential(async () => {
      const error = new Error('ManagedIdentityCredential: no managed identity endpoint found');
      error.name = 'CredentialUnavailableError';
      throw error;
    });
    await through(unavailable);
    const res = await request(gateway!.url).get('/api/x');
    expect(res.status).to.equal(502);
    expect(res.body).to.include({ code: 'ERR_CREDENTIAL_UNAVAILABLE' });
    expect(backend.received).to.have.length(0);
  });

  it('treats a null token, or one unfit for a header, as malformed', async () => {
    await through(new CountingCredential(async () => ({ token: 'bad\r\ntoken', expiresOnTimestamp: Date.now() + 60_000 })));
    const res = await request(gateway!.url).get('/api/x');
    expect(res.status).to.equal(502);
    expect(res.body).to.include({ code: 'ERR_IDP_MALFORMED_RESPONSE' });
    expect(backend.received).to.have.length(0);
  });

  describe('ClientSecretCredential against the https emulator', () => {
    let idp: EntraEmulator;
    before(async () => {
      idp = await startEntraEmulator({ https: true });
    });
    afterEach(() => idp.reset());
    after(() => idp.close());

    const credential = (secret: string): ClientSecretCredential =>
      new ClientSecretCredential(DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, secret, {
        authorityHost: idp.url,
        disableInstanceDiscovery: true,
        tlsOptions: { ca: idp.ca },
      });

    it('forwards the token MSAL obtained, end to end', async () => {
      const auth = aadBackendAuth({ credential: credential(DEFAULT_CLIENT_SECRET), scope: 'api://orders/.default' });
      gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
      const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${gateway!.url}/api/x`)));
      expect(answers.every((r) => r.status === 200)).to.equal(true);
      const token = bearer(backend.received[0]!.headers.authorization)!;
      expect(idp.isIssued(token)).to.include({ clientId: DEFAULT_CLIENT_ID, audience: 'api://orders' });
      expect(idp.tokenRequests).to.have.length(1);
    });

    it('maps a wrong secret to 502 ERR_IDP_REJECTED, keeping the AADSTS code for operators', async () => {
      const auth = aadBackendAuth({ credential: credential('wrong-secret'), scope: 'api://orders/.default' });
      const errors: AadBackendAuthError[] = [];
      auth.tokenProvider.on('error', (error) => errors.push(error));
      gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
      const res = await request(gateway.url).get('/api/x');
      expect(res.status).to.equal(502);
      expect(res.body).to.include({ code: 'ERR_IDP_REJECTED' });
      expect(errors[0]?.oauth).to.include({ error: 'invalid_client', aadsts: 'AADSTS7000215' });
      expect(errors[0]?.message).to.include('AADSTS7000215');
      expect(idp.tokenRequests).to.have.length(1);
    });
  });
});
