import { closedError, noTokenInTime } from '../core/errors.js';
import type { ProviderToken } from './provider-token.js';
import type { ProviderTelemetry } from './telemetry.js';
import { takeFailure, takeToken, type OutcomeContext } from './flight-outcome.js';
import { joinFlight } from './flights.js';
import { obtainToken, type FlightSettings } from './obtain-token.js';
import { pendingClaims, type Purpose, type TargetState } from './target-state.js';

/** What a provider brings to the flights it follows. */
export interface FollowContext {
  readonly flight: FlightSettings;
  readonly outcomes: OutcomeContext;
  readonly timeoutMs: number;
  readonly closing: AbortSignal;
  readonly telemetry: ProviderTelemetry;
}

/**
 * This provider's wait on the target's flight, joining it or starting it: one wait per
 * target at a time, with this provider's own deadline and close signal.
 */
export function follow(ctx: FollowContext, target: TargetState, purpose: Purpose): Promise<ProviderToken> {
  if (target.pending !== undefined) return target.pending;
  const challenge = pendingClaims(target, Date.now());
  // A request with a claims challenge is another request: it never joins, nor is joined by, one without.
  const key = challenge === undefined ? target.target.key : `${target.target.key}|claims=${challenge}`;
  const counters = ctx.outcomes.counters;
  const countRequest = (): void => void counters.tokenRequests++;
  const request = { target: target.target, purpose, current: target.token, evictedToken: target.evictedToken, challenge, countRequest };
  const me = { deadline: Date.now() + ctx.timeoutMs, closed: ctx.closing, timedOut: noTokenInTime, onClosed: closedError };
  const flight = joinFlight(ctx.flight.cache, key, (signal) => obtainToken(ctx.flight, request, signal), me);
  const pending: Promise<ProviderToken> = flight.then(
    (outcome) => {
      if (target.pending === pending) target.pending = undefined;
      return takeToken(ctx.outcomes, target, outcome, purpose);
    },
    (error: unknown) => {
      if (target.pending === pending) target.pending = undefined;
      throw takeFailure(ctx.outcomes, target, error, purpose, challenge);
    },
  );
  target.pending = pending;
  return pending;
}
