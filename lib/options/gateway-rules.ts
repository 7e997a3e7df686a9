import type { GatewayRules } from '../gateway/token-gateway.js';
import type { AntiForgeryRule } from '../http/anti-forgery.js';
import type { AadBackendAuthLogger } from '../types.js';

/** The rules of an entry point, from its parsed options; `purgeOnStatus` is the HTTP middleware's alone. */
export function gatewayRules(
  parsed: {
    readonly header: string;
    readonly removeHeaders: readonly string[];
    readonly purgeOnStatus?: readonly number[];
    readonly purgeCooldownMs: number;
    readonly antiForgery?: AntiForgeryRule | undefined;
  },
  failureCooldownMs: number,
  logger: AadBackendAuthLogger,
): GatewayRules {
  return {
    header: parsed.header,
    removeHeaders: parsed.removeHeaders,
    purgeOnStatus: parsed.purgeOnStatus ?? [],
    purgeCooldownMs: parsed.purgeCooldownMs,
    fallbackRetryAfterSeconds: Math.ceil(failureCooldownMs / 1000),
    logger,
    antiForgery: parsed.antiForgery,
  };
}
