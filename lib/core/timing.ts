import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';

/** Waits `ms` without keeping the process alive; resolves early (never rejects) when `signal` aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal === undefined ? { ref: false } : { ref: false, signal });
  } catch {
    // Aborted: the caller checks its own signal.
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<T>).then === 'function';
}

/** Rejects if `value` takes longer than `ms`; any thenable is guarded, and the timer never holds the process open. */
export async function withTimeout<T>(value: T | PromiseLike<T>, ms: number): Promise<T> {
  if (!isThenable(value)) return value;
  const controller = new AbortController();
  // Timers run before I/O in an event-loop turn: after a stall, wait one turn so an
  // answer that arrived in time is read before the deadline counts.
  const expired = delay(ms, undefined, { ref: false, signal: controller.signal })
    .then(() => nextTurn(undefined, { signal: controller.signal }))
    .then(() => {
      throw new Error(`timed out after ${ms} ms`);
    });
  try {
    return await Promise.race([Promise.resolve(value), expired]);
  } finally {
    controller.abort();
  }
}

/**
 * Settles with `work`, or rejects with `signal`'s reason as soon as it aborts: a callee that
 * ignores the signal (a custom credential, say) cannot hold the caller past its deadline.
 */
export function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * A signal that aborts after `ms` (with a `TimeoutError`) or when `parent` aborts; `clear()` when done.
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: on Node 20 the timeout signal inside
 * `any()` can be garbage collected and then never fires (nodejs/node#57736), so a hung request would
 * hang for good. Here the unref'd timer holds the controller strongly.
 */
export function deadlineSignal(ms: number, parent?: AbortSignal): { readonly signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent!.reason);
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  timer.unref();
  if (parent?.aborted === true) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** Longer than any wait that holds it; under setInterval's 2^31-1 ms limit. */
const KEEP_ALIVE_PERIOD_MS = 2 ** 30;

/**
 * Keeps the process alive while callers wait on work whose timers are unref'd (retry back-off,
 * deadlines), so that a script awaiting a token does not exit mid-retry. One ref'd handle for all
 * of its holders; idle, nothing is held. Each provider owns one.
 */
export class ProcessHold {
  #holders = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Holds the process open until the returned release is called (calling it twice is harmless). */
  hold(): () => void {
    if (this.#holders++ === 0) this.#timer = setInterval(() => undefined, KEEP_ALIVE_PERIOD_MS);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holders === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }
}

/** Jittered exponential back-off: half fixed, half random, so a fleet does not retry in step. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Settles with `work`, or rejects with `late()` once `deadline` (ms since the epoch) has passed; the timer never holds the process open. */
export function beforeDeadline<T>(work: Promise<T>, deadline: number, late: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // Past the deadline, work that has already settled still wins: its callbacks run before the timer.
    const timer = setTimeout(() => reject(late()), Math.max(0, deadline - Date.now()));
    timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
