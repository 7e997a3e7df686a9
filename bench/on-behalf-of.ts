/**
 * `BENCH_QUICK=1 node --import tsx bench/on-behalf-of.ts`: the `aadOnBehalfOf` gateway (O)
 * against the no-auth ceiling (A) in the same process, with 100 users rotating under load.
 * Reports req/s ratio O/A per round, CPU per request, token requests (must be 100: one per
 * user token), RS256 verifications (must be 100), and the hot path with a warm user.
 */
import autocannon from 'autocannon';
import { loadavg } from 'node:os';
import { startEntraEmulator } from '../lib/testing/index.js';
import { CLIENT_SECRET, TENANT_ID } from './identity.js';
import { canPin, pinSelf, startChild } from './ipc.js';
import type { OboGatewaysArgument } from './obo-gateways.js';
import { close, createBackend, listen } from './servers.js';
import { median } from './stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const USERS = 100;
const ROUNDS = QUICK ? 4 : 10;
const ROUND_SECONDS = QUICK ? 0.5 : 1;
const CONNECTIONS = 10;
const CLIENT_ID = 'c0ffee00-0000-4000-8000-00000000b0b0';
const SCOPE = 'api://bench-backend/Orders.Read';
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const pinned = canPin() && pinSelf(0);
const idp = await startEntraEmulator({ latencyMs: 50, tenants: [TENANT_ID], clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }] });
const backend = createBackend();
const backendUrl = await listen(backend);
const users = await Promise.all(Array.from({ length: USERS }, (_, i) => idp.issueUserToken({ oid: `bench-user-${i}`, name: `User ${i}`, aud: `api://${CLIENT_ID}` })));
const child = await startChild<{ urls: { A: string; O: string } }>('./obo-gateways.ts', 1, {
  backendUrl,
  authorityHost: idp.url,
  clientId: CLIENT_ID,
  scope: SCOPE,
} satisfies OboGatewaysArgument);

/** Steady load; with `rotate`, each request carries the next user's token. */
async function load(url: string, seconds: number, rotate: boolean): Promise<{ ok: number; failed: number; rps: number }> {
  let turn = 0;
  const started = performance.now();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    sampleInt: 100,
    requests: [
      {
        setupRequest: (request: autocannon.Request) => {
          if (rotate) request.headers = { ...request.headers, authorization: `Bearer ${users[turn++ % USERS]!}` };
          return request;
        },
      },
    ],
  });
  const ok = result['2xx'];
  return { ok, failed: result.non2xx + result.errors, rps: (ok * 1000) / (performance.now() - started) };
}

async function measure(name: 'A' | 'O'): Promise<{ rps: number; cpuPerRequest: number; failed: number }> {
  const cpuBefore = await child.call<number>('cpuMicros');
  const result = await load(child.ready.urls[name], ROUND_SECONDS, name === 'O');
  const cpu = (await child.call<number>('cpuMicros')) - cpuBefore;
  return { rps: result.rps, cpuPerRequest: cpu / Math.max(1, result.ok), failed: result.failed };
}

try {
  log('warm-up…');
  await load(child.ready.urls.A, ROUND_SECONDS, false);
  const warm = await load(child.ready.urls.O, ROUND_SECONDS * 2, true);
  const afterWarmUp = await child.call<{ tokenRequests: number; keys: number; verifications: number }>('stats');
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  const samples: { A: number[]; O: number[]; cpuA: number[]; cpuO: number[] } = { A: [], O: [], cpuA: [], cpuO: [] };
  let failed = warm.failed;
  for (let round = 0; round < ROUNDS; round++) {
    const order: ('A' | 'O')[] = round % 2 === 0 ? ['A', 'O'] : ['O', 'A'];
    const got: Record<string, { rps: number; cpuPerRequest: number; failed: number }> = {};
    for (const name of order) got[name] = await measure(name);
    ratios.push(got['O']!.rps / got['A']!.rps);
    cpuRatios.push(got['O']!.cpuPerRequest / got['A']!.cpuPerRequest);
    samples.A.push(got['A']!.rps);
    samples.O.push(got['O']!.rps);
    samples.cpuA.push(got['A']!.cpuPerRequest);
    samples.cpuO.push(got['O']!.cpuPerRequest);
    failed += got['O']!.failed + got['A']!.failed;
    log(`round ${round + 1}: O/A ${ratios.at(-1)!.toFixed(3)}`);
  }
  const stats = await child.call<{ tokenRequests: number; keys: number; verifications: number; cacheHits: number }>('stats');
  const hot = await child.call<{ nsPerCall: number; verifications: number }>('hot', { userToken: users[0], iterations: QUICK ? 50_000 : 500_000 });
  const emulatorTokenRequests = idp.tokenRequests.length;
  const fmt = (n: number, digits = 2): string => n.toFixed(digits);
  const lines = [
    `## On behalf of the user (aadOnBehalfOf), ${QUICK ? 'BENCH_QUICK=1' : 'full'} run, ${new Date().toISOString()}`,
    '',
    `Command: \`${QUICK ? 'BENCH_QUICK=1 ' : ''}node --import tsx bench/on-behalf-of.ts\`; ${USERS} user tokens rotating over ${CONNECTIONS} connections; IdP latency 50 ms; ${ROUNDS} rounds of ${ROUND_SECONDS} s per gateway, alternating order; pinned: ${pinned ? 'yes' : 'no'}; load average after: ${loadavg().map((n) => n.toFixed(2)).join(' ')}.`,
    '',
    '| Measure | Value |',
    '| --- | --- |',
    `| req/s, A (no auth), median | ${fmt(median(samples.A), 0)} |`,
    `| req/s, O (aadOnBehalfOf), median | ${fmt(median(samples.O), 0)} |`,
    `| O/A req/s, median (min–max) per round | ${fmt(median(ratios), 3)} (${fmt(Math.min(...ratios), 3)}–${fmt(Math.max(...ratios), 3)}) |`,
    `| CPU per request, A / O, median µs | ${fmt(median(samples.cpuA), 1)} / ${fmt(median(samples.cpuO), 1)} |`,
    `| O/A CPU per request, median (min–max) | ${fmt(median(cpuRatios), 3)} (${fmt(Math.min(...cpuRatios), 3)}–${fmt(Math.max(...cpuRatios), 3)}) |`,
    `| token requests after warm-up (must be ${USERS}) | ${afterWarmUp.tokenRequests} |`,
    `| token requests at the end, provider / emulator (must be ${USERS}) | ${stats.tokenRequests} / ${emulatorTokenRequests} |`,
    `| RS256 verifications at the end (one per user token: ${USERS}) | ${stats.verifications} |`,
    `| users held (stats().keys) | ${stats.keys} |`,
    `| failed answers | ${failed} |`,
    `| hot path, warm user: middleware alone, ns per call | ${fmt(hot.nsPerCall, 0)} |`,
    `| hot path, warm user: RS256 verifications during the loop (target 0) | ${hot.verifications} |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const problems = [
    stats.tokenRequests !== USERS && `token requests ${stats.tokenRequests}, not ${USERS}`,
    hot.verifications !== 0 && `${hot.verifications} verifications on the hot path`,
    failed !== 0 && `${failed} failed answers`,
  ].filter(Boolean);
  if (problems.length > 0) {
    log(`targets not met: ${problems.join('; ')}`);
    process.exitCode = 1;
  }
} finally {
  await child.stop();
  await close(backend);
  await idp.close();
}
