// Runs every program in examples/ as a user would (tsx, importing the package by its name) and checks
// what it prints. The package resolves itself through its "exports", so dist/ must be current: the
// before hook builds it when any lib/ file is newer.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sharedOrOwnRedis } from '../helpers/redis-server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

async function ensureDist(): Promise<void> {
  const built = await stat(join(root, 'dist', 'index.js')).then((s) => s.mtimeMs, () => 0);
  if (built >= (await newestMtime(join(root, 'lib')))) return;
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root });
}

/** Runs `node --import tsx [--test] <file>` from the repository root; resolves its stdout. */
async function runExample(file: string, options: { test?: boolean; env?: Record<string, string> } = {}): Promise<string> {
  const args = ['--import', 'tsx', ...(options.test === true ? ['--test', '--test-reporter=spec'] : []), file];
  const { stdout } = await run(process.execPath, args, { cwd: root, timeout: 60_000, env: { ...process.env, ...options.env } });
  return stdout;
}

describe('examples/: every program runs against the bundled emulator and prints what it promises', function () {
  this.timeout(90_000);

  before(ensureDist);

  it('client-credentials-proxy.ts: one token request, the role reaches the backend, a refused secret is a 502', async () => {
    const out = await runExample('examples/client-credentials-proxy.ts');
    expect(out).to.include('/api/orders/1 -> 200 {"path":"/1","audience":"api://orders","roles":["Orders.Read"]}');
    expect(out).to.include('/api/orders/3 -> 200');
    expect(out).to.include('token requests to Entra ID: 1');
    expect(out).to.include('with a refused secret -> 502 ERR_IDP_REJECTED');
  });

  it('on-behalf-of.ts: the backend gets Alice\'s delegated token; missing and tampered tokens are 401s', async () => {
    const out = await runExample('examples/on-behalf-of.ts');
    expect(out).to.include('as Alice -> 200 {"grant":"on-behalf-of","oid":"alice","scp":"Orders.Read","audience":"api://orders"}');
    expect(out).to.include('without a user token -> 401 ERR_USER_TOKEN_MISSING');
    expect(out).to.include('with a tampered token -> 401 ERR_USER_TOKEN_INVALID');
  });

  it('auth-fetch.ts: a 401 Bearer challenge costs one new token and one retry; axios shares the token', async () => {
    const out = await runExample('examples/auth-fetch.ts');
    expect(out).to.include('fetch -> 200 {"order":"/orders/7"} after 2 token requests');
    expect(out).to.include('axios -> /orders/8, token requests still 2');
  });

  it('testing-a-bff/bff.test.ts: its node:test suite passes', async () => {
    const out = await runExample('examples/testing-a-bff/bff.test.ts', { test: true });
    expect(out).to.match(/pass 2/).and.match(/fail 0/);
  });

  describe('with redis-server', () => {
    let redis: { url: string; stop(): Promise<void> } | undefined;
    before(async function () {
      redis = await sharedOrOwnRedis(this);
    });
    after(() => redis?.stop());

    it('redis-fleet.ts: three cold instances, one token, one token request', async () => {
      const out = await runExample('examples/redis-fleet.ts', { env: { REDIS_URL: redis!.url } });
      expect(out).to.include('instances: 3, distinct tokens: 1, token requests to Entra ID: 1');
    });
  });
});
