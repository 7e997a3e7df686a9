import type { GatewayRules } from '../gateway/token-gateway.js';
import type { AntiForgeryRule } from '../http/anti-forgery.js';
import type { ProviderSettings } from '../provider/provider-settings.js';

/** The rules of an entry point, from its parsed options; `purgeOnStatus` is the HTTP middleware's alone. */
export function gatewayRules(
  parsed: {
    readonly header: string;
    readonly removeHeaders: readonly string[];
    readonly purgeOnStatus?: readonly number[];
    readonly purgeCooldownMs: number;
    readonly antiForgery?: AntiForgeryRule | undefined;
  },
  provider: Pick<ProviderSettings, 'failureCooldownMs' | 'logger' | 'timeoutMs'>,
): GatewayRules {
  return {
    header: parsed.header,
    removeHeaders: parsed.removeHeaders,
    purgeOnStatus: parsed.purgeOnStatus ?? [],
    purgeCooldownMs: parsed.purgeCooldownMs,
    fallbackRetryAfterSeconds: Math.ceil(provider.failureCooldownMs / 1000),
    timeoutMs: provider.timeoutMs,
    logger: provider.logger,
    antiForgery: parsed.antiForgery,
  };
}
