/**
 * `npm run bench`: the gateways side by side (see bench/README.md). Settings come
 * from BENCH_* environment variables (bench/config.ts); results go to
 * bench/results.md unless BENCH_QUICK=1.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { readConfig } from './config.js';
import { LOAD_CPU, startHarness } from './harness.js';
import { canPin, pinSelf } from './ipc.js';
import { describeMachine } from './machine.js';
import { renderReport } from './report.js';
import type { BenchResults } from './results.js';
import { burst } from './scenarios/burst.js';
import { hotPath } from './scenarios/hot.js';
import { memory } from './scenarios/memory.js';
import { onBehalfOf } from './scenarios/obo.js';
import { refresh } from './scenarios/refresh.js';
import { sessionHerd } from './scenarios/session-herd.js';
import { throughput } from './scenarios/throughput.js';
import { checkTargets } from './targets.js';

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([key]) => key.startsWith('BENCH_'))
    .map(([key, value]) => `${key}=${value ?? ''}`);
  const script = process.env.npm_lifecycle_event;
  const invoked = script === undefined ? 'node --import tsx bench/run.ts' : `npm run ${script}`;
  return [...env, invoked].join(' ');
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const config = readConfig();
const started = performance.now();
const results: BenchResults = {
  command: commandLine(),
  startedAt: new Date().toISOString(),
  seconds: 0,
  config,
  machine: describeMachine(),
  loadAverageAfter: [],
  pinned: canPin() && pinSelf(LOAD_CPU),
  durations: {},
};
if (!results.pinned) log('warning: not pinning processes (taskset missing, one core, or BENCH_PIN=0); ratios will be noisier');

const harness = await startHarness(config.idpLatencyMs);
try {
  for (const scenario of config.scenarios) {
    log(`${scenario}…`);
    const scenarioStart = performance.now();
    switch (scenario) {
      case 'throughput':
        results.throughput = await throughput(config, harness, log);
        break;
      case 'obo':
        results.obo = await onBehalfOf(config, harness, log);
        break;
      case 'burst':
        results.burst = await burst(config, harness, log);
        break;
      case 'session':
        results.session = await sessionHerd(config, harness, log);
        break;
      case 'refresh':
        results.refresh = await refresh(config, harness, log);
        break;
      case 'memory':
        results.memory = await memory(config, harness, log);
        break;
      case 'hot':
        results.hot = await hotPath(config, log);
        break;
    }
    results.durations[scenario] = Math.round((performance.now() - scenarioStart) / 1000);
    log(`  (${results.durations[scenario]} s)`);
  }
} finally {
  await harness.stop();
}

const finished: BenchResults = {
  ...results,
  seconds: (performance.now() - started) / 1000,
  loadAverageAfter: loadavg().map((n) => Math.round(n * 100) / 100),
};
const report = renderReport(finished);
if (config.resultsFile !== '') {
  writeFileSync(config.resultsFile, `${report}\n`);
  log(`wrote ${config.resultsFile}`);
}
process.stdout.write(`${report}\n`);
const missed = checkTargets(finished).filter((t) => t.verdict === 'not met');
if (missed.length > 0) log(`targets not met: ${missed.map((t) => t.target).join('; ')}`);
