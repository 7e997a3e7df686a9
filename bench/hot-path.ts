/**
 * Child process: the hot path in ns per call, with tinybench. The middleware
 * handles fake requests while its token is cached; each batch of calls gets
 * fresh request and response objects, built outside the timed loop.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Bench } from 'tinybench';
import { aadBackendAuth } from '../lib/index.js';
import { startEntraEmulator } from '../lib/testing/index.js';
import { handWrittenCache } from './hand-written.js';
import { CLIENT_SECRET, RESOURCE, TENANT_ID } from './identity.js';
import { serve } from './ipc.js';

/** Calls per timed batch: enough to dwarf the timer's own cost. */
const BATCH = 1000;

type Handler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

export interface HotPathTask {
  readonly name: string;
  /** Per call, from the per-batch means. */
  readonly medianNs: number;
  readonly minNs: number;
  readonly p99Ns: number;
  readonly maxNs: number;
  readonly rmePercent: number;
  readonly batches: number;
}

export interface HotPathResult {
  readonly batch: number;
  readonly tasks: readonly HotPathTask[];
}

/** What Node hands a middleware, as far as it looks: a headers object and an EventEmitter response. */
function fakeExchange(): { req: IncomingMessage; res: ServerResponse } {
  const req = {
    method: 'GET',
    url: '/api/orders/42',
    headers: { host: 'gateway.example', 'user-agent': 'bench', accept: 'application/json', 'x-request-id': 'r-1', authorization: 'Bearer inbound-user-token' },
  } as unknown as IncomingMessage;
  const res = Object.assign(new EventEmitter(), { statusCode: 200, writableEnded: false }) as unknown as ServerResponse;
  return { req, res };
}

async function run(args: { timeMs: number }): Promise<HotPathResult> {
  const emulator = await startEntraEmulator({ tenants: [TENANT_ID], clients: [{ clientId: 'hot', clientSecret: CLIENT_SECRET }] });
  try {
    const common = { authorityHost: emulator.url, tenantId: TENANT_ID, clientId: 'hot', clientSecret: CLIENT_SECRET, resource: RESOURCE };
    const withPurge = aadBackendAuth(common);
    const withoutPurge = aadBackendAuth({ ...common, purgeOnStatus: [] });
    await withPurge.tokenProvider.getToken();
    await withoutPurge.tokenProvider.getToken();
    const handWritten = handWrittenCache(common);

    let nexts = 0;
    const next = (): void => {
      nexts++;
    };
    const floor: Handler = (req, _res, done) => {
      delete req.headers.authorization;
      req.headers.authorization = 'Bearer cached-token';
      done();
    };
    // Warm D's cache, then wait for its asynchronous next() calls in each batch.
    await new Promise<void>((resolve) => handWritten(fakeExchange().req, fakeExchange().res, () => resolve()));

    const timed = (handler: Handler, asynchronous: boolean) => async () => {
      const exchanges = Array.from({ length: BATCH }, fakeExchange);
      const target = nexts + BATCH;
      const start = performance.now();
      for (let i = 0; i < BATCH; i++) handler(exchanges[i]!.req, exchanges[i]!.res, next);
      if (asynchronous) while (nexts < target) await Promise.resolve();
      const elapsed = performance.now() - start;
      if (nexts !== target) throw new Error('next() was not called once per request');
      return { overriddenDuration: elapsed / BATCH, overriddenIterationCost: elapsed };
    };

    const bench = new Bench({ time: args.timeMs, warmupTime: Math.min(500, args.timeMs), retainSamples: false });
    bench.add('floor: delete + set the header, next()', timed(floor, false));
    bench.add('aadBackendAuth, default (purgeOnStatus [401])', timed(withPurge as unknown as Handler, false));
    bench.add('aadBackendAuth, purgeOnStatus: []', timed(withoutPurge as unknown as Handler, false));
    bench.add('D, hand-written cache (async)', timed(handWritten, true));
    await bench.run();

    const tasks: HotPathTask[] = bench.tasks.map((task) => {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state} ${result.state === 'errored' ? result.error.message : ''}`);
      const l = result.latency;
      return { name: task.name, medianNs: l.p50 * 1e6, minNs: l.min * 1e6, p99Ns: l.p99 * 1e6, maxNs: l.max * 1e6, rmePercent: l.rme, batches: l.samplesCount };
    });
    return { batch: BATCH, tasks };
  } finally {
    await emulator.close();
  }
}

serve({ run }, null);
