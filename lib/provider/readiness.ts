/**
 * `ready()` and `health()`: what a Kubernetes probe or start-up code asks of a provider.
 * Pure functions over the provider's target states (the token held, a remembered failure and
 * the count of failed refreshes).
 */
import type { IncomingMessage } from 'node:http';
import { AadBackendAuthError, invalidOption, toAadBackendAuthError } from '../core/errors.js';
import { withTimeout } from '../core/timing.js';
import type { AccessToken, ReadyOptions, TokenProviderHealth } from '../core/types.js';
import type { TargetState } from './target-state.js';

/** What health reads of one target's state. */
type TargetHealthInput = Pick<TargetState, 'token' | 'failure' | 'refreshFailures'>;

export type TargetHealth = TokenProviderHealth['status'];

/** One target: `degraded` while a usable token is served but refreshes fail; `failing` with no usable token after a failure. */
export function targetHealth(state: TargetHealthInput, now: number): TargetHealth {
  const usable = state.token !== undefined && now < state.token.useUntilTimestamp;
  if (usable) return state.refreshFailures > 0 ? 'degraded' : 'ok';
  return state.failure !== undefined ? 'failing' : 'ok';
}

/** The provider's health: the worst over its targets; `failing` once closed. */
export function providerHealth(targets: Iterable<TargetHealthInput>, closed: boolean, lastErrorCode: string | undefined): TokenProviderHealth {
  const counts = { ok: 0, degraded: 0, failing: 0 };
  let expiresOn: number | undefined;
  const now = Date.now();
  for (const target of targets) {
    const status = targetHealth(target, now);
    counts[status]++;
    const entry = target.token;
    if (entry !== undefined && now < entry.useUntilTimestamp && (expiresOn === undefined || entry.expiresOnTimestamp < expiresOn)) {
      expiresOn = entry.expiresOnTimestamp;
    }
  }
  if (closed) return { status: 'failing', targets: counts, lastErrorCode: 'ERR_CLOSED', tokenExpiresOnTimestamp: undefined };
  const status: TargetHealth = counts.failing > 0 ? 'failing' : counts.degraded > 0 ? 'degraded' : 'ok';
  return { status, targets: counts, lastErrorCode, tokenExpiresOnTimestamp: expiresOn };
}

/** The part of a provider `ready()` drives. */
export interface ReadinessSubject {
  getToken(req?: IncomingMessage): Promise<AccessToken>;
}

/**
 * Resolves once `getToken` has a usable token (cached, or fetched with single flight).
 * Rejects with the provider's error, or `ERR_IDP_UNAVAILABLE` after `timeoutMs`;
 * the flight itself carries on, so the next probe finds the token.
 */
export async function waitUntilReady(
  provider: ReadinessSubject,
  perRequest: boolean,
  defaultTimeoutMs: number,
  options: ReadyOptions<IncomingMessage> = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  if (!(Number.isInteger(timeoutMs) && timeoutMs >= 1)) throw invalidOption('timeoutMs', 'must be a positive integer (ms)');
  if (perRequest && options.req === undefined) {
    throw invalidOption('req', 'is required by ready() with a per-request tenantId, resource or scope: pass a request that names the target to warm');
  }
  const token = provider.getToken(options.req);
  // The flight's own failure is reported by the provider; a probe that gave up must not leave it unhandled.
  token.catch(() => {});
  try {
    await withTimeout(token, timeoutMs);
  } catch (error) {
    if (error instanceof AadBackendAuthError) throw error;
    if (error instanceof Error && error.message.startsWith('timed out')) {
      throw new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `No usable token within ${timeoutMs} ms`);
    }
    throw toAadBackendAuthError(error);
  }
}
