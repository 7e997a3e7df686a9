/** Everything one `npm run bench` measured. */
import type { BenchConfig, Scenario } from './config.js';
import type { HotPathResult } from './hot-summary.js';
import type { Machine } from './machine.js';
import type { BurstResult } from './scenarios/burst.js';
import type { MemoryResult } from './scenarios/memory.js';
import type { OboResult } from './scenarios/obo.js';
import type { RefreshResult } from './scenarios/refresh.js';
import type { HerdResult } from './scenarios/session-herd.js';
import type { ThroughputResult } from './scenarios/throughput.js';

export interface BenchResults {
  readonly command: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly config: BenchConfig;
  readonly machine: Machine;
  /** Load average when the run ended: a busy machine shows here. */
  readonly loadAverageAfter: readonly number[];
  readonly pinned: boolean;
  /** Seconds each scenario took. */
  readonly durations: Partial<Record<Scenario, number>>;
  throughput?: ThroughputResult;
  obo?: OboResult;
  burst?: BurstResult;
  session?: HerdResult;
  refresh?: RefreshResult;
  memory?: MemoryResult;
  hot?: HotPathResult;
}
