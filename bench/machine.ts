/** The machine a run happened on, for the results file. */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';

export interface Machine {
  readonly nproc: string;
  readonly cpuModel: string;
  readonly node: string;
  readonly kernel: string;
  readonly memoryGb: number;
  readonly loadAverage: readonly number[];
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line?.split(':')[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): Machine {
  const nproc = spawnSync('nproc', { encoding: 'utf8' });
  return {
    nproc: nproc.status === 0 ? nproc.stdout.trim() : String(availableParallelism()),
    cpuModel: cpuModel(),
    node: process.version,
    kernel: release(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}
