// Testing the BFF offline with node:test and the bundled Entra ID emulator.
// Run: node --import tsx --test examples/testing-a-bff/bff.test.ts
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { MemoryTokenCache } from 'aad-backend-auth';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator } from 'aad-backend-auth/testing';
import { createApp } from './bff.js';

const idp = await startEntraEmulator({
  resources: [{ audience: 'api://orders', appRoles: { [DEFAULT_CLIENT_ID]: ['Orders.Read'] } }],
});

// A stand-in backend that remembers the Authorization headers it receives.
const seen: string[] = [];
const orders = http.createServer((req, res) => {
  seen.push(req.headers.authorization ?? '');
  res.end('[]');
});

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const ordersUrl = await listen(orders);

/** Your BFF, pointed at the emulator; a private token cache, so each test starts cold. */
async function startBff(): Promise<string> {
  const app = createApp(
    {
      tenantId: DEFAULT_TENANT_ID,
      clientId: DEFAULT_CLIENT_ID,
      clientSecret: DEFAULT_CLIENT_SECRET,
      authorityHost: idp.url, // instead of https://login.microsoftonline.com
      resource: 'api://orders',
      cache: new MemoryTokenCache(),
    },
    ordersUrl,
  );
  const server = http.createServer(app);
  after(() => {
    server.close();
    server.closeAllConnections();
  });
  return listen(server);
}

after(async () => {
  orders.close();
  orders.closeAllConnections();
  await idp.close();
});

test('the backend gets an app token for api://orders with the Orders.Read role', async () => {
  const bff = await startBff();
  assert.equal((await fetch(`${bff}/api/orders`)).status, 200);
  const issued = idp.isIssued((seen.at(-1) ?? '').replace('Bearer ', ''));
  assert.equal(issued?.audience, 'api://orders');
  assert.deepEqual(issued?.roles, ['Orders.Read']);
});

test('a refused client secret becomes 502 problem+json, and nothing reaches the backend', async () => {
  const bff = await startBff();
  idp.fail({ kind: 'oauth-error', error: 'invalid_client' });
  const before = seen.length;
  const res = await fetch(`${bff}/api/orders`);
  assert.equal(res.status, 502);
  assert.equal(((await res.json()) as { code: string }).code, 'ERR_IDP_REJECTED');
  assert.equal(seen.length, before);
});
