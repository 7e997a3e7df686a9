import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** A request from the parent: run `command` with `args` and answer under `id`. */
interface CallMessage {
  readonly id: number;
  readonly command: string;
  readonly args: unknown;
}
type ReplyMessage = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };
type ReadyMessage = { readonly ready: unknown };

export type Handlers = Record<string, (args: never) => unknown>;

/** Child side: announce `ready`, then answer each call with its handler's result. */
export function serve(handlers: Handlers, ready: unknown): void {
  if (process.send === undefined) throw new Error('run this file through bench/run.ts: it needs an IPC channel');
  process.on('message', (message: CallMessage) => {
    const handler = handlers[message.command];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown command ${message.command}`);
        return handler(message.args as never);
      })
      .then(
        (result) => process.send!({ id: message.id, result } satisfies ReplyMessage),
        (error: unknown) => process.send!({ id: message.id, error: error instanceof Error ? error.stack ?? error.message : String(error) } satisfies ReplyMessage),
      );
  });
  // The parent stops a child by disconnecting, and its death must not leave a busy child behind.
  process.on('disconnect', () => process.exit(0));
  process.send({ ready } satisfies ReadyMessage);
}

export interface Child<Ready> {
  readonly ready: Ready;
  readonly pid: number;
  call<R>(command: string, args?: unknown): Promise<R>;
  stop(): Promise<void>;
}

let tasksetChecked: boolean | undefined;

/** Whether processes can be pinned: taskset exists, there are 2 cores, and BENCH_PIN is not 0. */
export function canPin(): boolean {
  if (process.env.BENCH_PIN === '0') return false;
  tasksetChecked ??= availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return tasksetChecked;
}

/**
 * Moves this process (every thread of it) to `cpu`, so that the load generator
 * never steals time from the gateways' core. Returns whether it worked.
 */
export function pinSelf(cpu: number): boolean {
  return canPin() && spawnSync('taskset', ['-a', '-cp', String(cpu), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts `bench/<script>` in its own node process (through tsx), pinned to `cpu`
 * with taskset when possible, and waits for it to say it is ready.
 */
export async function startChild<Ready>(script: string, cpu: number, argument: unknown, nodeFlags: readonly string[] = []): Promise<Child<Ready>> {
  const file = fileURLToPath(new URL(script, import.meta.url));
  const nodeArgs = [...nodeFlags, '--import', 'tsx', file, JSON.stringify(argument)];
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'] as const;
  const child: ChildProcess = canPin()
    ? spawn('taskset', ['-c', String(cpu), process.execPath, ...nodeArgs], { stdio: [...stdio] })
    : spawn(process.execPath, nodeArgs, { stdio: [...stdio] });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const exited = once(child, 'exit');
  const ready = await new Promise<unknown>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${script} exited with ${String(code)} before it was ready`));
    child.once('exit', onExit);
    child.once('message', (message: ReadyMessage) => {
      child.off('exit', onExit);
      resolve(message.ready);
    });
  });
  child.on('message', (message: ReplyMessage) => {
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    if ('error' in message) waiter.reject(new Error(`${script}: ${message.error}`));
    else waiter.resolve(message.result);
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${script} exited with ${String(code)}`));
    pending.clear();
  });
  return {
    ready: ready as Ready,
    pid: child.pid!,
    call<R>(command: string, args?: unknown): Promise<R> {
      const id = nextId++;
      return new Promise<R>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, command, args } satisfies CallMessage);
      });
    },
    async stop(): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // Disconnecting makes the child exit by itself, so `--cpu-prof` gets to write its profile.
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGTERM'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
