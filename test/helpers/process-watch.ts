import { setImmediate as tick } from 'node:timers/promises';

/** Records unhandled rejections and uncaught exceptions while installed. */
export interface ProcessWatch {
  install(): void;
  uninstall(): void;
  /** What was recorded since the last call (after letting pending callbacks run), then forgets it. */
  take(): Promise<string[]>;
}

export function watchProcess(): ProcessWatch {
  const seen: string[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(`unhandledRejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  };
  const onException = (error: Error): void => {
    seen.push(`uncaughtException: ${error.stack ?? error.message}`);
  };
  return {
    install() {
      process.on('unhandledRejection', onRejection);
      process.on('uncaughtException', onException);
    },
    uninstall() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
    async take() {
      // An unhandled rejection is reported after the microtask queue drains.
      await tick();
      await tick();
      return seen.splice(0);
    },
  };
}
