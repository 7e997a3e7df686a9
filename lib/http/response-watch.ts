import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ServerResponse, type IncomingMessage } from 'node:http';

/** Node's http server publishes every response it has finished sending here (Node >= 16.18). */
const RESPONSE_FINISH = 'http.server.response.finish';

interface FinishMessage {
  readonly response?: unknown;
  readonly server?: unknown;
}

/**
 * Tells its owner when a watched response has been sent. `res.on('finish')` costs about 800 ns
 * behind Express: it adds `res.locals` after swapping the prototype, so every response has a hidden
 * class of its own and each property read inside `on` misses its inline cache. Node's http server
 * also publishes each finished response on a diagnostics channel, so a response of a server seen
 * publishing is watched there with a WeakMap entry instead. Any other response (the first of each
 * server, a serverless adapter's, a test double, another runtime's) is watched with
 * `res.on('finish')`, so none is missed. Subscribes on first use; `close()` unsubscribes.
 */
export class ResponseWatch<T> {
  readonly #onFinish: (res: ServerResponse, watched: T) => void;
  /** Responses watched on the channel, with what their owner attached. */
  readonly #onChannel = new WeakMap<object, T>();
  /** Servers whose responses were seen on the channel. */
  readonly #publishing = new WeakSet<object>();
  readonly #listener = (message: unknown): void => this.#published(message as FinishMessage);
  #subscribed = false;
  #closed = false;

  constructor(onFinish: (res: ServerResponse, watched: T) => void) {
    this.#onFinish = onFinish;
  }

  /** Calls back with `watched` once `res` has finished, at most once. */
  watch(req: IncomingMessage, res: ServerResponse, watched: T): void {
    const server = (req.socket as { server?: unknown } | null | undefined)?.server;
    if (this.#subscribed && typeof server === 'object' && server !== null && this.#publishing.has(server) && res instanceof ServerResponse) {
      this.#onChannel.set(res, watched);
      return;
    }
    if (!this.#closed && !this.#subscribed) {
      subscribe(RESPONSE_FINISH, this.#listener);
      this.#subscribed = true;
    }
    res.on('finish', () => this.#report(res, watched));
  }

  /** Unsubscribes: later responses are watched with `res.on`; those already on the channel are dropped. */
  close(): void {
    this.#closed = true;
    if (!this.#subscribed) return;
    unsubscribe(RESPONSE_FINISH, this.#listener);
    this.#subscribed = false;
  }

  #published(message: FinishMessage): void {
    const { response, server } = message;
    if (typeof server === 'object' && server !== null && !this.#publishing.has(server)) this.#publishing.add(server);
    if (typeof response !== 'object' || response === null) return;
    const watched = this.#onChannel.get(response);
    if (watched === undefined) return;
    this.#onChannel.delete(response);
    this.#report(response as ServerResponse, watched);
  }

  #report(res: ServerResponse, watched: T): void {
    try {
      this.#onFinish(res, watched);
    } catch {
      // The response is sent; a throw here would only surface as an uncaught exception.
    }
  }
}
