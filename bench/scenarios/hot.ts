/** The hot path micro-benchmark, in its own process on the gateway core. */
import type { BenchConfig } from '../config.js';
import { GATEWAY_CPU } from '../harness.js';
import type { HotPathResult } from '../hot-path.js';
import { startChild } from '../ipc.js';

export async function hotPath(config: BenchConfig, log: (line: string) => void): Promise<HotPathResult> {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = await startChild<null>('./hot-path.ts', GATEWAY_CPU, null, profile);
  try {
    const result = await child.call<HotPathResult>('run', { timeMs: config.hotTimeMs });
    for (const task of result.tasks) log(`  hot path ${task.name}: ${task.medianNs.toFixed(0)} ns/call (passes ${task.passMinNs.toFixed(0)}–${task.passMaxNs.toFixed(0)}, fastest batch ${task.minNs.toFixed(0)})`);
    log(`  hot path aadOnBehalfOf, warm users: ${result.obo.verifications} RS256 verifications, ${result.obo.tokenRequests} token requests in ${result.obo.calls} calls`);
    const s = result.session;
    log(`  hot path aadUserToken, warm sessions: ${s.tokenRequests} token requests, ${s.refreshRedemptions} refresh redemptions, ${s.sessionWrites} session writes in ${s.calls} calls`);
    return result;
  } finally {
    await child.stop();
  }
}
