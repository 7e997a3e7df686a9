// Starts fleet gateways (test/fixtures/fleet-gateway.ts) as child processes and drives them.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import type { FleetGatewayConfig, FleetMessage, FleetRequest, FleetRoute } from '../fixtures/fleet-gateway.js';
import type { TokenProviderStats } from '../../lib/core/types.js';

export type { FleetGatewayConfig, FleetRoute };

const FIXTURE = fileURLToPath(new URL('../fixtures/fleet-gateway.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type RequestBody = WithoutId<FleetRequest>;

export interface FleetInstance {
  readonly url: string;
  readonly process: ChildProcess;
  /** The health lines its RedisTokenCache logged. */
  readonly logs: { level: string; message: string }[];
  addRoute(route: FleetRoute): Promise<void>;
  /** Sends one command through its cache, then tells whether the cache is healthy and the client connected. */
  health(): Promise<{ healthy: boolean; connected: boolean }>;
  stats(path: string): Promise<TokenProviderStats>;
  /** SIGKILL, and waits for the process to be gone. */
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts one gateway process. `cpu` pins it with taskset (benchmarks). */
export async function startFleetInstance(config: FleetGatewayConfig, options: { cpu?: number } = {}): Promise<FleetInstance> {
  const node = [process.execPath, '--import', 'tsx', FIXTURE];
  const [command, ...args] = options.cpu === undefined ? node : ['taskset', '-c', String(options.cpu), ...node];
  const child = spawn(command!, args, {
    env: { ...process.env, FLEET_GATEWAY_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));

  const logs: { level: string; message: string }[] = [];
  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  let url: string | undefined;
  let onReady: ((url: string) => void) | undefined;
  child.on('message', (message: FleetMessage) => {
    if (message.type === 'ready') onReady?.(message.url);
    else if (message.type === 'log') logs.push({ level: message.level, message: message.message });
    else pending.get(message.id)?.(message.value);
  });

  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a fleet gateway did not start in time')), START_TIMEOUT_MS);
    onReady = (ready) => {
      clearTimeout(timer);
      resolve(ready);
    };
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`a fleet gateway exited during start-up (${child.exitCode ?? child.signalCode})`));
    });
  });

  const ask = <T>(body: RequestBody): Promise<T> => {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`a fleet gateway did not answer ${body.type}`));
      }, REPLY_TIMEOUT_MS);
      pending.set(id, (value) => {
        clearTimeout(timer);
        pending.delete(id);
        const failure = (value as { error?: string } | undefined)?.error;
        if (failure !== undefined) reject(new Error(failure));
        else resolve(value as T);
      });
      child.send({ ...body, id });
    });
  };

  return {
    url,
    process: child,
    logs,
    addRoute: (route) => ask<boolean>({ type: 'route', route }).then(() => undefined),
    health: () => ask({ type: 'health' }),
    stats: (path) => ask({ type: 'stats', path }),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Sends `count` GETs at once (at most `concurrency` in flight) and returns their statuses; 0 for a transport error. */
export async function hit(url: string, count: number, concurrency = count): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    return await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<number>((resolve) => {
            const req = http.get(url, { agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
              res.on('error', () => resolve(0));
            });
            req.on('error', () => resolve(0));
          }),
      ),
    );
  } finally {
    agent.destroy();
  }
}
