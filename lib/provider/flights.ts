import { systemClock, type Clock } from '../core/clock.js';

/**
 * Token requests in flight, keyed by (cache, key): providers that share a cache and
 * a key (the same identity asking for the same thing) share a flight, and nothing
 * else does. Each flight has its own abort; each participant keeps its own deadline
 * and its own close signal, and leaves the flight, not kills it. The flight is
 * aborted only when the last participant has left.
 */
interface Flight {
  readonly promise: Promise<unknown>;
  readonly controller: AbortController;
  participants: number;
}

// A weak side table keyed by the user's cache object, which we must not mutate: providers sharing it share flights.
const flightsByCache = new WeakMap<object, Map<string, Flight>>();

export interface Participation {
  /** When this participant stops waiting (ms since the epoch). */
  readonly deadline: number;
  /** This participant's provider closing. */
  readonly closed: AbortSignal;
  readonly timedOut: () => Error;
  readonly onClosed: () => Error;
  /** Where the deadline is timed; tests pass a manual one. @default systemClock */
  readonly clock?: Clock;
}

/** Joins the flight for (`cache`, `key`), starting it with `start` when there is none. */
export function joinFlight<T>(cache: object, key: string, start: (signal: AbortSignal) => Promise<T>, me: Participation): Promise<T> {
  let flights = flightsByCache.get(cache);
  if (flights === undefined) {
    flights = new Map();
    flightsByCache.set(cache, flights);
  }
  let flight = flights.get(key);
  if (flight === undefined) {
    const controller = new AbortController();
    const promise = start(controller.signal);
    const started: Flight = { promise, controller, participants: 0 };
    const map = flights;
    // Nobody may be left to see the outcome of an abandoned flight.
    promise.then(forget, forget).catch(() => undefined);
    function forget(): void {
      if (map.get(key) === started) map.delete(key);
    }
    flights.set(key, started);
    flight = started;
  }
  return participate(flights, key, flight, me) as Promise<T>;
}

function participate(flights: Map<string, Flight>, key: string, flight: Flight, me: Participation): Promise<unknown> {
  flight.participants++;
  const clock = me.clock ?? systemClock;
  return new Promise((resolve, reject) => {
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      clock.clearTimeout(timer);
      me.closed.removeEventListener('abort', onClose);
      if (--flight.participants === 0 && flights.get(key) === flight) {
        flights.delete(key);
        flight.controller.abort(new DOMException('Every caller left the token request', 'AbortError'));
      }
    };
    const onClose = (): void => {
      leave();
      reject(me.onClosed());
    };
    const timer = clock.setTimeout(() => {
      leave();
      reject(me.timedOut());
    }, Math.max(0, me.deadline - clock.now()));
    if (me.closed.aborted) {
      onClose();
      return;
    }
    me.closed.addEventListener('abort', onClose, { once: true });
    flight.promise.then(
      (value) => {
        if (left) return;
        leave();
        resolve(value);
      },
      (error: unknown) => {
        if (left) return;
        leave();
        reject(error);
      },
    );
  });
}
