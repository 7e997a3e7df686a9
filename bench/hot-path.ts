/**
 * Child process: the hot path in ns per call, with tinybench. The middleware
 * handles requests while its token is cached (for aadOnBehalfOf: a warm user, whose
 * token was validated and exchanged before); each call gets fresh request and
 * response objects, built just before it is timed. Returns its passes, which
 * bench/hot-summary.ts pools with those of the other processes.
 */
import diagnostics from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express from 'express';
import { Bench } from 'tinybench';
import { aadBackendAuth, aadOnBehalfOf, type UserTokens } from '../lib/index.js';
import { userValidatorOf } from '../test/helpers/user-validator.js';
import { startEntraEmulator } from '../lib/testing/index.js';
import { handWrittenCache } from './hand-written.js';
import { APP_FLOOR, SESSION_FLOOR, type HotPass, type HotPathRun, type OboHotPath } from './hot-summary.js';
import { SESSION_CLIENT_ID, WARM_SESSIONS, warmSessions } from './hot-sessions.js';
import { CLIENT_SECRET, RESOURCE, TENANT_ID } from './identity.js';
import { serve } from './ipc.js';
import { benchUsers } from './sign-in.js';

/** Calls per timed batch: enough to dwarf the timer's own cost. */
const BATCH = 250;
const PASSES = 7;

type Handler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** A request as it arrives, with a user's own bearer token that the middleware must replace. */
const rawHeaders = (authorization: string): string[] => ['Host', '127.0.0.1:8080', 'User-Agent', 'bench', 'Accept', 'application/json', 'X-Request-Id', 'r-1', 'Authorization', authorization];
const RAW_HEADERS = rawHeaders('Bearer inbound-user-token');
/** Warm users of the rotating aadOnBehalfOf task, as in the on-behalf-of steady load. */
const OBO_USERS = 100;
const OBO_CLIENT_ID = 'hot-obo';
const noop = (): void => {};

/** Node's http parser hands a request its raw headers this way; `req.headers` is then built lazily, property by property. */
interface ParsedRequest {
  _addHeaderLines(headers: string[], n: number): void;
}

/**
 * A real Express 4 app hands each exchange over: its router, `expressInit` (which swaps the
 * prototypes, then adds `res.locals`) and query parser run on it, and for a cookie BFF a step that
 * sets what express-session sets (`sessionStore`, `sessionID`, `session`). Properties added after
 * the prototype swap give each object a hidden class of its own, so every property read on `req`
 * or `res` is a megamorphic miss, as in production.
 */
const expressApp = express();
let handedOver: Exchange | undefined;
let sessionOfNext: object | undefined;
expressApp.use('/api/orders', (req, _res, next) => {
  if (sessionOfNext !== undefined) Object.assign(req, { sessionStore: SESSION_STORE, sessionID: 'bench-session', session: sessionOfNext });
  next();
});
expressApp.use('/api/orders', (req, res) => {
  handedOver = { req, res, finish: () => res.emit('finish') };
});
const SESSION_STORE = {};
/** The server the exchanges belong to (never listening), and the channel Node's http server publishes finished responses on. */
const SERVER = createServer();
const RESPONSE_FINISH = diagnostics.channel('http.server.response.finish');

/**
 * Real node:http objects, as Express hands them to a middleware: the response already has the
 * server's own 'finish' listener (which publishes on Node's diagnostics channel, as the server's
 * does), and 'finish' is emitted after each call, so the cost of what the middleware armed on it is
 * counted too. `session`, when given, is what express-session would load.
 */
function realExchange(raw: string[] = RAW_HEADERS, session?: object): Exchange {
  // As net.Server hands a connection over: the socket knows its server.
  const socket = Object.assign(new Socket(), { server: SERVER });
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/api/orders/42';
  (req as unknown as ParsedRequest)._addHeaderLines(raw, raw.length);
  // Built here, outside the timing: without the middleware, the proxy would build it anyway.
  void req.headers;
  const res = new ServerResponse(req);
  // The server's own 'finish' listener, publishing as Node's does when anyone subscribed.
  res.on('finish', () => {
    if (RESPONSE_FINISH.hasSubscribers) RESPONSE_FINISH.publish({ request: req, response: res, socket, server: SERVER });
  });
  sessionOfNext = session;
  handedOver = undefined;
  // `handle` is how node:http's 'request' event enters an app; Express's types leave it out.
  (expressApp as unknown as { handle(req: IncomingMessage, res: ServerResponse, done: () => void): void }).handle(req, res, () => {
    throw new Error('the bench app did not hand the exchange over');
  });
  const exchange = handedOver as Exchange | undefined;
  if (exchange === undefined) throw new Error('Express handed the exchange over asynchronously');
  return exchange;
}

/** The cheapest stand-in: a headers object (and the session, if any) and a bare EventEmitter (which has `once`); 'finish' never fires. */
function fakeExchange(raw: string[] = RAW_HEADERS, session?: object): Exchange {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]!.toLowerCase()] = raw[i + 1]!;
  const req = (session === undefined ? { method: 'GET', url: '/api/orders/42', headers } : { method: 'GET', url: '/api/orders/42', headers, session }) as unknown as IncomingMessage;
  const res = Object.assign(new EventEmitter(), { statusCode: 200, writableEnded: false }) as unknown as ServerResponse;
  return { req, res, finish: noop };
}

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly finish: () => void;
  /** Runs after the objects are built, just before the timed call: what a session store does per request. */
  readonly load?: () => void;
}

async function run(args: { timeMs: number }): Promise<HotPathRun> {
  const emulator = await startEntraEmulator({
    tenants: [TENANT_ID],
    clients: [
      { clientId: 'hot', clientSecret: CLIENT_SECRET },
      // The BFF's API accepts v2 tokens: aadOnBehalfOf against the emulator knows the v2 issuer only.
      { clientId: OBO_CLIENT_ID, clientSecret: CLIENT_SECRET, accessTokenVersion: 2 },
      { clientId: SESSION_CLIENT_ID, clientSecret: CLIENT_SECRET },
    ],
    // The cookie BFF's users (one more than the rotating sessions: the single warm session's),
    // with rotation and reuse detection: a second redemption of a refresh token would revoke its family.
    users: benchUsers(WARM_SESSIONS + 1),
    refreshTokenReuseDetection: true,
  });
  try {
    const common = { authorityHost: emulator.url, tenantId: TENANT_ID, clientId: 'hot', clientSecret: CLIENT_SECRET, resource: RESOURCE };
    const withPurge = aadBackendAuth(common);
    const withoutPurge = aadBackendAuth({ ...common, purgeOnStatus: [] });
    await withPurge.tokenProvider.getToken();
    await withoutPurge.tokenProvider.getToken();
    // On behalf of the user, created (as B above) before metrics are on. Every user is validated
    // and exchanged once here; the timed calls then find both the validation and the token cached.
    const onBehalfOf = aadOnBehalfOf({ authorityHost: emulator.url, tenantId: TENANT_ID, clientId: OBO_CLIENT_ID, clientSecret: CLIENT_SECRET, scope: `${RESOURCE}/Orders.Read` });
    const validator = userValidatorOf(onBehalfOf);
    const userHeaders = await Promise.all(
      Array.from({ length: OBO_USERS }, async (_, i) => rawHeaders(`Bearer ${await emulator.issueUserToken({ oid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, aud: `api://${OBO_CLIENT_ID}` })}`)),
    );
    for (const raw of userHeaders) {
      const { req, res } = realExchange(raw);
      await new Promise<void>((resolve, reject) => onBehalfOf(req, res, (err?: unknown) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err))))));
      if (req.headers.authorization === raw[raw.length - 1]) throw new Error('aadOnBehalfOf forwarded the user token');
    }
    // Cookie sessions (aadUserToken), signed in and warmed here, also before metrics are on.
    const sessions = await warmSessions(emulator, async (handler, raw, session) => {
      const { req, res } = realExchange(raw, session);
      await new Promise<void>((resolve, reject) => handler(req, res, (err?: unknown) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err))))));
      return req;
    });
    // As express-session hands a session over: parsed from what the store holds, so each request has its own
    // copy of the tokens (new strings, whose hashes V8 has not computed yet), parsed just before the call.
    // The timed calls write nothing (counted below), so what the store holds after the warm-up stays current.
    const sessionOf = (s: { raw: string[]; session: { tokens: UserTokens } }, build: (raw: string[], session: object) => Exchange = realExchange) => {
      const stored = JSON.stringify(s.session.tokens);
      return (): Exchange => {
        const session = { tokens: s.session.tokens };
        return { ...build(s.raw, session), load: () => void (session.tokens = JSON.parse(stored) as UserTokens) };
      };
    };
    const oneSession = sessionOf(sessions.one);
    const sessionTurns = sessions.many.map((s) => sessionOf(s));
    const fakeOneSession = sessionOf(sessions.one, fakeExchange);
    const fakeSessionTurns = sessions.many.map((s) => sessionOf(s, fakeExchange));
    let nextFakeSession = 0;
    const fakeRotatingSessions = (): Exchange => fakeSessionTurns[nextFakeSession++ % fakeSessionTurns.length]!();
    let nextSession = 0;
    const rotatingSessions = (): Exchange => sessionTurns[nextSession++ % sessionTurns.length]!();
    let sessionCalls = 0;
    const sessionCounts = sessions.mark();
    let oboCalls = 0;
    const verificationsBefore = validator.verifications;
    const tokenRequestsBefore = onBehalfOf.tokenProvider.stats().tokenRequests;
    let nextUser = 0;
    const warmUser = (): Exchange => realExchange(userHeaders[0]!);
    const rotatingUsers = (): Exchange => realExchange(userHeaders[nextUser++ % OBO_USERS]!);
    // Metrics on: a MeterProvider (read as Prometheus would) registered before this middleware is created.
    // The ones above got the API's no-op meter, which they keep: a meter never changes after creation.
    const meterProvider = new MeterProvider({ readers: [new PrometheusExporter({ preventServerStart: true })] });
    metrics.setGlobalMeterProvider(meterProvider);
    const withMetrics = aadBackendAuth(common);
    await withMetrics.tokenProvider.getToken();
    const handWritten = handWrittenCache(common);

    let nexts = 0;
    const next = (): void => {
      nexts++;
    };
    // The least a middleware that replaces the header does: one read of req.headers, no delete of an absent header.
    const floor: Handler = (req, _res, done) => {
      const headers = req.headers;
      if (headers.authorization !== undefined) delete headers.authorization;
      headers.authorization = 'Bearer cached-token';
      done();
    };
    // Warm D's cache; its next() comes in a later microtask, so batches wait for all of them.
    const warm = realExchange();
    await new Promise<void>((resolve) => handWritten(warm.req, warm.res, () => resolve()));

    // Each call is timed on its own, right after its objects were built: in production Express and the
    // session store have just touched them, so they are in the CPU's cache. (Built in batches ahead of the
    // timing, every object was cold, and work that reads the request's data looked slower than it is.)
    // The floors pay the same two clock reads per call, so they cancel out of "above the floor".
    const timed = (handler: Handler, exchange: () => Exchange, asynchronous: boolean, counted?: () => void) => async () => {
      const built = performance.now();
      const target = nexts + BATCH;
      let elapsed = 0;
      for (let i = 0; i < BATCH; i++) {
        const { req, res, finish, load } = exchange();
        load?.();
        const start = performance.now();
        handler(req, res, next);
        finish();
        elapsed += performance.now() - start;
      }
      if (asynchronous) {
        const start = performance.now();
        while (nexts < target) await Promise.resolve();
        elapsed += performance.now() - start;
      }
      if (nexts !== target) throw new Error('next() was not called once per request');
      counted?.();
      // The sample is the mean of the timed calls; the time budget counts building the objects too.
      return { overriddenDuration: elapsed / BATCH, overriddenIterationCost: performance.now() - built };
    };

    // Short passes, the tasks in turn in each: a burst of other work on the machine then hits one pass, not one task.
    const bench = new Bench({ time: args.timeMs / PASSES, warmupTime: Math.min(200, args.timeMs / PASSES), retainSamples: false });
    bench.add(APP_FLOOR, timed(floor, realExchange, false));
    bench.add(SESSION_FLOOR, timed(floor, oneSession, false));
    bench.add('aadBackendAuth, default (purgeOnStatus [401])', timed(withPurge as unknown as Handler, realExchange, false));
    bench.add('aadBackendAuth, purgeOnStatus: []', timed(withoutPurge as unknown as Handler, realExchange, false));
    bench.add('aadBackendAuth, default, metrics on (OpenTelemetry SDK)', timed(withMetrics as unknown as Handler, realExchange, false));
    bench.add('D, hand-written cache (async)', timed(handWritten, realExchange, true));
    bench.add('aadBackendAuth, default, on fake objects', timed(withPurge as unknown as Handler, () => fakeExchange(), false));
    const countObo = (): void => {
      oboCalls += BATCH;
    };
    bench.add('aadOnBehalfOf, one warm user', timed(onBehalfOf as unknown as Handler, warmUser, false, countObo));
    bench.add(`aadOnBehalfOf, ${OBO_USERS} warm users in turn`, timed(onBehalfOf as unknown as Handler, rotatingUsers, false, countObo));
    const countSessions = (): void => {
      sessionCalls += BATCH;
    };
    bench.add('aadUserToken, one warm session (own token)', timed(sessions.ownToken, oneSession, false, countSessions));
    bench.add(`aadUserToken, ${WARM_SESSIONS} warm sessions in turn (scope: cached per family)`, timed(sessions.scoped, rotatingSessions, false, countSessions));
    bench.add('aadUserToken, one warm session (own token), on fake objects', timed(sessions.ownToken, fakeOneSession, false, countSessions));
    bench.add(`aadUserToken, ${WARM_SESSIONS} warm sessions in turn (scope: cached per family), on fake objects`, timed(sessions.scoped, fakeRotatingSessions, false, countSessions));
    const baseline = await baselineMiddlewares(common, { authorityHost: emulator.url, tenantId: TENANT_ID, clientId: OBO_CLIENT_ID, clientSecret: CLIENT_SECRET, scope: `${RESOURCE}/Orders.Read` }, userHeaders);
    if (baseline !== undefined) {
      bench.add('aadBackendAuth, default (baseline)', timed(baseline.app, realExchange, false));
      bench.add('aadOnBehalfOf, one warm user (baseline)', timed(baseline.onBehalfOf, warmUser, false));
      bench.add(`aadOnBehalfOf, ${OBO_USERS} warm users in turn (baseline)`, timed(baseline.onBehalfOf, rotatingUsers, false));
    }
    const passes = new Map<string, HotPass[]>();
    for (let pass = 0; pass < PASSES; pass++) {
      bench.reset();
      await bench.run();
      for (const task of bench.tasks) {
        const result = task.result;
        if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state} ${result.state === 'errored' ? result.error.message : ''}`);
        const l = result.latency;
        const list = passes.get(task.name) ?? [];
        list.push({ median: l.p50 * 1e6, min: l.min * 1e6, p99: l.p99 * 1e6, batches: l.samplesCount });
        passes.set(task.name, list);
      }
    }
    const obo: OboHotPath = {
      users: OBO_USERS,
      calls: oboCalls,
      verifications: validator.verifications - verificationsBefore,
      tokenRequests: onBehalfOf.tokenProvider.stats().tokenRequests - tokenRequestsBefore,
    };
    return { batch: BATCH, tasks: [...passes].map(([name, list]) => ({ name, passes: list })), obo, session: { ...sessionCounts(), calls: sessionCalls } };
  } finally {
    await emulator.close();
  }
}

/**
 * With `BENCH_BASELINE` naming another build's `dist` folder (an earlier commit's `npm run build`), the
 * same hot paths of that build, warmed the same way, run as tasks of their own in the same passes:
 * before and after, side by side in one process.
 */
async function baselineMiddlewares(
  app: Record<string, unknown>,
  onBehalfOf: Record<string, unknown>,
  userHeaders: readonly string[][],
): Promise<{ app: Handler; onBehalfOf: Handler } | undefined> {
  const dist = process.env.BENCH_BASELINE;
  if (dist === undefined || dist === '') return undefined;
  type Factory = (options: Record<string, unknown>) => Handler & { tokenProvider: { getToken(): Promise<unknown> } };
  const built = (await import(pathToFileURL(`${dist}/index.js`).href)) as { aadBackendAuth: Factory; aadOnBehalfOf: Factory };
  const baselineApp = built.aadBackendAuth(app);
  await baselineApp.tokenProvider.getToken();
  const baselineObo = built.aadOnBehalfOf(onBehalfOf);
  for (const raw of userHeaders) {
    const { req, res } = realExchange(raw);
    await new Promise<void>((resolve, reject) => baselineObo(req, res, (err?: unknown) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err))))));
  }
  return { app: baselineApp, onBehalfOf: baselineObo };
}

serve({ run }, null);
