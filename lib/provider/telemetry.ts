import type { TokenGrant } from '../grants/token-source.js';
/**
 * OpenTelemetry metrics and traces through `@opentelemetry/api`, an optional peer.
 *
 * The API is loaded synchronously (it ships CommonJS) the first time a provider is
 * created, so counting starts with the first request; when it is not installed,
 * every call here is a no-op and nothing is loaded. No recorded value ever holds a
 * token, secret, assertion or user token: attributes are fixed words, error codes
 * and a "tenant + scope" label.
 */
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';


/** The meter and tracer name. */
export const INSTRUMENTATION_NAME = 'aad-backend-auth';

/** The exact instrument names of the README's table. */
export const INSTRUMENTS = {
  tokenRequests: 'aad_backend_auth.token.requests',
  tokenRequestDuration: 'aad_backend_auth.token.request.duration',
  cacheHits: 'aad_backend_auth.cache.hits',
  tokenWaits: 'aad_backend_auth.token.waits',
  tokenExpiresIn: 'aad_backend_auth.token.expires_in',
} as const;
export const TOKEN_REQUEST_SPAN = 'aad_backend_auth.token_request';

/** What a token target tells telemetry: never its cache key, which may name a user. */
export interface TelemetryTarget {
  readonly tenantId: string | undefined;
  readonly scopes: readonly string[];
  readonly resource: string | undefined;
}

/** One token request (one HTTP request or credential call): end it exactly once. */
export interface TokenRequestRecord {
  success(): void;
  /** `errorCode` is the `AadBackendAuthError` code: a fixed word, never a message. */
  failure(errorCode: string): void;
}

/** Reports one expiry per target label (seconds left; negative once expired). */
export type ExpiryObserver = (target: TelemetryTarget, secondsLeft: number) => void;

/** What a provider records. Every method is a cheap no-op when nobody listens. */
export interface ProviderTelemetry {
  /** A request served from the cache without waiting: the hot path. */
  cacheHit(): void;
  /** A request that had to wait for a token. */
  wait(): void;
  /** Starts one token request's metrics and CLIENT span, from the active context. `attempt` counts from 1. */
  tokenRequest(grant: TokenGrant, target: TelemetryTarget, serverAddress: string | undefined, attempt: number): TokenRequestRecord;
  /** Runs `work` outside the caller's trace (a background refresh must not look like part of the request that triggered it). */
  detached<T>(work: () => T): T;
  /**
   * Registers the callback that feeds `aad_backend_auth.token.expires_in`; returns its removal.
   * Per-user grants (`on_behalf_of`, `token_exchange`) are never observed: a user's token is no gauge series.
   */
  observeExpiry(grant: TokenGrant, report: (observe: ExpiryObserver) => void): () => void;
}

/** A low-cardinality label for a target: tenant and scope (or v1 resource). Never a token, never a user. */
export function targetLabel(target: TelemetryTarget): string {
  const what = target.resource ?? [...target.scopes].sort().join(' ');
  return target.tenantId === undefined ? what : `${target.tenantId} ${what}`;
}

const PER_USER_GRANTS: ReadonlySet<TokenGrant> = new Set(['on_behalf_of', 'token_exchange', 'refresh_token']);
const ENDED: TokenRequestRecord = { success() {}, failure() {} };
const NO_TELEMETRY: ProviderTelemetry = {
  cacheHit() {},
  wait() {},
  tokenRequest: () => ENDED,
  detached: (work) => work(),
  observeExpiry: () => () => {},
};

type Api = typeof OtelApi;
// OpenTelemetry's global API, loaded once for the process: instruments come from its global meter provider.
let loaded: { api: Api | undefined; version: string } | undefined;

/** `@opentelemetry/api` if the app has it, loaded once and synchronously; `undefined` otherwise. */
function loadApi(): { api: Api | undefined; version: string } {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  let api: Api | undefined;
  try {
    api = require('@opentelemetry/api') as Api;
  } catch {
    api = undefined;
  }
  let version = '0.0.0';
  try {
    // ../package.json from lib/ and from dist/ alike.
    version = (require('../package.json') as { version: string }).version;
  } catch {
    // A bundled copy without its package.json: the meter still works without a version.
  }
  loaded = { api, version };
  return loaded;
}

/**
 * The instruments of one provider, created now: a meter obtained from a provider
 * registered later stays a no-op for ever, so this runs when the provider is created.
 */
export function createProviderTelemetry(): ProviderTelemetry {
  const { api, version } = loadApi();
  if (api === undefined) return NO_TELEMETRY;
  const meter = api.metrics.getMeter(INSTRUMENTATION_NAME, version);
  const tracer = api.trace.getTracer(INSTRUMENTATION_NAME, version);
  const requests = meter.createCounter(INSTRUMENTS.tokenRequests, {
    unit: '{request}',
    description: 'Token requests to the IdP or the credential, retries included',
  });
  const duration = meter.createHistogram(INSTRUMENTS.tokenRequestDuration, {
    unit: 's',
    description: 'Duration of each token request to the IdP or the credential',
    // Seconds, not the SDK's millisecond-shaped defaults: the buckets of OpenTelemetry's HTTP client duration.
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] },
  });
  const hits = meter.createCounter(INSTRUMENTS.cacheHits, { unit: '{request}', description: 'Requests served a cached token without waiting' });
  const waits = meter.createCounter(INSTRUMENTS.tokenWaits, { unit: '{request}', description: 'Requests that had to wait for a token' });
  const expiresIn = meter.createObservableGauge(INSTRUMENTS.tokenExpiresIn, {
    unit: 's',
    description: 'Seconds until the cached token of each target expires',
  });

  function tokenRequest(grant: TokenGrant, target: TelemetryTarget, serverAddress: string | undefined, attempt: number): TokenRequestRecord {
    const started = performance.now();
    const attributes: OtelApi.Attributes = {
      'aad_backend_auth.target': targetLabel(target),
      'aad_backend_auth.grant': grant,
      'aad_backend_auth.attempts': attempt,
    };
    if (serverAddress !== undefined) attributes['server.address'] = serverAddress;
    const span = tracer.startSpan(TOKEN_REQUEST_SPAN, { kind: api!.SpanKind.CLIENT, attributes }, api!.context.active());
    let ended = false;
    const end = (errorCode: string | undefined): void => {
      if (ended) return;
      ended = true;
      const seconds = (performance.now() - started) / 1000;
      const metricAttributes: OtelApi.Attributes =
        errorCode === undefined
          ? { outcome: 'success', 'aad_backend_auth.grant': grant }
          : { outcome: 'failure', 'error.type': errorCode, 'aad_backend_auth.grant': grant };
      requests.add(1, metricAttributes);
      duration.record(seconds, metricAttributes);
      if (errorCode !== undefined) {
        span.setAttribute('error.type', errorCode);
        // The code only: an error message may quote the IdP, and a span must never carry more than we chose.
        span.setStatus({ code: api!.SpanStatusCode.ERROR, message: errorCode });
      }
      span.end();
    };
    return { success: () => end(undefined), failure: (code) => end(code) };
  }

  return {
    cacheHit: () => hits.add(1),
    wait: () => waits.add(1),
    tokenRequest,
    detached: (work) => api.context.with(api.ROOT_CONTEXT, work),
    observeExpiry(grant, report) {
      if (PER_USER_GRANTS.has(grant)) return () => {};
      const callback: OtelApi.ObservableCallback = (result) => {
        // One observation per label: targets that share one (they differ only by what the label leaves out) report the freshest.
        const byLabel = new Map<string, number>();
        report((target, secondsLeft) => {
          const label = targetLabel(target);
          const seen = byLabel.get(label);
          if (seen === undefined || secondsLeft > seen) byLabel.set(label, secondsLeft);
        });
        for (const [label, seconds] of byLabel) result.observe(seconds, { 'aad_backend_auth.target': label });
      };
      expiresIn.addCallback(callback);
      return () => expiresIn.removeCallback(callback);
    },
  };
}
