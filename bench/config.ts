/** Every knob of `npm run bench`, from environment variables; `BENCH_QUICK=1` is a smoke run of a few seconds per scenario. */

export const SCENARIOS = ['throughput', 'obo', 'burst', 'session', 'refresh', 'memory', 'hot'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchConfig {
  readonly quick: boolean;
  readonly scenarios: readonly Scenario[];
  /** IdP latency per token request, ms. */
  readonly idpLatencyMs: number;
  /** autocannon connections for the steady-load scenarios. */
  readonly connections: number;
  /** Gateway processes for the throughput comparison; ratios are also given as the median across them. */
  readonly processes: number;
  /** Rounds per gateway process; each round loads every gateway once, in rotating order. */
  readonly rounds: number;
  readonly roundSeconds: number;
  readonly warmupSeconds: number;
  /** Concurrent requests of the cold burst. */
  readonly burstRequests: number;
  /** Fresh processes per gateway for the cold burst. */
  readonly burstRepeats: number;
  /** Cookie sessions of the cold herd, each with an expired access token. */
  readonly herdSessions: number;
  /** Concurrent requests per session in the cold herd. */
  readonly herdRequests: number;
  /** Fresh gateway processes per gateway for the cold herd. */
  readonly herdRepeats: number;
  readonly refreshSeconds: number;
  readonly refreshTokenSeconds: number;
  readonly memoryRequests: number;
  /** Distinct user tokens rotating under load in the on-behalf-of scenario. */
  readonly oboUsers: number;
  /** tinybench time per hot-path task, ms, split over its passes. */
  readonly hotTimeMs: number;
  /** Child processes the hot path runs in, one after another; its figures are over the passes of all of them. */
  readonly hotProcesses: number;
  /** Where results go (BENCH_RESULTS); empty to only print them. */
  readonly resultsFile: string;
}

function number(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

function scenarios(): Scenario[] {
  const raw = process.env.BENCH_ONLY;
  if (raw === undefined || raw === '') return [...SCENARIOS];
  const picked = raw.split(',').map((s) => s.trim());
  for (const name of picked) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`BENCH_ONLY: unknown scenario ${name}; pick from ${SCENARIOS.join(', ')}`);
  }
  return picked as Scenario[];
}

export function readConfig(): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1';
  return {
    quick,
    scenarios: scenarios(),
    idpLatencyMs: number('BENCH_IDP_LATENCY_MS', 50, 0),
    connections: number('BENCH_CONNECTIONS', 10, 1),
    processes: number('BENCH_PROCESSES', quick ? 1 : 3, 1),
    rounds: number('BENCH_ROUNDS', 5, 1),
    roundSeconds: number('BENCH_ROUND_SECONDS', quick ? 0.5 : 1, 0.1),
    warmupSeconds: number('BENCH_WARMUP_SECONDS', quick ? 0.5 : 1, 0),
    burstRequests: number('BENCH_BURST', 1000, 1),
    burstRepeats: number('BENCH_BURST_REPEATS', quick ? 1 : 3, 1),
    herdSessions: number('BENCH_HERD_SESSIONS', 50, 1),
    herdRequests: number('BENCH_HERD_REQUESTS', 20, 1),
    herdRepeats: number('BENCH_HERD_REPEATS', quick ? 1 : 3, 1),
    refreshSeconds: number('BENCH_REFRESH_SECONDS', quick ? 13 : 30, 1),
    refreshTokenSeconds: number('BENCH_REFRESH_TOKEN_SECONDS', 6, 1),
    memoryRequests: number('BENCH_MEMORY_REQUESTS', quick ? 20_000 : 200_000, 1),
    oboUsers: number('BENCH_OBO_USERS', 100, 1),
    hotTimeMs: number('BENCH_HOT_MS', quick ? 500 : 2000, 10),
    hotProcesses: number('BENCH_HOT_PROCESSES', quick ? 1 : 3, 1),
    // A partial or quick run prints its report but leaves the full results alone.
    resultsFile: process.env.BENCH_RESULTS ?? (quick || process.env.BENCH_ONLY ? '' : 'bench/results.md'),
  };
}
