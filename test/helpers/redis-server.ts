// A real redis-server on a free loopback port, persistence off, started and
// killed by the tests themselves. No mocks of Redis anywhere.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

const BINARY = 'redis-server';
const READY = /Ready to accept connections/;
const START_TIMEOUT_MS = 10_000;

/** The path of redis-server, or `undefined` when it is not installed. */
export function redisServerPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/sbin', '/usr/local/bin'])) {
    if (dir !== '' && existsSync(join(dir, BINARY))) return join(dir, BINARY);
  }
  return undefined;
}

/**
 * Call from a `before` hook: the path of redis-server, or the suite is skipped
 * with a one-line reason. Under `CI=true` a missing binary fails instead.
 */
export function requireRedisServer(context: Mocha.Context): string {
  const path = redisServerPath();
  if (path !== undefined) return path;
  const reason = 'redis-server is not installed (Debian package: redis-server)';
  if (process.env.CI === 'true') throw new Error(`${reason}; it is required under CI=true`);
  console.warn(`      skipped: ${reason}`);
  context.skip();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function launch(binary: string, port: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server did not start in ${START_TIMEOUT_MS} ms: ${output.slice(-500)}`)), START_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (READY.test(output)) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve(child);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)));
  });
}

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Whether the server process is up. */
  readonly running: boolean;
  /** SIGKILL: the way a crash or a lost node looks to clients. */
  kill(): Promise<void>;
  /** Starts a new, empty server on the same port. */
  restart(): Promise<void>;
  /** Kills it for good. */
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port (retrying if another process grabs the port first). */
export async function startRedisServer(binary: string): Promise<RedisServer> {
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await launch(binary, port);
    } catch (error) {
      if (attempt >= 2) throw error;
    }
  }
  let current: ChildProcess | undefined = child;
  const kill = async (): Promise<void> => {
    const dying = current;
    current = undefined;
    if (dying === undefined || dying.exitCode !== null || dying.signalCode !== null) return;
    const exited = new Promise((resolve) => dying.once('exit', resolve));
    dying.kill('SIGKILL');
    await exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return current !== undefined;
    },
    kill,
    async restart() {
      await kill();
      current = await launch(binary, port);
    },
    stop: kill,
  };
}

/**
 * For tests that do not kill or reconfigure Redis: `REDIS_URL` when set (CI may
 * provide one), otherwise a server of our own. Use a unique key prefix per test.
 */
export async function sharedOrOwnRedis(context: Mocha.Context): Promise<{ url: string; stop(): Promise<void> }> {
  const external = process.env.REDIS_URL;
  if (external !== undefined && external !== '') return { url: external, stop: async () => undefined };
  const server = await startRedisServer(requireRedisServer(context));
  return { url: server.url, stop: () => server.stop() };
}
