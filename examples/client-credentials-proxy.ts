// The client-credentials proxy: Express + aadBackendAuth + http-proxy-middleware, against the bundled
// Entra ID emulator and a stand-in backend. Run: npx tsx examples/client-credentials-proxy.ts
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { aadBackendAuth } from 'aad-backend-auth';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator } from 'aad-backend-auth/testing';

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// The emulated Entra ID knows one backend, api://orders, and gives our app its Orders.Read role.
const idp = await startEntraEmulator({
  resources: [{ audience: 'api://orders', appRoles: { [DEFAULT_CLIENT_ID]: ['Orders.Read'] } }],
});

// The backend: answers with what it received. A real one verifies the JWT (see docs/testing-offline.md).
const backend = http.createServer((req, res) => {
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  const issued = idp.isIssued(token);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ path: req.url, audience: issued?.audience, roles: issued?.roles }));
});
const backendUrl = await listen(backend);

// The BFF.
const auth = aadBackendAuth({
  tenantId: DEFAULT_TENANT_ID,
  clientId: DEFAULT_CLIENT_ID,
  clientSecret: DEFAULT_CLIENT_SECRET,
  authorityHost: idp.url, // in production: leave unset (https://login.microsoftonline.com)
  resource: 'api://orders',
});
const app = express();
app.use('/api/orders', auth, createProxyMiddleware({ target: backendUrl, changeOrigin: true }));
const bff = http.createServer(app);
const bffUrl = await listen(bff);

// Three requests through the BFF, one of them with a client's own (ignored) Authorization header.
for (const path of ['/api/orders/1', '/api/orders/2', '/api/orders/3']) {
  const res = await fetch(bffUrl + path, { headers: { authorization: 'Bearer chosen-by-the-client' } });
  console.log(`${path} -> ${res.status} ${await res.text()}`);
}
console.log(`token requests to Entra ID: ${auth.tokenProvider.stats().tokenRequests}`);

// The emulated IdP refuses the secret: the BFF answers 502 problem+json and forwards nothing.
idp.fail({ kind: 'oauth-error', error: 'invalid_client' });
auth.tokenProvider.invalidate();
const refused = await fetch(`${bffUrl}/api/orders/4`);
console.log(`with a refused secret -> ${refused.status} ${((await refused.json()) as { code: string }).code}`);

await auth.tokenProvider.close();
bff.close();
backend.close();
await idp.close();
