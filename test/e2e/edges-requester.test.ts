// Trust at the edges of the token request (issue 17, items 1, 6 and 7): only the IdP's own
// answer, over TLS to the IdP, becomes a token, whatever carries the request (HTTPS_PROXY, the
// `proxy` option, a user's `agent`); a token answer is a 200; a secret is scrubbed in every
// spelling an IdP may echo; proxy credentials reach no log, even with DEBUG=*.
// The token endpoint is `https://idp.test:<port>`, a TLS front on loopback that only the honest
// proxy (or an agent with its own lookup) can reach, so a token proves which path it took.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { AadBackendAuthError, createTokenProvider, MemoryTokenCache, type TokenProvider, type TokenProviderOptions } from '../../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { startHostileIdp, type HostileIdp } from '../helpers/hostile-servers.js';
import { startOboStack } from '../helpers/on-behalf-of.js';
import { startHonestProxy, startHostileProxy, startTlsFront, type HonestProxy, type HostileProxy, type TlsFront } from '../helpers/tunnel-rig.js';
import { saveEnv } from '../helpers/saved-env.js';

const IDP_HOST = 'idp.test';
const ENV = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'] as const;
const PROXY_TOKEN = 'chosen.by.the.proxy';
/** What a hostile proxy sends: a valid token answer, and an OAuth error too, so any parse of it shows. */
const PROXY_BODY = JSON.stringify({ token_type: 'Bearer', expires_in: 3600, access_token: PROXY_TOKEN, error: 'invalid_client', error_description: 'proxy-wrote-this' });
const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Resolves every name to 127.0.0.1: the agent's own DNS, as a PAC or sidecar setup would have. */
const toLoopback: LookupFunction = (_hostname, options, callback) => {
  if ((options as { all?: boolean }).all === true) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

describe('trust at the edges of the token request', () => {
  let idp: EntraEmulator;
  let front: TlsFront;
  let honest: HonestProxy;
  let hostile: HostileProxy;
  const providers: TokenProvider[] = [];
  /** What the providers logged: a retried failure's reason shows here when the deadline cut the last attempt short. */
  const logged: string[] = [];
  const logger = { debug: (line: string) => logged.push(line), info: (line: string) => logged.push(line), warn: (line: string) => logged.push(line), error: (line: string) => logged.push(line) };
  let restoreEnv: () => void = () => undefined;

  before(async () => {
    idp = await startEntraEmulator();
    front = await startTlsFront(idp, IDP_HOST);
    honest = await startHonestProxy(IDP_HOST, front.port);
    hostile = await startHostileProxy({ status: 201, body: PROXY_BODY });
    restoreEnv = saveEnv(ENV);
  });

  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    restoreEnv();
    honest.connects.length = 0;
    honest.authorizations.length = 0;
    honest.requireAuthorization = undefined;
    hostile.connects.length = 0;
    logged.length = 0;
    idp.reset();
  });

  after(async () => {
    await Promise.all([honest.close(), hostile.close(), front.close(), idp.close()]);
  });

  function provider(options: Partial<TokenProviderOptions>): TokenProvider {
    const created = createTokenProvider({
      tenantId: DEFAULT_TENANT_ID,
      clientId: DEFAULT_CLIENT_ID,
      clientSecret: DEFAULT_CLIENT_SECRET,
      authorityHost: `https://${IDP_HOST}:${front.port}`,
      resource: 'api://orders',
      cache: new MemoryTokenCache(),
      failureCooldownMs: 0,
      timeoutMs: 800,
      logger,
      ...options,
    } as TokenProviderOptions);
    providers.push(created);
    return created;
  }

  async function failure(p: TokenProvider): Promise<AadBackendAuthError> {
    const outcome: unknown = await p.getToken().then(
      (token) => expect.fail(`a token was issued: ${token.token}`),
      (e: unknown) => e,
    );
    expect(outcome).to.be.instanceOf(AadBackendAuthError);
    return outcome as AadBackendAuthError;
  }

  /** The proxy's answer was neither taken as a token nor read as an OAuth error. */
  function expectRefusedTunnel(error: AadBackendAuthError, channel: RegExp): void {
    expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE', status: 503 });
    expect(error.oauth, 'the body of the proxy answer was parsed').to.equal(undefined);
    expect([error.message, ...logged].some((line) => channel.test(line)), `${error.message} / ${logged.join(' / ')}`).to.equal(true);
    expect(`${error.message} ${inspect(error)} ${logged.join('\n')}`).to.not.include('proxy-wrote-this').and.not.include(PROXY_TOKEN);
  }

  describe('a proxy cannot hand us a token (item 1)', () => {
    const answers: [string, number, Record<string, string>][] = [
      ['201 Created', 201, {}],
      ['203 Non-Authoritative', 203, {}],
      ['206 Partial Content', 206, {}],
      ['407 Proxy Authentication Required', 407, { 'proxy-authenticate': 'Basic realm="corp"' }],
      ['403 Forbidden', 403, {}],
      ['302 Found', 302, { location: 'http://127.0.0.1:1/' }],
      ['500 Internal Server Error', 500, {}],
    ];
    const modes: [string, (url: string) => Partial<TokenProviderOptions>, RegExp][] = [
      [
        'https_proxy from the environment',
        (url) => {
          process.env.https_proxy = url;
          return {};
        },
        /refused CONNECT/,
      ],
      ['the `proxy` option', (url) => ({ proxy: url }), /refused CONNECT/],
      // The user's own agent replays the refusal on a plain socket: the TLS rule refuses it.
      ['a user-supplied HttpsProxyAgent', (url) => ({ agent: new HttpsProxyAgent(url) }), /not over a TLS connection/],
    ];
    for (const [mode, configure, channel] of modes) {
      describe(mode, () => {
        for (const [name, status, headers] of answers) {
          it(`CONNECT answered ${name} with a token body: 503, body unread, nothing cached`, async () => {
            hostile.answer = { status, headers, body: PROXY_BODY };
            const p = provider(configure(hostile.url));
            expectRefusedTunnel(await failure(p), channel);
            expect(hostile.connects[0]).to.equal(`CONNECT ${IDP_HOST}:${front.port} HTTP/1.1`);
            expectRefusedTunnel(await failure(p), channel);
            expect(idp.tokenRequests).to.have.length(0);
          });
        }
      });
    }

    it('once the environment names an honest proxy, the next request gets an IdP token (nothing of the hostile one was kept)', async () => {
      hostile.answer = { status: 201, body: PROXY_BODY };
      process.env.https_proxy = hostile.url;
      const p = provider({ ca: front.ca.certificate });
      expectRefusedTunnel(await failure(p), /refused CONNECT/);
      process.env.https_proxy = honest.url;
      const { token } = await p.getToken();
      expect(token).to.not.equal(PROXY_TOKEN);
      expect(idp.isIssued(token)).to.not.equal(undefined);
      expect(honest.connects).to.deep.equal([`${IDP_HOST}:${front.port}`]);
    });
  });

  describe("a user's agent: only a verified TLS connection to the token endpoint's host counts (item 1)", () => {
    it('an agent with its own DNS and CA reaches the IdP directly and gets a token', async () => {
      const agent = new https.Agent({ ca: front.ca.certificate, lookup: toLoopback });
      const { token } = await provider({ agent }).getToken();
      expect(idp.isIssued(token)).to.not.equal(undefined);
    });

    it('resumed TLS sessions (no certificate to read) still count when they continue a verified handshake for the host', async () => {
      const sockets: import('node:tls').TLSSocket[] = [];
      class Recording extends https.Agent {
        override createConnection(...args: Parameters<https.Agent['createConnection']>): ReturnType<https.Agent['createConnection']> {
          const socket = super.createConnection(...args) as import('node:tls').TLSSocket;
          sockets.push(socket);
          return socket;
        }
      }
      // No keep-alive: every token request opens a new connection, which resumes the cached session.
      const p = provider({ agent: new Recording({ ca: front.ca.certificate, lookup: toLoopback, keepAlive: false }) });
      for (let i = 0; i < 3; i++) {
        const { token } = await p.getToken();
        expect(idp.isIssued(token)).to.not.equal(undefined);
        p.invalidate();
      }
      expect(sockets.length).to.be.at.least(3);
      expect(sockets.some((socket) => socket.isSessionReused()), 'a session was resumed').to.equal(true);
    });

    it('an agent that turns certificate checks off gets no token: 503', async () => {
      const agent = new https.Agent({ rejectUnauthorized: false, lookup: toLoopback });
      const error = await failure(provider({ agent }));
      expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE' });
      expect(error.message).to.match(/certificate was not verified/);
    });

    it('an agent whose TLS peer holds a trusted certificate for another name (the proxy\'s, say) gets no token: 503', async () => {
      const other = await startTlsFront(idp, 'proxy.test');
      try {
        // A lax identity check lets the handshake pass; the answer still does not come from idp.test.
        const agent = new https.Agent({ ca: other.ca.certificate, lookup: toLoopback, checkServerIdentity: () => undefined });
        const error = await failure(provider({ agent, authorityHost: `https://${IDP_HOST}:${other.port}` }));
        expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE' });
        expect(error.message, error.message).to.match(/does not name idp\.test/);
      } finally {
        await other.close();
      }
    });
  });

  describe('a token answer is HTTP 200, for every grant (item 1)', () => {
    const tokenJson = { token_type: 'Bearer', expires_in: 3599, access_token: 'not.a.200.token' };
    for (const status of [201, 202, 203]) {
      it(`a ${status} with a valid token body is 502 ERR_IDP_MALFORMED_RESPONSE (client credentials)`, async () => {
        idp.fail({ kind: 'body', status, body: tokenJson }, Infinity);
        const error = await failure(provider({ authorityHost: idp.url }));
        expect(error).to.include({ code: 'ERR_IDP_MALFORMED_RESPONSE', status: 502, idpStatus: status });
      });
    }

    it('a 204 is 502 ERR_IDP_MALFORMED_RESPONSE', async () => {
      idp.fail({ kind: 'status', status: 204 }, Infinity);
      const error = await failure(provider({ authorityHost: idp.url }));
      expect(error).to.include({ code: 'ERR_IDP_MALFORMED_RESPONSE', idpStatus: 204 });
    });

    it('a 201 to the on-behalf-of exchange is a 502 and nothing reaches the backend', async () => {
      const stack = await startOboStack();
      try {
        const userToken = await stack.idp.issueUserToken({ oid: 'alice-oid' });
        stack.idp.fail({ kind: 'body', status: 201, body: tokenJson }, Infinity);
        const res = await fetch(`${stack.gateway.url}/api/me`, { headers: { authorization: `Bearer ${userToken}` } });
        expect(res.status).to.equal(502);
        expect(((await res.json()) as { code?: string }).code).to.equal('ERR_IDP_MALFORMED_RESPONSE');
        expect(stack.backend.received).to.have.length(0);
      } finally {
        await stack.close();
      }
    });
  });

  describe('the secret is scrubbed in every form an IdP may echo (item 6)', () => {
    // Entra secrets contain `~`; `+`, space, `/` and `=` each change under some encoding.
    const SECRET = 'Q8~x+y z/w=v~Ab.Cd_E-f';
    let echo: HostileIdp;
    before(async () => {
      echo = await startHostileIdp(idp, (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const authorization = req.headers.authorization ?? '';
          const basic = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString('utf8');
          const decoded = new URLSearchParams(body).get('client_secret') ?? decodeURIComponent(basic.slice(basic.indexOf(':') + 1).replaceAll('+', ' '));
          const description = `AADSTS7000215: Invalid client secret. body=${body} authorization=${authorization} basic=${basic} raw=${decoded} percent=${encodeURIComponent(decoded)}`;
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'invalid_client', error_description: description, trace_id: body, correlation_id: authorization }));
        });
      });
    });
    after(() => echo.close());

    const forms = (): string[] => {
      const form = new URLSearchParams({ s: SECRET }).toString().slice(2);
      const basic = Buffer.from(`${DEFAULT_CLIENT_ID}:${form}`).toString('base64');
      return [SECRET, form, encodeURIComponent(SECRET), basic, form.toLowerCase(), 'Q8%7Ex', 'Q8%7ex'];
    };

    for (const clientAuthentication of ['client_secret_post', 'client_secret_basic'] as const) {
      it(`${clientAuthentication}: raw, form-encoded, percent-encoded and Basic forms never show`, async () => {
        const error = await failure(provider({ authorityHost: echo.url, clientSecret: SECRET, clientAuthentication }));
        expect(error).to.include({ code: 'ERR_IDP_REJECTED' });
        expect(error.oauth?.description, 'the IdP echoed the request').to.include('[REDACTED]').and.include('Invalid client secret');
        const shown = [error.message, error.stack ?? '', inspect(error, { depth: Infinity, showHidden: true }), JSON.stringify(error), JSON.stringify(error.oauth)].join('\n');
        for (const form of forms()) expect(shown, `the secret as ${form}`).to.not.include(form);
      });
    }
  });

  describe('proxy credentials reach no log (item 7)', () => {
    const USER = 'gate way';
    const PASSWORD = 'p@ss~w0rd:x';
    it('with DEBUG=*, neither the password nor the Proxy-Authorization value is printed, and the proxy gets them right', async () => {
      const authorization = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      honest.requireAuthorization = authorization;
      const proxyUrl = new URL(honest.url);
      proxyUrl.username = encodeURIComponent(USER);
      proxyUrl.password = encodeURIComponent(PASSWORD);
      const script = `
        import { createTokenProvider } from './lib/index.ts';
        const provider = createTokenProvider({ tenantId: process.env.TENANT, clientId: process.env.CLIENT, clientSecret: process.env.SECRET,
          authorityHost: process.env.IDP, resource: 'api://orders', proxy: process.env.PROXY, ca: process.env.CA, timeoutMs: 5000 });
        const { token } = await provider.getToken();
        console.log('got a token of', token.length, 'characters');
        await provider.close();
      `;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DEBUG: '*',
        DEBUG_COLORS: 'no',
        TENANT: DEFAULT_TENANT_ID,
        CLIENT: DEFAULT_CLIENT_ID,
        SECRET: DEFAULT_CLIENT_SECRET,
        IDP: `https://${IDP_HOST}:${front.port}`,
        PROXY: proxyUrl.href,
        CA: front.ca.certificate,
      };
      for (const name of ENV) delete env[name];
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { cwd: root, env, timeout: 15_000 });
      expect(stdout).to.include('got a token');
      expect(stderr, 'debug output was on').to.include('https-proxy-agent');
      expect(honest.authorizations).to.deep.equal([authorization]);
      const output = `${stdout}\n${stderr}`;
      for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), proxyUrl.password, authorization.slice('Basic '.length)]) {
        expect(output, `the proxy password as ${secret}`).to.not.include(secret);
      }
      expect(output).to.not.match(/proxy-authorization/i);
    });

    it('a proxy URL with credentials never shows in util.inspect of the errors either', async () => {
      const error = await failure(provider({ proxy: `http://${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}@127.0.0.1:1` }));
      expect(error.code).to.equal('ERR_IDP_UNAVAILABLE');
      expect(`${inspect(error, { depth: Infinity, showHidden: true })} ${JSON.stringify(error)}`).to.not.include(encodeURIComponent(PASSWORD));
    });
  });
});
