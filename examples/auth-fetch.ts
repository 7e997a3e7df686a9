// Calling a backend from your own code: createAuthFetch (a fetch that adds the app token) and the axios
// interceptor useAadBackendAuth, sharing one provider. Run: npx tsx examples/auth-fetch.ts
import axios from 'axios';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthFetch, createTokenProvider, useAadBackendAuth } from 'aad-backend-auth';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator } from 'aad-backend-auth/testing';

const idp = await startEntraEmulator();

// The backend refuses the first token it sees with a Bearer challenge, as one revoked early would be.
const refused = new Set<string>();
const backend = http.createServer((req, res) => {
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  if (idp.isIssued(token) === undefined || (refused.size === 0 && refused.add(token))) {
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ order: req.url }));
});
await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
const ordersUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;

const provider = createTokenProvider({
  tenantId: DEFAULT_TENANT_ID,
  clientId: DEFAULT_CLIENT_ID,
  clientSecret: DEFAULT_CLIENT_SECRET,
  authorityHost: idp.url,
  resource: 'api://orders',
});

// fetch: the 401 evicts the refused token, a new one is fetched, and the request is sent once more.
const ordersFetch = createAuthFetch(provider);
const res = await ordersFetch(`${ordersUrl}/orders/7`);
console.log(`fetch -> ${res.status} ${await res.text()} after ${provider.stats().tokenRequests} token requests`);

// axios: the same provider, so the same cached token.
const ordersApi = axios.create({ baseURL: ordersUrl });
const eject = useAadBackendAuth(ordersApi, provider);
const { data } = await ordersApi.get<{ order: string }>('/orders/8');
console.log(`axios -> ${data.order}, token requests still ${provider.stats().tokenRequests}`);
eject();

await provider.close();
backend.close();
await idp.close();
