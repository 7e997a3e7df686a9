/**
 * Child process: every gateway of one comparison, in one process pinned to core 1
 * by bench/run.ts, so that they share the same JIT, heap and core.
 */
import { serve } from './ipc.js';
import { createContender, type ContenderSpec } from './contenders.js';
import { listen } from './servers.js';
import type { UserTokens } from '../lib/index.js';
import type { SessionStoreStats } from './sessions.js';

export interface GatewaysArgument {
  readonly backendUrl: string;
  readonly specs: readonly ContenderSpec[];
}

export interface GatewaysReady {
  readonly urls: Record<string, string>;
}

/** What `process.memoryUsage()` says, in bytes. */
export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

export interface ProviderStatsSample {
  readonly tokenRequests: number;
  readonly waits: number;
  readonly refreshes: number;
  readonly cacheHits: number;
  /** Distinct targets held (for O: user tokens); absent from differences. */
  readonly keys?: number;
  /** O only: RS256 verifications of user tokens. */
  readonly verifications?: number;
}

const argument = JSON.parse(process.argv[2]!) as GatewaysArgument;
const contenders = await Promise.all(argument.specs.map((spec) => createContender(spec, argument.backendUrl)));
const urls: Record<string, string> = {};
for (const contender of contenders) urls[contender.spec.name] = await listen(contender.server);

serve(
  {
    memory(args: { gc: boolean }): MemorySample {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (args.gc && gc !== undefined) {
        gc();
        gc();
      }
      const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
      return { rss, heapUsed, heapTotal, external };
    },
    /** CPU time this process has used, µs (user + system): per-request cost that survives a busy machine. */
    cpuMicros(): number {
      const { user, system } = process.cpuUsage();
      return user + system;
    },
    /** U: the sessions its store holds from now on, by `sid` cookie value. */
    putSessions(args: { name: string; sessions: Record<string, UserTokens> }): void {
      const store = contenders.find((c) => c.spec.name === args.name)?.sessions;
      if (store === undefined) throw new Error(`${args.name} keeps no sessions`);
      store.load(args.sessions);
    },
    sessionStats(args: { name: string }): SessionStoreStats {
      const store = contenders.find((c) => c.spec.name === args.name)?.sessions;
      if (store === undefined) throw new Error(`${args.name} keeps no sessions`);
      return store.stats();
    },
    providerStats(): Record<string, ProviderStatsSample> {
      const result: Record<string, ProviderStatsSample> = {};
      for (const { spec, middleware, verifications } of contenders) {
        if (middleware === undefined) continue;
        const { tokenRequests, waits, refreshes, cacheHits, keys } = middleware.tokenProvider.stats();
        result[spec.name] = { tokenRequests, waits, refreshes, cacheHits, keys, ...(verifications === undefined ? {} : { verifications: verifications() }) };
      }
      return result;
    },
  },
  { urls } satisfies GatewaysReady,
);
