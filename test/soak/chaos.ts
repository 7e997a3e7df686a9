// The chaos soak: steady load through Express + aadBackendAuth + http-proxy-middleware to a backend
// that checks every token, while the emulated IdP flaps between healthy, slow, 5xx, 429 and hang.
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { once } from 'node:events';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { aadBackendAuth, type AadBackendAuthMiddleware } from '../../lib/index.js';
import { MemoryTokenCache } from '../../lib/provider/memory-cache.js';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_TENANT_ID,
  startEntraEmulator,
  type EntraEmulator,
  type Fault,
} from '../../lib/testing/index.js';
import { watchProcess } from '../helpers/process-watch.js';
import { close, listen } from '../helpers/servers.js';

/** What load-worker.mjs is given. */
interface LoadOptions {
  readonly url: string;
  readonly rate: number;
  readonly maxInFlight: number;
}

/** What load-worker.mjs answers when stopped. */
interface LoadReport {
  readonly requests: number;
  readonly shed: number;
  readonly statuses: Record<string, number>;
  /** Client-side latencies in ms, sorted. */
  readonly latencies: number[];
}

export interface SoakOptions {
  /** How long the load runs, after a 1 s healthy warm-up. */
  readonly seconds: number;
  /** Seeds the flapping schedule; print it, so a failure can be replayed with SOAK_SEED. */
  readonly seed: number;
  /** Requests per second the load aims at. @default 200 */
  readonly rate?: number;
  /** Requests in flight at most; beyond it the load sheds. @default 64 */
  readonly maxInFlight?: number;
}

export type IdpState = 'healthy' | 'slow' | '5xx' | '429' | 'hang';

export interface SoakFigures {
  readonly seed: number;
  readonly seconds: number;
  readonly requests: number;
  readonly shed: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Answers of 500 or more while the provider held a usable token when the request reached the gateway. */
  readonly fiveXxWithUsableToken: number;
  /** Answers of 500 or more while no usable token existed (allowed: 503 ERR_IDP_UNAVAILABLE and the like). */
  readonly fiveXxWithoutToken: number;
  /**
   * What the backend found wrong with forwarded tokens: missing, not issued, expired (the IdP's own
   * millisecond expiry), or past the `exp` claim by more than its one-second precision.
   */
  readonly forwardedBad: Readonly<{ missing: number; unknown: number; expired: number; pastExpClaim: number }>;
  /**
   * Forwarded after the `exp` claim but within its one-second precision: `exp` is whole seconds,
   * while `expires_in` counts from the request, so a 5 s token's 0.5 s margin (10 %) cannot cover it.
   * Reported, not a failure; a backend that validates `exp` needs a clock tolerance of at least 1 s.
   */
  readonly withinExpPrecision: number;
  readonly forwardedOk: number;
  readonly tokenRequests: number;
  readonly tokensIssued: number;
  readonly tokenRequestBound: number;
  readonly phases: Readonly<Record<IdpState, number>>;
  readonly secondsFailing: number;
  readonly unhandled: readonly string[];
  readonly heapGrowthBytes: number;
  readonly eventLoopDelayP99Ms: number;
  readonly eventLoopDelayMaxMs: number;
  readonly latencyP99Ms: number;
  /** CPU time of the gateway's thread (gateway, IdP and backend; not the load) over wall time. */
  readonly gatewayCpuShare: number;
}

const TOKEN_LIFETIME_SECONDS = 5;
const TIMEOUT_MS = 2000;
const FAILURE_COOLDOWN_MS = 2000;
/**
 * Attempts per second of failure, at most. A flight retries with back-off 200 ms x 2^n (half jitter), so
 * k attempts take at least 0, 100, 300, 700, 1500 ms (k = 1..5; a 6th would need 2500 > TIMEOUT_MS), and
 * the next flight starts at least 500 ms later (the smallest refresh back-off; 2 s of failure memory
 * when no token is usable). The worst case, k = 3, is 3 attempts per 800 ms: under 4 a second.
 */
const MAX_ATTEMPTS_PER_FAILING_SECOND = 4;
const STATES: readonly IdpState[] = ['healthy', 'slow', '5xx', '429', 'hang'];

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Forces a full GC, so heap figures compare live data and not garbage. */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
}

/**
 * The bound the refresh design implies for token requests over `seconds`, whatever the load:
 * - healthy or slow: one request per half-life (refresh-ahead never starts earlier; single flight);
 * - each phase change may cut a flight short, and the next phase repeat it: one more;
 * - once per token life, a token that stops being usable right after a failed refresh lets an
 *   acquisition start without a gap: one more;
 * - failing (5xx, 429, hang): at most MAX_ATTEMPTS_PER_FAILING_SECOND a second.
 */
export function tokenRequestBound(seconds: number, phaseChanges: number, secondsFailing: number): number {
  const healthy = Math.ceil(seconds / (TOKEN_LIFETIME_SECONDS / 2));
  const lives = Math.ceil(seconds / TOKEN_LIFETIME_SECONDS);
  return healthy + phaseChanges + lives + Math.ceil(MAX_ATTEMPTS_PER_FAILING_SECOND * secondsFailing);
}

function faultFor(state: IdpState, random: () => number): Fault | undefined {
  switch (state) {
    case 'healthy':
      return undefined;
    case 'slow':
      return { kind: 'latency', ms: 200 + Math.floor(random() * 1000) };
    case '5xx':
      return { kind: 'status', status: [500, 502, 503, 504][Math.floor(random() * 4)]! };
    case '429':
      return { kind: 'throttle', retryAfter: Math.floor(random() * 3) };
    case 'hang':
      return { kind: 'hang' };
  }
}

/** The backend: every request's token must be one the IdP issued, not expired, and before its `exp` claim. */
async function startCheckingBackend(
  idp: EntraEmulator,
): Promise<{ url: string; bad: SoakFigures['forwardedBad']; ok: () => number; withinExpPrecision: () => number; close(): Promise<void> }> {
  const bad = { missing: 0, unknown: 0, expired: 0, pastExpClaim: 0 };
  let ok = 0;
  let withinExpPrecision = 0;
  const expClaims = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const now = Date.now();
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const issued = token === undefined ? undefined : idp.isIssued(token);
    if (token === undefined) bad.missing++;
    else if (issued === undefined) bad.unknown++;
    else if (now >= issued.expiresAt) bad.expired++;
    else {
      let exp = expClaims.get(token);
      if (exp === undefined) {
        exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp * 1000;
        expClaims.set(token, exp);
      }
      if (now >= exp + 1000) bad.pastExpClaim++;
      else {
        ok++;
        if (now >= exp) withinExpPrecision++;
      }
    }
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  // Outlive the gateway's idle keep-alive sockets, so a reused socket is never closed under a request.
  server.keepAliveTimeout = 65_000;
  const url = await listen(server);
  return { url, bad, ok: () => ok, withinExpPrecision: () => withinExpPrecision, close: () => close(server) };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runSoak(options: SoakOptions): Promise<SoakFigures> {
  const rate = options.rate ?? 200;
  const maxInFlight = options.maxInFlight ?? 64;
  const random = seededRandom(options.seed);
  const gc = collector();
  const watch = watchProcess();
  watch.install();

  const idp = await startEntraEmulator({ tokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS });
  const backend = await startCheckingBackend(idp);
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const auth: AadBackendAuthMiddleware = aadBackendAuth({
    tenantId: DEFAULT_TENANT_ID,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    authorityHost: idp.url,
    resource: 'api://soak',
    cache: new MemoryTokenCache(),
    timeoutMs: TIMEOUT_MS,
    failureCooldownMs: FAILURE_COOLDOWN_MS,
    logger: silent,
  });
  let fiveXxWithUsableToken = 0;
  let fiveXxWithoutToken = 0;
  // Sample, as each request reaches the gateway, whether a usable token exists.
  const sampling = (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void): void => {
    const usable = auth.tokenProvider.peek() !== undefined;
    res.once('close', () => {
      if (res.statusCode >= 500) {
        if (usable) fiveXxWithUsableToken++;
        else fiveXxWithoutToken++;
      }
    });
    auth(req, res, next);
  };
  // Express 4 + the middleware + http-proxy-middleware 3, with a keep-alive agent to the backend as in production.
  const backendAgent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight, timeout: 30_000 });
  const app = express();
  app.use('/api', sampling, createProxyMiddleware({ target: backend.url, changeOrigin: true, agent: backendAgent }));
  const gatewayServer = http.createServer(app);
  const gateway = { url: await listen(gatewayServer), close: () => close(gatewayServer) };

  // The load runs in a worker thread: this thread's event loop is the gateway's (and the IdP's and backend's).
  const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), {
    workerData: { url: `${gateway.url}/api/soak`, rate, maxInFlight } satisfies LoadOptions,
  });
  // once() rejects on 'error', so a worker that fails fails the soak instead of hanging it.
  const online = once(worker, 'online');
  const stopLoad = async (): Promise<LoadReport> => {
    const report = once(worker, 'message') as Promise<[LoadReport]>;
    worker.postMessage('stop');
    const [answer] = await report;
    await worker.terminate();
    return answer;
  };
  await online;

  // Warm-up: healthy, so the baselines are taken with a token and warm code paths.
  await sleep(1000);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const tokenRequestsBefore = idp.tokenRequests.length;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();

  // The flapping: the first phases visit every state once (a seeded shuffle), then pick at random.
  const phases: Record<IdpState, number> = { healthy: 0, slow: 0, '5xx': 0, '429': 0, hang: 0 };
  const order = [...STATES];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const endAt = Date.now() + options.seconds * 1000;
  let phaseChanges = 0;
  let secondsFailing = 0;
  while (Date.now() < endAt) {
    const firstCycle = order.length > 0;
    const state = order.shift() ?? STATES[Math.floor(random() * STATES.length)]!;
    // Phases last 0.5 to 2.5 s; the first cycle fits in the run, so even a short run sees every state.
    const cap = firstCycle ? (options.seconds * 1000) / STATES.length : Infinity;
    const durationMs = Math.min(500 + Math.floor(random() * 2000), cap, Math.max(0, endAt - Date.now()));
    idp.heal();
    const fault = faultFor(state, random);
    if (fault !== undefined) idp.fail(fault, Infinity);
    phases[state]++;
    phaseChanges++;
    if (state === '5xx' || state === '429' || state === 'hang') secondsFailing += durationMs / 1000;
    await sleep(durationMs);
  }
  idp.heal();
  const tokenRequests = idp.tokenRequests.length - tokenRequestsBefore;
  loop.disable();
  const cpu = process.cpuUsage(cpuBefore);
  const cpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore);

  // Stop the load and let in-flight requests finish, then measure what is still alive.
  const load = await stopLoad();
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const unhandled = await watch.take();

  await auth.tokenProvider.close();
  await gateway.close();
  backendAgent.destroy();
  await backend.close();
  await idp.close();
  watch.uninstall();

  return {
    seed: options.seed,
    seconds: options.seconds,
    requests: load.requests,
    shed: load.shed,
    statuses: load.statuses,
    fiveXxWithUsableToken,
    fiveXxWithoutToken,
    forwardedBad: backend.bad,
    forwardedOk: backend.ok(),
    withinExpPrecision: backend.withinExpPrecision(),
    tokenRequests,
    tokensIssued: idp.issued.length,
    tokenRequestBound: tokenRequestBound(options.seconds, phaseChanges, secondsFailing),
    phases,
    secondsFailing: Math.round(secondsFailing * 10) / 10,
    unhandled,
    heapGrowthBytes: heapAfter - heapBefore,
    eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
    eventLoopDelayMaxMs: loop.max / 1e6,
    latencyP99Ms: percentile(load.latencies, 99),
    gatewayCpuShare: cpuShare,
  };
}

/** The limits the soak asserts, stated once so the table and the checks agree. */
export const LIMITS = {
  heapGrowthBytes: 8 * 1024 * 1024,
  eventLoopDelayP99Ms: 50,
} as const;

/** What the figures break, as sentences; empty when the soak passed. */
export function violations(f: SoakFigures): string[] {
  const found: string[] = [];
  const bad = f.forwardedBad;
  if (bad.missing + bad.unknown + bad.expired + bad.pastExpClaim > 0) found.push(`forwarded without a valid token: ${JSON.stringify(bad)}`);
  if (f.fiveXxWithUsableToken > 0) found.push(`${f.fiveXxWithUsableToken} answers of 5xx while a usable token existed`);
  if (f.tokenRequests > f.tokenRequestBound) found.push(`${f.tokenRequests} token requests, above the bound of ${f.tokenRequestBound}`);
  if (f.unhandled.length > 0) found.push(`unhandled: ${f.unhandled.join('; ')}`);
  if (f.heapGrowthBytes > LIMITS.heapGrowthBytes) found.push(`heap grew by ${mib(f.heapGrowthBytes)} MiB`);
  if (f.eventLoopDelayP99Ms >= LIMITS.eventLoopDelayP99Ms) found.push(`event-loop delay p99 ${f.eventLoopDelayP99Ms.toFixed(1)} ms`);
  if (f.forwardedOk === 0) found.push('nothing was forwarded at all');
  return found;
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/** The figures as a small Markdown table. */
export function formatFigures(f: SoakFigures): string {
  const bad = f.forwardedBad;
  const rows: [string, string, string][] = [
    ['seed', String(f.seed), 'replay with SOAK_SEED'],
    ['duration', `${f.seconds} s`, `IdP phases: ${Object.entries(f.phases).map(([k, v]) => `${k} ${v}`).join(', ')}; failing ${f.secondsFailing} s`],
    ['requests', String(f.requests), `${Math.round(f.requests / f.seconds)}/s, ${f.shed} shed at the in-flight cap`],
    ['answers', Object.entries(f.statuses).map(([k, v]) => `${k}: ${v}`).join(', '), `client p99 latency ${f.latencyP99Ms.toFixed(0)} ms`],
    ['forwarded with a missing / unknown / expired / past-exp token', `${bad.missing} / ${bad.unknown} / ${bad.expired} / ${bad.pastExpClaim}`, 'must be 0'],
    ['forwarded with a valid token', String(f.forwardedOk), `${f.withinExpPrecision} of them after exp, within its 1 s precision`],
    ['5xx while a usable token existed', String(f.fiveXxWithUsableToken), `must be 0 (5xx with no usable token: ${f.fiveXxWithoutToken})`],
    ['token requests', String(f.tokenRequests), `bound ${f.tokenRequestBound}; ${f.tokensIssued} tokens issued`],
    ['unhandled rejections / exceptions', String(f.unhandled.length), 'must be 0'],
    ['heap growth (after forced GC)', `${mib(f.heapGrowthBytes)} MiB`, `bound ${mib(LIMITS.heapGrowthBytes)} MiB`],
    ['event-loop delay p99 (max)', `${f.eventLoopDelayP99Ms.toFixed(1)} ms (${f.eventLoopDelayMaxMs.toFixed(1)} ms)`, `bound ${LIMITS.eventLoopDelayP99Ms} ms; 5 ms sampling interval included`],
    ['gateway thread CPU', `${Math.round(f.gatewayCpuShare * 100)} % of a core`, 'gateway, IdP and backend; the load runs in a worker'],
  ];
  return ['| figure | value | note |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
