/**
 * Which files of lib/ one request runs code in, for three paths: a cached app token through
 * aadBackendAuth, a warm user through aadOnBehalfOf, and a createAuthFetch call with a 401 retry.
 * V8's precise coverage (call counts) is reset after a warm-up, then exactly one request runs.
 *
 *   node --import tsx bench/files-per-request.ts
 */
import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { aadBackendAuth, aadOnBehalfOf, createAuthFetch } from '../lib/index.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator } from '../lib/testing/index.js';

const lib = fileURLToPath(new URL('../lib/', import.meta.url));
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });

/** The lib files (the emulator's aside) with a function called since the last reading. */
async function filesCalled(): Promise<string[]> {
  const { result } = await session.post('Profiler.takePreciseCoverage');
  const files = new Set<string>();
  for (const script of result) {
    const path = script.url.startsWith('file://') ? fileURLToPath(script.url) : script.url;
    if (!path.startsWith(lib) || path.startsWith(`${lib}testing/`)) continue;
    if (script.functions.some((fn) => fn.ranges[0]!.count > 0 && fn.functionName !== '')) files.add(path.slice(lib.length));
  }
  return [...files].sort();
}

function request(authorization?: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/api/orders';
  req.headers = authorization === undefined ? {} : { authorization };
  return { req, res: new ServerResponse(req) };
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
const through = (middleware: Middleware, authorization?: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const { req, res } = request(authorization);
    middleware(req, res, (err) => (err === undefined ? resolve() : reject(err as Error)));
  });

const idp = await startEntraEmulator();
const common = { tenantId: DEFAULT_TENANT_ID, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, authorityHost: idp.url };
const report: Record<string, string[]> = {};

const app = aadBackendAuth({ ...common, resource: 'api://files-per-request' }) as unknown as Middleware;
for (let i = 0; i < 3; i++) await through(app);
await filesCalled();
await through(app);
report['cached app token through aadBackendAuth'] = await filesCalled();

const obo = aadOnBehalfOf({ ...common, scope: 'api://orders/Orders.Read' }) as unknown as Middleware;
const user = `Bearer ${await idp.issueUserToken({ name: 'Warm User' })}`;
for (let i = 0; i < 3; i++) await through(obo, user);
await filesCalled();
await through(obo, user);
report['warm user through aadOnBehalfOf'] = await filesCalled();

// A backend that answers every other request with a Bearer 401, so each call is refused once and retried.
let calls = 0;
const backend = createServer((_req, res) => {
  if (calls++ % 2 === 0) res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
  else res.end('ok');
});
await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
const { port } = backend.address() as { port: number };
const authFetch = createAuthFetch({ ...common, resource: 'api://files-per-request-fetch', purgeCooldownMs: 0 });
for (let i = 0; i < 3; i++) await (await authFetch(`http://127.0.0.1:${port}/x`)).text();
await filesCalled();
await (await authFetch(`http://127.0.0.1:${port}/x`)).text();
report['createAuthFetch call with a 401 retry'] = await filesCalled();

for (const [path, files] of Object.entries(report)) console.log(`${path}: ${files.length} files\n  ${files.join('\n  ')}`);
backend.close();
await idp.close();
process.exit(0);
