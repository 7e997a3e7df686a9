import { expect } from 'chai';
import { execFile } from 'node:child_process';
import http, { type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { aadBackendAuth } from '../../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { CAE_CLAIMS } from '../helpers/client-checks.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { claimsChallenge, startScriptedBackend, type ScriptedBackend } from '../helpers/scripted-backend.js';
import { close, listen } from '../helpers/servers.js';
import { emulatorOptions } from '../helpers/setup.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** A token endpoint on loopback that answers by a script: the form of each request, and the answer. */
interface ScriptedIdp {
  readonly url: string;
  readonly forms: URLSearchParams[];
  close(): Promise<void>;
}

type IdpAnswer = { readonly status: number; readonly body: object; readonly delayMs?: number };

async function startScriptedIdp(answer: (form: URLSearchParams, index: number) => IdpAnswer): Promise<ScriptedIdp> {
  const forms: URLSearchParams[] = [];
  const server: Server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      forms.push(form);
      const { status, body, delayMs = 0 } = answer(form, forms.length - 1);
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      }, delayMs);
    });
  });
  const url = await listen(server);
  return { url, forms, close: () => close(server) };
}

const tokenAnswer = (index: number, expiresIn = 3599): IdpAnswer => ({
  status: 200,
  body: { token_type: 'Bearer', expires_in: expiresIn, access_token: `app-token-${index}` },
});

/** What Entra answers when a client-credentials request cannot meet the claims (an authentication context, say). */
const CLAIMS_REFUSED: IdpAnswer = {
  status: 400,
  body: { error: 'invalid_grant', error_description: 'AADSTS50076: the claims cannot be satisfied by this grant.', error_codes: [50076] },
};

const challengeClaims = (form: URLSearchParams): Record<string, unknown> | undefined => {
  const claims = form.get('claims');
  return claims === null ? undefined : ((JSON.parse(claims) as { access_token?: Record<string, unknown> }).access_token ?? {});
};
const asksForNbf = (form: URLSearchParams): boolean => challengeClaims(form)?.['nbf'] !== undefined;

describe('a backend\'s claims challenge cannot break a target (issue 17, item 2)', () => {
  let backend: ScriptedBackend;
  let gateway: Gateway;
  let auth: ReturnType<typeof aadBackendAuth>;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await auth.tokenProvider.close();
    await gateway.close();
    await backend.close();
    for (const closeOne of closers.splice(0)) await closeOne();
  });

  /** A backend whose `/strict` route always challenges for claims no app can get; everything else answers 200. */
  async function startStack(options: Parameters<typeof aadBackendAuth>[0]): Promise<void> {
    backend = await startScriptedBackend((r) => (r.url.startsWith('/strict') ? claimsChallenge(CAE_CLAIMS) : undefined));
    auth = aadBackendAuth(options);
    gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
  }

  /** The scripted IdP refusing any request that carries the challenge's claims. */
  async function refusingIdp(refusalDelayMs = 0): Promise<ScriptedIdp> {
    const idp = await startScriptedIdp((form, i) => (asksForNbf(form) ? { ...CLAIMS_REFUSED, delayMs: refusalDelayMs } : tokenAnswer(i)));
    closers.push(() => idp.close());
    await startStack({
      tenantId: DEFAULT_TENANT_ID, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, authorityHost: idp.url, resource: 'api://orders',
      cache: undefined, clientCapabilities: ['cp1'],
    });
    return idp;
  }

  const get = async (path: string): Promise<number> => (await fetch(`${gateway.url}/api${path}`)).status;

  it('without clientCapabilities, insufficient_claims is a plain 401: the token is evicted and the next token request carries no claims', async () => {
    const idp: EntraEmulator = await startEntraEmulator();
    closers.push(() => idp.close());
    await startStack(emulatorOptions(idp));
    expect(await get('/strict')).to.equal(401);
    expect(await get('/orders')).to.equal(200);
    expect(idp.tokenRequests).to.have.length(2); // evicted, as for any 401
    expect(idp.tokenRequests.map((r) => r.form.claims)).to.deep.equal([undefined, undefined]);
    expect(idp.isIssued(backend.received[1]!.token!)?.claims).to.equal(undefined);
  });

  it('with clientCapabilities, an IdP refusing the claims costs one token request: the next request gets a normal token, and the failure is not remembered', async () => {
    const idp = await refusingIdp();
    expect(await get('/orders')).to.equal(200);
    expect(await get('/strict')).to.equal(401);
    // The one token request that carries the challenge: the IdP refuses it, and this request alone gets the error.
    expect(await get('/orders')).to.equal(502);
    expect(asksForNbf(idp.forms[1]!)).to.equal(true);
    // At once, inside failureCooldownMs: a new, ordinary token request (the capabilities only), and 200.
    expect(await get('/orders')).to.equal(200);
    expect(idp.forms).to.have.length(3);
    expect(challengeClaims(idp.forms[2]!)).to.deep.equal({ xms_cc: { values: ['cp1'] } });
    expect(backend.received.at(-1)!.token).to.equal('app-token-2');
    expect(auth.tokenProvider.health().status).to.equal('ok');
  });

  it('with clientCapabilities, the callers that waited on the refused request share its one error; later callers do not', async () => {
    const idp = await refusingIdp(300);
    expect(await get('/strict')).to.equal(401);
    const statuses = await Promise.all(Array.from({ length: 5 }, () => get('/orders')));
    expect(statuses).to.deep.equal([502, 502, 502, 502, 502]);
    expect(idp.forms.filter(asksForNbf)).to.have.length(1);
    expect(await Promise.all(Array.from({ length: 5 }, () => get('/orders')))).to.deep.equal([200, 200, 200, 200, 200]);
    expect(idp.forms).to.have.length(3);
  });

  it('a pending challenge expires after 5 minutes', async () => {
    const idp = await refusingIdp();
    expect(await get('/strict')).to.equal(401);
    // Date only, to skip the wait: everything else runs on real time.
    const realNow = Date.now;
    Date.now = () => realNow() + 5 * 60_000 + 1000;
    try {
      expect(await get('/orders')).to.equal(200);
    } finally {
      Date.now = realNow;
    }
    expect(idp.forms).to.have.length(2);
    expect(asksForNbf(idp.forms[1]!)).to.equal(false);
  });

  it('a pending challenge within 5 minutes is still carried', async () => {
    const idp = await refusingIdp();
    expect(await get('/strict')).to.equal(401);
    const realNow = Date.now;
    Date.now = () => realNow() + 4 * 60_000;
    try {
      expect(await get('/orders')).to.equal(502);
    } finally {
      Date.now = realNow;
    }
    expect(asksForNbf(idp.forms[1]!)).to.equal(true);
  });

  it('invalidate() drops every pending challenge', async () => {
    const idp = await refusingIdp();
    expect(await get('/strict')).to.equal(401);
    auth.tokenProvider.invalidate();
    expect(await get('/orders')).to.equal(200);
    expect(idp.forms).to.have.length(2);
    expect(asksForNbf(idp.forms[1]!)).to.equal(false);
  });

  it('invalidate(token) drops the challenge made to that token, and another token leaves it', async () => {
    const idp = await refusingIdp();
    expect(await get('/strict')).to.equal(401);
    auth.tokenProvider.invalidate('some-other-token');
    expect(await get('/orders')).to.equal(502);
    expect(await get('/strict')).to.equal(401); // challenged again (app-token-2)
    const challenged = backend.received.at(-1)!.token!;
    expect(challenged).to.equal('app-token-2');
    auth.tokenProvider.invalidate(challenged);
    expect(await get('/orders')).to.equal(200);
    expect(idp.forms.map(asksForNbf)).to.deep.equal([false, true, false, false]);
  });
});

describe('a script awaiting a token does not exit mid-retry (issue 17, item 10)', () => {
  let idp: ScriptedIdp;
  afterEach(() => idp.close());

  async function runScript(body: string, timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
    const script = `
      import { createTokenProvider } from './lib/index.ts';
      const provider = createTokenProvider({ tenantId: '${DEFAULT_TENANT_ID}', clientId: '${DEFAULT_CLIENT_ID}', clientSecret: process.env.SECRET,
        authorityHost: process.env.IDP, resource: 'api://orders', timeoutMs: ${timeoutMs}, cache: undefined });
      ${body}
    `;
    const env = { ...process.env, SECRET: DEFAULT_CLIENT_SECRET, IDP: idp.url };
    const started = Date.now();
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { cwd: root, env, timeout: 15_000 });
      return { code: 0, stdout, stderr, ms: Date.now() - started };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', ms: Date.now() - started };
    }
  }

  it('an IdP that fails once: the script waits for the retry, prints the token and exits 0 with nothing holding it', async () => {
    idp = await startScriptedIdp((_, i) => (i === 0 ? { status: 503, body: { error: 'temporarily_unavailable' } } : tokenAnswer(i)));
    const result = await runScript(`
      const token = await provider.getToken();
      console.log('token:' + token.token);
      // Nothing of the provider keeps the process alive once the caller has its token.
      console.log('timers:' + process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length);
    `);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include('token:app-token-1');
    expect(result.stdout).to.include('timers:0');
    expect(idp.forms).to.have.length(2);
  });

  it('an IdP that keeps failing: the script gets the error within timeoutMs and exits 0', async () => {
    idp = await startScriptedIdp(() => ({ status: 503, body: { error: 'temporarily_unavailable' } }));
    const result = await runScript(`
      try {
        await provider.getToken();
      } catch (error) {
        console.log('code:' + error.code);
      }
    `, 1500);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include('code:ERR_IDP_UNAVAILABLE');
    expect(idp.forms.length).to.be.above(1);
    expect(result.ms).to.be.below(10_000);
  });

  it('a background refresh retrying against a failing IdP never holds the process open', async () => {
    idp = await startScriptedIdp((_, i) => (i === 0 ? tokenAnswer(i, 4) : { status: 503, body: { error: 'temporarily_unavailable' } }));
    const result = await runScript(`
      const first = await provider.getToken();
      await new Promise((resolve) => setTimeout(resolve, first.refreshAfterTimestamp - Date.now() + 50));
      const served = await provider.getToken(); // cached; starts the refresh in the background
      console.log('served:' + (served.token === first.token));
    `);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include('served:true');
    expect(idp.forms.length).to.be.above(1); // the refresh was tried
    // Well before the refresh's timeoutMs (20 s) gives up.
    expect(result.ms).to.be.below(8000);
  });
});
