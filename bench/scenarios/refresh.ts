/**
 * The refresh boundary: tokens that live `refreshTokenSeconds` while steady load
 * runs for `refreshSeconds`, first on B, then on D. Requests that started
 * around each token request are compared with control windows of the same
 * length half-way between refreshes, so that a stall from other work on the
 * machine is not taken for a refresh spike, nor hides one.
 */
import type { BenchConfig } from '../config.js';
import type { Harness } from '../harness.js';
import type { ProviderStatsSample } from '../gateways.js';
import { runLoad } from '../load.js';
import { median, summarizeLatencies, type LatencySummary } from '../stats.js';

/** A request belongs to a refresh when it started this long before the first token request of it... */
const BEFORE_MS = 100;
/** ...up to this long after the last token request of it was answered. */
const AFTER_MS = 100;
/** Token requests closer together than this belong to the same refresh. */
const CLUSTER_GAP_MS = 1000;

export interface RefreshWindow extends LatencySummary {
  /** Seconds since the load started. */
  readonly at: number;
  readonly tokenRequests: number;
}

export interface RefreshRun {
  readonly gateway: 'B' | 'D';
  readonly windows: readonly RefreshWindow[];
  /** The same windows moved half-way to the next refresh: no token request in them. */
  readonly controls: readonly LatencySummary[];
  readonly steady: LatencySummary;
  readonly overall: LatencySummary;
  readonly tokenRequests: number;
  readonly failed: number;
  /** B only: the provider's own counters during the load (waits = requests that waited for a token). */
  readonly provider?: ProviderStatsSample;
  /** Medians over the refresh windows and over the control windows of their p99 and max. */
  readonly windowP99: number;
  readonly controlP99: number;
  readonly windowMax: number;
  readonly controlMax: number;
  /** Whether refreshes made requests wait: the median window p99 above the median control p99 by half the IdP latency or more. */
  readonly spike: boolean;
}

export interface RefreshResult {
  readonly tokenSeconds: number;
  readonly loadSeconds: number;
  readonly idpLatencyMs: number;
  readonly runs: readonly RefreshRun[];
}

function clusters(times: readonly number[]): number[][] {
  const result: number[][] = [];
  for (const t of [...times].sort((a, b) => a - b)) {
    const last = result[result.length - 1];
    if (last !== undefined && t - last[last.length - 1]! < CLUSTER_GAP_MS) last.push(t);
    else result.push([t]);
  }
  return result;
}

function delta(after: ProviderStatsSample, before: ProviderStatsSample): ProviderStatsSample {
  return {
    tokenRequests: after.tokenRequests - before.tokenRequests,
    waits: after.waits - before.waits,
    refreshes: after.refreshes - before.refreshes,
    cacheHits: after.cacheHits - before.cacheHits,
  };
}

export async function refresh(config: BenchConfig, harness: Harness, log: (line: string) => void): Promise<RefreshResult> {
  const emulator = await harness.startEmulator(['refresh-B', 'refresh-D'], config.refreshTokenSeconds);
  const gateways = await harness.startGateways([
    { name: 'B', kind: 'aadBackendAuth', clientId: 'refresh-B', authorityHost: emulator.url },
    { name: 'D', kind: 'hand-cache', clientId: 'refresh-D', authorityHost: emulator.url },
  ]);
  const runs: RefreshRun[] = [];
  const providerStats = async (): Promise<ProviderStatsSample> => (await gateways.call<Record<string, ProviderStatsSample>>('providerStats')).B!;
  try {
    for (const name of ['B', 'D'] as const) {
      const url = gateways.ready.urls[name]!;
      await runLoad({ url, connections: config.connections, duration: Math.min(1, config.warmupSeconds || 1) });
      const before = name === 'B' ? await providerStats() : undefined;
      const loadStart = Date.now();
      const load = await runLoad({ url, connections: config.connections, duration: config.refreshSeconds, recordStarts: true });
      const all = await emulator.requestsFrom(`refresh-${name}`);
      const during = all.map((r) => r.receivedAt).filter((t) => t >= loadStart);
      const inWindow = new Uint8Array(load.latencies.length);
      const select = (from: number, to: number, mark: boolean): number[] => {
        const latencies: number[] = [];
        load.starts.forEach((start, i) => {
          if (start < from || start > to) return;
          latencies.push(load.latencies[i]!);
          if (mark) inWindow[i] = 1;
        });
        return latencies;
      };
      const spans = clusters(during).map((cluster) => ({
        cluster,
        from: cluster[0]! - BEFORE_MS,
        to: cluster[cluster.length - 1]! + config.idpLatencyMs + AFTER_MS,
      }));
      const windows: RefreshWindow[] = spans.map(({ cluster, from, to }) => ({
        at: (cluster[0]! - loadStart) / 1000,
        tokenRequests: cluster.length,
        ...summarizeLatencies(select(from, to, true)),
      }));
      const gaps = spans.slice(1).map((span, i) => span.from - spans[i]!.from);
      const shift = gaps.length === 0 ? (config.refreshTokenSeconds * 1000) / 2 : median(gaps) / 2;
      const loadEnd = loadStart + config.refreshSeconds * 1000;
      const controls = spans
        .map(({ from, to }) => ({ from: from + shift, to: to + shift }))
        .filter((c) => c.to <= loadEnd && !spans.some((w) => c.from <= w.to && w.from <= c.to))
        .map((c) => summarizeLatencies(select(c.from, c.to, false)));
      const steady = summarizeLatencies(load.latencies.filter((_, i) => inWindow[i] === 0));
      const windowP99 = median(windows.map((w) => w.p99));
      const controlP99 = median(controls.map((c) => c.p99));
      const spike = windowP99 >= controlP99 + config.idpLatencyMs / 2;
      const after = name === 'B' ? await providerStats() : undefined;
      const stats = before === undefined || after === undefined ? undefined : delta(after, before);
      runs.push({
        gateway: name,
        windows,
        controls,
        windowP99,
        controlP99,
        windowMax: median(windows.map((w) => w.max)),
        controlMax: median(controls.map((c) => c.max)),
        steady,
        overall: summarizeLatencies(load.latencies),
        tokenRequests: during.length,
        failed: load.failed,
        ...(stats === undefined ? {} : { provider: stats }),
        spike,
      });
      const shown = windows.map((w) => `${w.at.toFixed(1)}s: p99 ${w.p99.toFixed(1)} max ${w.max.toFixed(1)} (${w.tokenRequests} tok)`);
      log(`  refresh ${name}: control windows p99 ${controlP99.toFixed(1)} ms (median), refresh windows ${windowP99.toFixed(1)} ms; ${shown.join('; ')}`);
    }
  } finally {
    await gateways.stop();
    await emulator.close();
  }
  return { tokenSeconds: config.refreshTokenSeconds, loadSeconds: config.refreshSeconds, idpLatencyMs: config.idpLatencyMs, runs };
}
