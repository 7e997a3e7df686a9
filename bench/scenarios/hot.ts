/** The hot path micro-benchmark, in child processes of its own on the gateway core, one after another. */
import type { BenchConfig } from '../config.js';
import { GATEWAY_CPU } from '../harness.js';
import { summarizeHotPath, type HotPathResult, type HotPathRun } from '../hot-summary.js';
import { startChild } from '../ipc.js';

export async function hotPath(config: BenchConfig, log: (line: string) => void): Promise<HotPathResult> {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const runs: HotPathRun[] = [];
  // A fresh process's JIT moves a task by a hundred ns or so: the passes of several are pooled.
  for (let i = 0; i < config.hotProcesses; i++) {
    const child = await startChild<null>('./hot-path.ts', GATEWAY_CPU, null, profile);
    try {
      runs.push(await child.call<HotPathRun>('run', { timeMs: config.hotTimeMs }));
    } finally {
      await child.stop();
    }
  }
  const result = summarizeHotPath(runs);
  for (const task of result.tasks) log(`  hot path ${task.name}: ${task.medianNs.toFixed(0)} ns/call (passes ${task.passMinNs.toFixed(0)}–${task.passMaxNs.toFixed(0)}, fastest batch ${task.minNs.toFixed(0)})`);
  log(`  hot path aadOnBehalfOf, warm users: ${result.obo.verifications} RS256 verifications, ${result.obo.tokenRequests} token requests in ${result.obo.calls} calls`);
  const s = result.session;
  log(`  hot path aadUserToken, warm sessions: ${s.tokenRequests} token requests, ${s.refreshRedemptions} refresh redemptions, ${s.sessionWrites} session writes in ${s.calls} calls`);
  return result;
}
