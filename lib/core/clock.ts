import { sleep } from './timing.js';

/**
 * Where the token provider's pure parts read the time and set their timers, so that unit
 * tests can drive them with a manual clock instead of real time. Production passes nothing
 * and gets {@link systemClock}, a module constant: no allocation per call.
 */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  /** Calls `fn` after `ms`; the timer never holds the process open (unref'd). Returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer from {@link Clock.setTimeout}; a fired or cleared one is ignored. */
  clearTimeout(timer: unknown): void;
  /** Waits `ms` without holding the process open; resolves early (never rejects) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now()` and Node's own timers. */
export const systemClock: Clock = {
  now: Date.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  sleep,
};
