/**
 * `node --import tsx bench/user-token-hot.ts`: the warm-session hot path of aadUserToken in ns per
 * call (issue 21: under 1 µs), standalone until it joins bench/hot-path.ts. A signed-in session
 * whose own access token is valid: anti-forgery check, session read, the refresh token's family,
 * the own token, the header set; no I/O. Real IncomingMessage and ServerResponse objects, built
 * outside the timed loop.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Bench } from 'tinybench';
import { aadUserToken } from '../lib/adapters/user-token.js';
import type { UserTokens } from '../lib/subjects/session/types.js';

const BATCH = 250;
const tokens: UserTokens = {
  // Entra refresh tokens are about 1 KB, access tokens 1.5 KB or more.
  refreshToken: `0.A${'r'.repeat(1000)}`,
  accessToken: `eyJ0eXAiOiJKV1QifQ.${'a'.repeat(1400)}.c2ln`,
  expiresAt: Date.now() + 3600_000,
  scope: 'api://orders/Orders.Read',
};
type SessionRequest = IncomingMessage & { session: { tokens: UserTokens } };
const auth = aadUserToken<SessionRequest>({
  tokenUrl: 'http://127.0.0.1:9/token',
  clientId: 'bench-bff',
  clientSecret: 'bench-secret',
  session: { get: (req) => req.session.tokens, set: () => undefined },
});

function requests(): { req: SessionRequest; res: ServerResponse }[] {
  return Array.from({ length: BATCH }, () => {
    const req = new IncomingMessage(new Socket()) as SessionRequest;
    req.headers = { 'x-csrf': '1', cookie: 'sid=s%3Abench', host: 'bff.example.com' };
    req.url = '/api/orders/1';
    req.session = { tokens };
    return { req, res: new ServerResponse(req) };
  });
}

let forwarded = 0;
const next = (): void => void forwarded++;
let batch = requests();
const bench = new Bench({ time: 1000, warmupTime: 200 });
bench.add(
  'aadUserToken, warm session (own token)',
  () => {
    for (const { req, res } of batch) auth(req, res, next);
  },
  { beforeEach: () => void (batch = requests()) },
);
await bench.run();
for (const task of bench.tasks) {
  const result = task.result;
  if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
  const perCall = (ms: number): string => ((ms * 1e6) / BATCH).toFixed(0);
  console.log(`${task.name}: median ${perCall(result.latency.p50)} ns, p99 ${perCall(result.latency.p99)} ns per call (${forwarded} forwarded)`);
}
