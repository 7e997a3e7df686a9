import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** A consumer that gets a real token from the emulator through the installed package. */
const consumerBody = `
  const idp = await startEntraEmulator();
  const provider = createTokenProvider({
    tenantId: DEFAULT_TENANT_ID, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET,
    authorityHost: idp.url, resource: 'api://orders',
  });
  const token = await provider.getToken();
  let code;
  try { aadBackendAuth({ tenantId: 'common', clientId: 'c', clientSecret: 's', resource: 'api://x' }); }
  catch (error) { code = error instanceof AadBackendAuthError ? error.code : 'wrong class'; }
  console.log(JSON.stringify({ issued: Boolean(idp.isIssued(token.token)), middleware: typeof aadBackendAuth, code, stats: provider.stats().tokenRequests }));
  await provider.close();
  await idp.close();
`;

const cjsConsumer = `
const { aadBackendAuth, createTokenProvider, AadBackendAuthError } = require('aad-backend-auth');
const { startEntraEmulator, DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } = require('aad-backend-auth/testing');
const pkg = require('aad-backend-auth');
if ('default' in pkg) throw new Error('the package must have no default export');
(async () => {${consumerBody}})().catch((error) => { console.error(error); process.exit(1); });
`;

const esmConsumer = `
import * as pkg from 'aad-backend-auth';
import { aadBackendAuth, createTokenProvider, AadBackendAuthError } from 'aad-backend-auth';
import { startEntraEmulator, DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from 'aad-backend-auth/testing';
if ('default' in pkg) throw new Error('the package must have no default export');
${consumerBody}
`;

/** A consumer without @opentelemetry/api: ready(), health() and the hot path still work. */
const noOtelConsumer = `
import { createRequire } from 'node:module';
import { createTokenProvider } from 'aad-backend-auth';
import { startEntraEmulator, DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from 'aad-backend-auth/testing';
let otelInstalled = true;
try { createRequire(import.meta.url).resolve('@opentelemetry/api'); } catch { otelInstalled = false; }
const idp = await startEntraEmulator();
const provider = createTokenProvider({
  tenantId: DEFAULT_TENANT_ID, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET,
  authorityHost: idp.url, resource: 'api://orders',
});
await provider.ready();
await provider.getToken();
const { tokenRequests, cacheHits } = provider.stats();
console.log(JSON.stringify({ otelInstalled, health: provider.health().status, tokenRequests, cacheHits }));
await provider.close();
await idp.close();
`;

const tsConsumer = `
import { aadBackendAuth, type AadBackendAuthOptions, type TokenCache, type StoredToken } from 'aad-backend-auth';
import type { IncomingMessage } from 'node:http';
const store: TokenCache = { get: (_key: string): StoredToken | undefined => undefined, set: () => undefined, delete: () => undefined };
const options: AadBackendAuthOptions = { tenantId: 'contoso.onmicrosoft.com', clientId: 'c', clientSecret: 's', resource: 'api://x', cache: store };
const middleware = aadBackendAuth(options);
const peeked: string | undefined = middleware.tokenProvider.peek()?.token;
const perRequest = aadBackendAuth({ ...options, resource: (req: IncomingMessage) => (req.url ?? '').startsWith('/a') ? 'api://a' : 'api://b' });
export { middleware, peeked, perRequest };
`;

describe('the packed package, installed into a fresh app', function () {
  this.timeout(180_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aad-backend-auth-consumer-'));
    await run('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: root });
    const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'))!;
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
    await run('npm', ['install', `./${tarball}`, '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock'], { cwd: dir });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('loads in a CommonJS app through require(esm)', async () => {
    await writeFile(join(dir, 'consumer.cjs'), cjsConsumer);
    const { stdout } = await run(process.execPath, ['consumer.cjs'], { cwd: dir });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).to.deep.equal({ issued: true, middleware: 'function', code: 'ERR_INVALID_OPTION', stats: 1 });
  });

  it('loads in an ES module app', async () => {
    await writeFile(join(dir, 'consumer.mjs'), esmConsumer);
    const { stdout } = await run(process.execPath, ['consumer.mjs'], { cwd: dir });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).to.deep.equal({ issued: true, middleware: 'function', code: 'ERR_INVALID_OPTION', stats: 1 });
  });

  it('loads and works without @opentelemetry/api (an optional peer): metrics are then a no-op', async () => {
    await writeFile(join(dir, 'no-otel.mjs'), noOtelConsumer);
    const { stdout } = await run(process.execPath, ['no-otel.mjs'], { cwd: dir });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).to.deep.equal({ otelInstalled: false, health: 'ok', tokenRequests: 1, cacheHits: 1 });
  });

  it('type-checks a TypeScript app against the shipped declarations', async () => {
    await writeFile(join(dir, 'consumer.ts'), tsConsumer);
    const tsconfig = { compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules/@types')] }, files: ['consumer.ts'] };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const result = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir }).catch((error: { stdout: string }) => error);
    expect('stdout' in result ? result.stdout : '').to.equal('');
  });

  it('ships the build and docs, not the sources or tests', async () => {
    const listing = await run('tar', ['-tzf', (await readdir(dir)).find((name) => name.endsWith('.tgz'))!], { cwd: dir });
    const files = listing.stdout.split('\n').filter(Boolean);
    expect(files).to.include('package/dist/index.js').and.include('package/dist/index.d.ts').and.include('package/dist/testing/index.js');
    expect(files.some((f) => f.startsWith('package/lib/') || f.startsWith('package/test/') || f.endsWith('.map'))).to.equal(false);
  });
});
