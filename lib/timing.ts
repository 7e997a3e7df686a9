import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';

/** Waits `ms` without keeping the process alive; resolves early (never rejects) when `signal` aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal === undefined ? { ref: false } : { ref: false, signal });
  } catch {
    // Aborted: the caller checks its own signal.
  }
}

/** Rejects if `value` takes longer than `ms`; the timer never holds the process open. */
export async function withTimeout<T>(value: T | Promise<T>, ms: number): Promise<T> {
  if (!(value instanceof Promise)) return value;
  const controller = new AbortController();
  // Timers run before I/O in an event-loop turn: after a stall, wait one turn so an
  // answer that arrived in time is read before the deadline counts.
  const expired = delay(ms, undefined, { ref: false, signal: controller.signal })
    .then(() => nextTurn(undefined, { signal: controller.signal }))
    .then(() => {
      throw new Error(`timed out after ${ms} ms`);
    });
  try {
    return await Promise.race([value, expired]);
  } finally {
    controller.abort();
  }
}

/**
 * A signal that aborts after `ms` (with a `TimeoutError`) or when `parent` aborts; `clear()` when done.
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: on Node 20 the timeout signal inside
 * `any()` can be garbage collected and then never fires (nodejs/node#57736), so a hung request would
 * hang for good. Here the unref'd timer holds the controller strongly.
 */
export function deadlineSignal(ms: number, parent: AbortSignal): { readonly signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent.reason);
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  timer.unref();
  if (parent.aborted) onParentAbort();
  else parent.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}

/** Jittered exponential back-off: half fixed, half random, so a fleet does not retry in step. */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
