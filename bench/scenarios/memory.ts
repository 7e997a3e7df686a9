/** Memory: a fresh process holding only B, measured after warm-up and after `memoryRequests` requests. */
import type { BenchConfig } from '../config.js';
import type { MemorySample } from '../gateways.js';
import type { Harness } from '../harness.js';
import { runLoad } from '../load.js';

const WARMUP_REQUESTS = 5000;

export interface MemoryResult {
  readonly requests: number;
  readonly okRequests: number;
  readonly failed: number;
  /** After warm-up, after a full GC. */
  readonly baseline: MemorySample;
  /** After the load, before any forced GC. */
  readonly after: MemorySample;
  /** After the load and a full GC: what stays. */
  readonly afterGc: MemorySample;
  readonly tokenRequests: number;
}

export async function memory(config: BenchConfig, harness: Harness, log: (line: string) => void): Promise<MemoryResult> {
  const emulator = await harness.startEmulator(['memory-B'], 3599);
  const gateway = await harness.startGateways([{ name: 'B', kind: 'aadBackendAuth', clientId: 'memory-B', authorityHost: emulator.url }], ['--expose-gc']);
  try {
    const url = gateway.ready.urls.B!;
    await runLoad({ url, connections: config.connections, amount: WARMUP_REQUESTS });
    const baseline = await gateway.call<MemorySample>('memory', { gc: true });
    const load = await runLoad({ url, connections: config.connections, amount: config.memoryRequests });
    const after = await gateway.call<MemorySample>('memory', { gc: false });
    const afterGc = await gateway.call<MemorySample>('memory', { gc: true });
    const tokenRequests = (await emulator.requestsFrom('memory-B')).length;
    const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;
    log(`  memory B: rss ${mb(baseline.rss)} → ${mb(after.rss)} (${mb(afterGc.rss)} after GC); heap ${mb(baseline.heapUsed)} → ${mb(after.heapUsed)} (${mb(afterGc.heapUsed)} after GC)`);
    return { requests: config.memoryRequests, okRequests: load.ok, failed: load.failed, baseline, after, afterGc, tokenRequests };
  } finally {
    await gateway.stop();
    await emulator.close();
  }
}
