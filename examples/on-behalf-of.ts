// On behalf of the user: the SPA's token for the BFF is validated and exchanged (Entra's OBO flow) for a
// delegated token to the orders API. Run: npx tsx examples/on-behalf-of.ts
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { aadOnBehalfOf } from 'aad-backend-auth';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator } from 'aad-backend-auth/testing';

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const idp = await startEntraEmulator();

// The backend reports whose delegated token it received.
const backend = http.createServer((req, res) => {
  const issued = idp.isIssued((req.headers.authorization ?? '').replace(/^Bearer /, ''));
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ grant: issued?.grant, oid: issued?.oid, scp: issued?.scp, audience: issued?.audience }));
});
const backendUrl = await listen(backend);

const app = express();
app.use(
  '/api/me',
  aadOnBehalfOf({
    tenantId: DEFAULT_TENANT_ID,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    authorityHost: idp.url,
    scope: 'api://orders/Orders.Read',
  }),
  createProxyMiddleware({ target: backendUrl, changeOrigin: true }),
);
const bff = http.createServer(app);
const bffUrl = await listen(bff);

// What MSAL.js would get for the SPA: a user token whose audience is the BFF.
const alice = await idp.issueUserToken({ oid: 'alice', name: 'Alice', scp: 'access_as_user' });
const res = await fetch(`${bffUrl}/api/me`, { headers: { authorization: `Bearer ${alice}` } });
console.log(`as Alice -> ${res.status} ${await res.text()}`);

const anonymous = await fetch(`${bffUrl}/api/me`);
console.log(`without a user token -> ${anonymous.status} ${((await anonymous.json()) as { code: string }).code}`);

const forged = await fetch(`${bffUrl}/api/me`, { headers: { authorization: `Bearer ${alice.slice(0, -4)}AAAA` } });
console.log(`with a tampered token -> ${forged.status} ${((await forged.json()) as { code: string }).code}`);

bff.close();
backend.close();
await idp.close();
