import { EventEmitter } from 'node:events';
import type { AadBackendAuthLogger, TokenProviderEvents } from '../core/types.js';

type Listener<E extends keyof TokenProviderEvents> = (...args: TokenProviderEvents[E]) => void;

/** The provider's events; a listener that throws is logged, never allowed to break a request. */
export class ProviderEvents {
  readonly #emitter = new EventEmitter();
  readonly #logger: AadBackendAuthLogger;

  constructor(logger: AadBackendAuthLogger) {
    this.#logger = logger;
  }

  on<E extends keyof TokenProviderEvents>(event: E, listener: Listener<E>): void {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
  }

  off<E extends keyof TokenProviderEvents>(event: E, listener: Listener<E>): void {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
  }

  emit<E extends keyof TokenProviderEvents>(event: E, ...args: TokenProviderEvents[E]): void {
    if (this.#emitter.listenerCount(event) === 0) return;
    try {
      this.#emitter.emit(event, ...args);
    } catch (error) {
      this.#logger.error(`a '${event}' listener threw: ${error instanceof Error ? error.message : 'unknown error'}`);
    }
  }
}
