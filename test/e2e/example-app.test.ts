import { expect } from 'chai';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import request from 'supertest';
import { signInAs } from '../helpers/example-sign-in.js';
import { createBackendApp } from '../../example-app/backend.js';
import { EXAMPLE_RESOURCE, EXAMPLE_ROLE, startExample, type RunningExample } from '../../example-app/example.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator } from '../../lib/testing/index.js';
import { close, listen } from '../helpers/servers.js';

const JSON_POST = { 'content-type': 'application/json' };

/** A token with the same claims and `kid` as `genuine`, signed with another RSA key. */
async function forge(genuine: string, changes: JWTPayload = {}): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  const { kid } = decodeProtectedHeader(genuine);
  return new SignJWT({ ...decodeJwt(genuine), ...changes }).setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(kid && { kid }) }).sign(privateKey);
}

describe('example-app: BFF + sample backend + emulator, in-process', () => {
  let example: RunningExample;
  const backendLog: string[] = [];
  before(async () => {
    example = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' }, { log: (source, line) => source === 'backend' && backendLog.push(line) });
  });
  after(() => example.close());

  it('serves the page and its script under a strict Content-Security-Policy', async () => {
    const page = await request(example.url).get('/');
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.match(/^text\/html/);
    expect(page.text).to.include('What the backend verified').and.include('src="app.js"');
    expect(page.headers['content-security-policy']).to.include("script-src 'self'");
    const script = await request(example.url).get('/app.js');
    expect(script.status).to.equal(200);
    expect(script.headers['content-type']).to.match(/javascript/);
  });

  it('GET /api/whoami goes through the BFF and returns the claims the backend verified', async () => {
    // The browser's own Authorization and cookies never reach the backend: the BFF replaces the one and drops the other.
    const res = await request(example.url).get('/api/whoami').set('Authorization', 'Bearer not-a-real-token').set('Cookie', 'session=1');
    expect(res.status).to.equal(200);
    const { claims, verification } = res.body as { claims: JWTPayload & Record<string, unknown>; verification: Record<string, unknown> };
    expect(claims.aud).to.equal(EXAMPLE_RESOURCE);
    expect(claims['roles']).to.deep.equal([EXAMPLE_ROLE]);
    expect(claims['appid']).to.equal(DEFAULT_CLIENT_ID);
    expect(claims['tid']).to.equal(DEFAULT_TENANT_ID);
    // The sample API is registered as v1 (Entra's default): sts.windows.net issuer, App ID URI audience, appid.
    expect(claims.iss).to.equal(example.emulator!.issuer(DEFAULT_TENANT_ID, 1));
    expect(claims['ver']).to.equal('1.0');
    expect(verification).to.include({ tokenVersion: '1.0' });
    expect(claims.exp! - claims.iat!).to.equal(120);
    expect(verification).to.include({ algorithm: 'RS256', audience: EXAMPLE_RESOURCE });
    // The claims are those of a token the emulator really issued.
    expect(example.emulator!.issued.map((t) => decodeJwt(t.token)['uti'])).to.include(claims['uti']);
  });

  it('GET /api/orders passes the Orders.Read guard; GET /api/admin gets 403 insufficient_scope', async () => {
    const orders = await request(example.url).get('/api/orders');
    expect(orders.status).to.equal(200);
    expect(orders.body.orders).to.have.length.greaterThan(0);
    expect(orders.body.grantedBy).to.equal('Orders.Read');

    const admin = await request(example.url).get('/api/admin');
    expect(admin.status).to.equal(403);
    expect(admin.headers['www-authenticate']).to.equal(
      'Bearer realm="aad-backend-auth-example", error="insufficient_scope", error_description="The token does not carry the app role Orders.Admin."',
    );
    expect(admin.body).to.include({ error: 'insufficient_scope', required_role: 'Orders.Admin' });
  });

  it('/_bff/status counts token requests and cache hits, and shows neither the token nor the secret', async () => {
    const before = (await request(example.url).get('/_bff/status')).body.stats;
    for (let i = 0; i < 3; i++) expect((await request(example.url).get('/api/whoami')).status).to.equal(200);
    const res = await request(example.url).get('/_bff/status');
    expect(res.status).to.equal(200);
    expect(res.headers['cache-control']).to.equal('no-store');
    const { stats, about, events } = res.body;
    expect(stats.tokenRequests).to.equal(1);
    expect(stats.cacheHits).to.equal(before.cacheHits + 3);
    expect(stats.failures).to.equal(0);
    expect(stats.secondsUntilExpiry).to.be.within(60, 120);
    expect(about).to.include({ mode: 'local', resource: EXAMPLE_RESOURCE, tokenLifetimeSeconds: 120, refreshWindowSeconds: 60 });
    expect(events[0]).to.include({ kind: 'token' });
    const token = example.emulator!.issued[0]!.token;
    expect(res.text).not.to.include(token);
    expect(res.text).not.to.include(token.split('.')[2]);
    expect(res.text).not.to.include(DEFAULT_CLIENT_SECRET);
  });

  it('sent straight to the backend: no token gets a bare challenge, a forged one 401 invalid_token', async () => {
    const none = await request(example.backendUrl).get('/whoami');
    expect(none.status).to.equal(401);
    // RFC 6750 §3.1: no error code when the request carried no credentials.
    expect(none.headers['www-authenticate']).to.equal('Bearer realm="aad-backend-auth-example"');

    const genuine = example.emulator!.issued[0]!.token;
    const ok = await request(example.backendUrl).get('/whoami').set('Authorization', `Bearer ${genuine}`);
    expect(ok.status).to.equal(200);

    const forged = await request(example.backendUrl).get('/whoami').set('Authorization', `Bearer ${await forge(genuine, { roles: ['Orders.Admin'] })}`);
    expect(forged.status).to.equal(401);
    expect(forged.headers['www-authenticate']).to.match(/^Bearer realm="aad-backend-auth-example", error="invalid_token", error_description="[^"]+"$/);
    expect(forged.body).to.include({ error: 'invalid_token', error_description: 'The token signature does not verify with the issuer keys.' });
  });

  it('shows an IdP refusal as 502 problem+json, forwards nothing, and recovers once healed', async () => {
    expect((await request(example.url).post('/_bff/demo/idp-refuses').send('x=1')).status).to.equal(415);
    expect((await request(example.url).post('/_bff/demo/idp-refuses').set(JSON_POST).send('{}')).status).to.equal(200);
    const reachedBackend = backendLog.length;
    expect(reachedBackend, 'the backend log records earlier calls').to.be.greaterThan(0);
    const res = await request(example.url).get('/api/whoami');
    expect(res.status).to.equal(502);
    expect(res.headers['content-type']).to.equal('application/problem+json');
    expect(JSON.parse(res.text)).to.include({ code: 'ERR_IDP_REJECTED' });
    expect(backendLog.slice(reachedBackend)).to.deep.equal([]);
    const status = (await request(example.url).get('/_bff/status')).body;
    expect(status.stats.lastErrorCode).to.equal('ERR_IDP_REJECTED');
    expect(status.lastError).to.include({ code: 'ERR_IDP_REJECTED', aadsts: 'AADSTS7000215' });

    await request(example.url).post('/_bff/demo/heal').set(JSON_POST).send('{}');
    // A failure is remembered for failureCooldownMs (2 s by default).
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await request(example.url).get('/api/whoami')).status).to.equal(200);
  });

  it('refreshes in the background ahead of expiry (a 6 s token, refreshed after 3 s)', async () => {
    const quick = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' }, { tokenLifetimeSeconds: 6 });
    const tokenRequests = async (): Promise<number> => (await request(quick.url).get('/_bff/status')).body.stats.tokenRequests;
    try {
      const first = await request(quick.url).get('/api/whoami');
      await new Promise((resolve) => setTimeout(resolve, 3100));
      // Past the refresh point (3 s), before the token stops being used (5.4 s): this request
      // is served the current token and starts a refresh.
      const second = await request(quick.url).get('/api/whoami');
      expect(second.body.claims.uti).to.equal(first.body.claims.uti);
      for (let i = 0; i < 50 && (await tokenRequests()) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const third = await request(quick.url).get('/api/whoami');
      expect(third.body.claims.uti).not.to.equal(first.body.claims.uti);
      const { stats, events } = (await request(quick.url).get('/_bff/status')).body;
      expect(stats).to.include({ tokenRequests: 2, refreshes: 1, failures: 0 });
      expect(events.map((e: { kind: string }) => e.kind)).to.deep.equal(['token', 'refresh', 'token']);
    } finally {
      await quick.close();
    }
  });
});

describe('example-app: the sample backend checks every part of the token', () => {
  const issuer = 'https://login.example.test/tenant/v2.0';
  const audience = 'api://orders';
  let keys: Awaited<ReturnType<typeof generateKeyPair>>;
  let jwksServer: http.Server;
  let backend: http.Server;
  let backendUrl: string;

  before(async () => {
    keys = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwksServer = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    const jwksUrl = await listen(jwksServer);
    backend = http.createServer(createBackendApp({ issuer, jwksUri: `${jwksUrl}/keys`, audience }));
    backendUrl = await listen(backend);
  });
  after(async () => {
    await close(backend);
    await close(jwksServer);
  });

  const sign = (claims: JWTPayload = {}, lifetimeSeconds = 300): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: issuer, aud: audience, iat: now, nbf: now, exp: now + lifetimeSeconds, roles: ['Orders.Read'], ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(keys.privateKey);
  };
  const call = (authorization: string): Promise<request.Response> => request(backendUrl).get('/orders').set('Authorization', authorization);

  it('accepts a good token', async () => {
    expect((await call(`Bearer ${await sign()}`)).status).to.equal(200);
  });

  it('refuses expired, wrong-audience, wrong-issuer and HS256 tokens with 401 invalid_token', async () => {
    const cases: [string, string][] = [
      [await sign({}, -120), 'The token has expired.'],
      [await sign({ aud: 'api://someone-else' }), 'The "aud" claim is not acceptable (check_failed).'],
      [await sign({ iss: 'https://login.example.test/other/v2.0' }), 'The "iss" claim is not acceptable (check_failed).'],
      [await new SignJWT({ iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 60 }).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32)), 'The token is not signed with RS256.'],
    ];
    for (const [token, description] of cases) {
      const res = await call(`Bearer ${token}`);
      expect(res.status, description).to.equal(401);
      expect(res.body).to.deep.equal({ error: 'invalid_token', error_description: description });
      expect(res.headers['www-authenticate']).to.include('error="invalid_token"');
    }
  });

  it('answers 400 invalid_request to a malformed Bearer header, and a bare 401 to another scheme', async () => {
    const malformed = await call('Bearer two words');
    expect(malformed.status).to.equal(400);
    expect(malformed.headers['www-authenticate']).to.include('error="invalid_request"');
    const basic = await call('Basic dXNlcjpwYXNz');
    expect(basic.status).to.equal(401);
    expect(basic.headers['www-authenticate']).to.equal('Bearer realm="aad-backend-auth-example"');
  });

  it('answers 503, not 401, when the signing keys cannot be fetched', async () => {
    const unreachable = http.createServer(createBackendApp({ issuer, jwksUri: 'http://127.0.0.1:9/keys', audience }));
    const url = await listen(unreachable);
    try {
      const res = await request(url).get('/whoami').set('Authorization', `Bearer ${await sign()}`);
      expect(res.status).to.equal(503);
      expect(res.body).to.include({ error: 'temporarily_unavailable' });
    } finally {
      await close(unreachable);
    }
  });
});

describe('example-app in Entra ID mode, pointed at an emulator', () => {
  it('takes the same code path with AZURE_* settings: client secret, authority host, BACKEND_URL and BACKEND_RESOURCE', async () => {
    const resource = 'api://orders-elsewhere';
    const idp = await startEntraEmulator({ resources: [{ audience: resource, appRoles: { [DEFAULT_CLIENT_ID]: ['Orders.Read'] } }] });
    const backend = http.createServer(createBackendApp({ issuer: idp.issuer(DEFAULT_TENANT_ID, 1), jwksUri: idp.jwksUri, audience: resource }));
    const backendUrl = await listen(backend);
    const example = await startExample({
      mode: 'azure',
      port: 0,
      host: '127.0.0.1',
      backendUrl,
      backendResource: resource,
      userScope: `${resource}/.default`,
      credential: { kind: 'client-secret', tenantId: DEFAULT_TENANT_ID, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, authorityHost: idp.url },
    });
    try {
      expect(example.emulator).to.equal(undefined);
      const res = await request(example.url).get('/api/whoami');
      expect(res.status).to.equal(200);
      expect(res.body.claims.aud).to.equal(resource);
      const status = (await request(example.url).get('/_bff/status')).body;
      expect(status.about).to.include({ mode: 'azure', identityProvider: idp.url, resource, refreshWindowSeconds: 300 });
      expect(status.demo).to.equal(false);
      // No demo switches outside local mode.
      expect((await request(example.url).post('/_bff/demo/idp-refuses').set(JSON_POST).send('{}')).status).to.equal(404);
      // Users sign in with the same openid-client code, at "Entra ID" (here the emulator, whose first user signs in).
      const { cookie } = await signInAs(example.url);
      const me = await request(example.url).get('/api/me').set('Cookie', cookie).set('x-csrf', '1');
      expect(me.status, me.text).to.equal(200);
      expect(me.body.claims).to.include({ aud: resource, upn: 'test.user@contoso.example' });
      const session = (await request(example.url).get('/_bff/session').set('Cookie', cookie)).body;
      expect(session).to.include({ signedIn: true, canRevoke: false });
      expect(session.users).to.deep.equal([]);
      expect((await request(example.url).post('/_bff/session/revoke').set('Cookie', cookie).set(JSON_POST).send('{}')).status).to.equal(404);
    } finally {
      await example.close();
      await close(backend);
      await idp.close();
    }
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Started {
  /** Resolves once stdout matches `pattern`. */
  waitFor(pattern: RegExp): Promise<string>;
  readonly exited: Promise<Run>;
  stop(): void;
}

/** Runs `npm start`'s command (tsx example-app/server.ts) with only `env` configured. */
function startServer(env: Record<string, string>, timeoutMs = 20_000): Started {
  const inherited = Object.entries(process.env).filter(([name]) => !/^(AZURE_|BACKEND_|PORT$|HOST$)/.test(name));
  const child = spawn(process.execPath, ['--import', 'tsx', 'example-app/server.ts'], {
    env: { ...Object.fromEntries(inherited), NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (run.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<Run>((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      run.code = code;
      resolve(run);
    });
  });
  return {
    exited,
    stop: () => child.kill('SIGTERM'),
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(run.stdout)) resolve(run.stdout);
        };
        child.stdout.on('data', check);
        void exited.then(() => reject(new Error(`server exited with ${run.code}: ${run.stderr}`)));
        check();
      }),
  };
}

describe('example-app/server.ts (npm start)', function () {
  this.timeout(30_000);

  it('reports each half-set configuration in one line, exit code 1, no stack trace, no secret', async () => {
    const secret = 'do-not-print-this-secret-7f3a';
    const cases: [Record<string, string>, RegExp][] = [
      [{ AZURE_TENANT_ID: 'contoso.onmicrosoft.com' }, /AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, BACKEND_URL and BACKEND_RESOURCE are missing \(AZURE_TENANT_ID is set\)/],
      [
        { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: secret, BACKEND_RESOURCE: 'api://orders' },
        /BACKEND_URL is missing \(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and BACKEND_RESOURCE are set\)/,
      ],
      [{ AZURE_USE_DEFAULT_CREDENTIAL: '1', BACKEND_URL: 'https://orders.example.com' }, /BACKEND_RESOURCE is missing \(AZURE_USE_DEFAULT_CREDENTIAL=1 and BACKEND_URL are set\)/],
      [{ PORT: 'eighty' }, /PORT must be a number from 0 to 65535, got "eighty"/],
      [
        { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: secret, BACKEND_URL: 'https://orders.example.com', BACKEND_RESOURCE: 'api://orders', HOST: '0.0.0.0' },
        /HOST=0\.0\.0\.0 would let other machines call BACKEND_URL with your Entra ID app token through the BFF\. .*ALLOW_REMOTE_HOST=1/,
      ],
      [
        { AZURE_USE_DEFAULT_CREDENTIAL: '1', BACKEND_URL: 'http://orders.example.com', BACKEND_RESOURCE: 'api://orders' },
        /BACKEND_URL must be https \(http only for localhost, 127\.0\.0\.1 or \[::1\]\)/,
      ],
    ];
    const runs = await Promise.all(cases.map(([env]) => startServer(env).exited));
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).to.equal(1);
      const lines = run.stderr.split('\n').filter((line) => line !== '');
      expect(lines, run.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^example-app: /).and.match(cases[i]![1]);
      expect(run.stderr).not.to.match(/\bat .+:\d+:\d+/);
      expect(run.stderr + run.stdout).not.to.include(secret);
    });
  });

  it('says so in one line when the port is taken', async () => {
    const blocker = http.createServer();
    await listen(blocker);
    const { port } = blocker.address() as AddressInfo;
    try {
      const run = await startServer({ PORT: String(port) }).exited;
      expect(run.code).to.equal(1);
      expect(run.stderr.trim()).to.equal(`example-app: Port ${port} is already in use on 127.0.0.1. Stop what runs there, or pick another port: PORT=${port + 1} npm start`);
    } finally {
      await close(blocker);
    }
  });

  it('with no Azure variables starts locally, prints what to open, serves the page, and stops on SIGTERM', async () => {
    const server = startServer({ PORT: '0' });
    try {
      const stdout = await server.waitFor(/Press Ctrl\+C/);
      expect(stdout).to.include('local mode').and.match(/Entra ID\s+http:\/\/127\.0\.0\.1:\d+/).and.match(/Backend\s+http:\/\/127\.0\.0\.1:\d+/);
      const page = /Open\s+http:\/\/localhost:(\d+)/.exec(stdout)?.[1];
      expect(page).to.be.a('string');
      const whoami = await fetch(`http://127.0.0.1:${page}/api/whoami`);
      expect(whoami.status).to.equal(200);
      expect(((await whoami.json()) as { claims: JWTPayload }).claims.aud).to.equal(EXAMPLE_RESOURCE);
      // The middleware's and the backend's log lines go to stdout.
      await server.waitFor(/\[backend\] GET \/whoami → 200/);
    } finally {
      server.stop();
    }
    const run = await server.exited;
    expect(run.code).to.equal(0);
    expect(run.stderr).to.equal('');
  });
});
