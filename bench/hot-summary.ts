/**
 * The hot path's figures, from the passes of one or more child processes (bench/hot-path.ts): a
 * fresh process's JIT moves a task by a hundred ns or so, so its passes are pooled with those of
 * other processes, and every figure is over all passes. A task's cost above its floor is taken
 * pass by pass, against the floor measured in the same pass of the same process.
 */
import { median, spread } from './stats.js';
import type { SessionHotPath } from './hot-sessions.js';

export const APP_FLOOR = 'floor: read the headers, replace Authorization, next()';
export const SESSION_FLOOR = 'floor, on a cookie-session request';

/** The floor a task is measured against: the one on the same kind of request objects (none for fake objects). */
function floorOf(name: string): string | undefined {
  if (name === APP_FLOOR || name === SESSION_FLOOR || name.includes('fake objects')) return undefined;
  return name.startsWith('aadUserToken') ? SESSION_FLOOR : APP_FLOOR;
}

/** One pass of one task, ns per call, from per-batch means. */
export interface HotPass {
  readonly median: number;
  readonly min: number;
  readonly p99: number;
  readonly batches: number;
}

/** What aadOnBehalfOf cost beyond time: RS256 verifications while its tasks ran (target 0). */
export interface OboHotPath {
  /** Distinct warm users in the rotating task. */
  readonly users: number;
  /** Middleware calls by the aadOnBehalfOf tasks once every user was warm (tinybench's warm-up included). */
  readonly calls: number;
  readonly verifications: number;
  readonly tokenRequests: number;
}

/** What one child process measured. */
export interface HotPathRun {
  readonly batch: number;
  /** Each task's passes, in the order the tasks ran. */
  readonly tasks: readonly { readonly name: string; readonly passes: readonly HotPass[] }[];
  readonly obo: OboHotPath;
  readonly session: SessionHotPath & { readonly calls: number };
}

/** ns per call, over every pass of every process. */
export interface HotPathTask {
  readonly name: string;
  /** The median of the pass medians. */
  readonly medianNs: number;
  /** The lowest and highest pass medians. */
  readonly passMinNs: number;
  readonly passMaxNs: number;
  /** The fastest batch of all. */
  readonly minNs: number;
  /** The median of the passes' p99s. */
  readonly p99Ns: number;
  readonly batches: number;
  /** Its floor's task name: the same kind of request objects, with the least a middleware that sets the header does. */
  readonly floor?: string;
  /** The median over passes of (this task's median − its floor's median in the same pass), and the lowest and highest. */
  readonly aboveFloorNs?: number;
  readonly aboveFloorMinNs?: number;
  readonly aboveFloorMaxNs?: number;
}

export interface HotPathResult {
  readonly batch: number;
  /** Passes per process, and processes. */
  readonly passes: number;
  readonly processes: number;
  readonly tasks: readonly HotPathTask[];
  readonly obo: OboHotPath;
  /** aadUserToken's warm sessions: token requests, refresh redemptions and session writes during the timed calls (target 0). */
  readonly session: SessionHotPath & { readonly calls: number };
}

export function summarizeHotPath(runs: readonly HotPathRun[]): HotPathResult {
  const first = runs[0];
  if (first === undefined) throw new Error('no hot-path run to summarize');
  const passesOf = (name: string): HotPass[] => runs.flatMap((run) => run.tasks.find((t) => t.name === name)?.passes ?? []);
  const tasks = first.tasks.map(({ name }): HotPathTask => {
    const passes = passesOf(name);
    const medians = spread(passes.map((p) => p.median));
    const floor = floorOf(name);
    // Pass i of a task and pass i of its floor ran in the same pass of the same process: both lists are in run order.
    const floorPasses = floor === undefined ? undefined : passesOf(floor);
    const above = floorPasses === undefined ? undefined : spread(passes.map((p, i) => p.median - floorPasses[i]!.median));
    return {
      name,
      medianNs: medians.median,
      passMinNs: medians.min,
      passMaxNs: medians.max,
      minNs: Math.min(...passes.map((p) => p.min)),
      p99Ns: median(passes.map((p) => p.p99)),
      batches: passes.reduce((sum, p) => sum + p.batches, 0),
      ...(above === undefined ? {} : { floor: floor!, aboveFloorNs: above.median, aboveFloorMinNs: above.min, aboveFloorMaxNs: above.max }),
    };
  });
  const sum = (of: (run: HotPathRun) => number): number => runs.reduce((total, run) => total + of(run), 0);
  return {
    batch: first.batch,
    passes: first.tasks[0]?.passes.length ?? 0,
    processes: runs.length,
    tasks,
    obo: { users: first.obo.users, calls: sum((r) => r.obo.calls), verifications: sum((r) => r.obo.verifications), tokenRequests: sum((r) => r.obo.tokenRequests) },
    session: {
      sessions: first.session.sessions,
      calls: sum((r) => r.session.calls),
      tokenRequests: sum((r) => r.session.tokenRequests),
      refreshRedemptions: sum((r) => r.session.refreshRedemptions),
      sessionWrites: sum((r) => r.session.sessionWrites),
    },
  };
}
