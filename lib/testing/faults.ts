import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { entraErrors, errorHeaders, faultError, withCorrelationId, type AadstsError } from './errors.js';
import { DEFAULT_CLAIMS_CHALLENGE, consentRequiredError, interactionRequiredError } from './on-behalf-of.js';
import type { Fault, FaultKind } from './types.js';

/** An HTTP answer, before it is written. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** What a fault needs from the emulator to misbehave on one request. */
export interface FaultContext {
  res: ServerResponse;
  /** The client id of the request, for realistic error texts. */
  clientId: string;
  /** The caller's `client-request-id`, echoed as `correlation_id` as Entra does. */
  correlationId: string | undefined;
  /** Resolves after `ms`; never resolves once the emulator is closed. */
  sleep(ms: number): Promise<void>;
  /** Compute the answer the emulator would give without a fault. */
  normalReply(): Promise<Reply>;
  /** Write a reply and end the response. */
  send(reply: Reply): void;
}

const KINDS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'latency', 'status', 'throttle', 'oauth-error', 'html', 'body', 'hang',
  'reset', 'reset-mid-body', 'drip', 'huge', 'redirect', 'gzip', 'interaction-required', 'consent-required',
]);
const OAUTH_ERRORS = new Set(['invalid_client', 'invalid_scope', 'unauthorized_client', 'invalid_request', 'invalid_grant']);

const JSON_TYPE = 'application/json; charset=utf-8';
const DEFAULT_DRIP_INTERVAL_MS = 200;
const DEFAULT_HUGE_BYTES = 5 * 1024 * 1024;

function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isStatus(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599;
}

/** Throw a TypeError naming the problem when `fault` is not a valid {@link Fault}. */
export function validateFault(fault: unknown): asserts fault is Fault {
  if (typeof fault !== 'object' || fault === null) throw new TypeError('fail(): the fault must be an object with a "kind"');
  const f = fault as Record<string, unknown>;
  const kind = f['kind'];
  if (typeof kind !== 'string' || !KINDS.has(kind as FaultKind)) {
    throw new TypeError(`fail(): unknown fault kind ${JSON.stringify(kind)}; expected one of ${[...KINDS].join(', ')}`);
  }
  const bad = (what: string): never => {
    throw new TypeError(`fail(): the "${kind}" fault ${what}`);
  };
  switch (kind as FaultKind) {
    case 'latency':
      if (!isNonNegativeNumber(f['ms'])) bad('needs "ms", a non-negative number');
      break;
    case 'status':
      if (!isStatus(f['status'])) bad('needs "status", an HTTP status code');
      if (f['body'] !== undefined && typeof f['body'] !== 'string') bad('"body" must be a string');
      break;
    case 'throttle': {
      const ra = f['retryAfter'];
      if (ra !== undefined && !isNonNegativeNumber(ra) && !(ra instanceof Date) && typeof ra !== 'string') {
        bad('"retryAfter" must be seconds, a Date or a string');
      }
      if (f['status'] !== undefined && f['status'] !== 429 && f['status'] !== 503) bad('"status" must be 429 or 503');
      break;
    }
    case 'oauth-error':
      if (!OAUTH_ERRORS.has(f['error'] as string)) bad(`"error" must be one of ${[...OAUTH_ERRORS].join(', ')}`);
      if (f['status'] !== undefined && f['status'] !== 400 && f['status'] !== 401) bad('"status" must be 400 or 401');
      break;
    case 'body':
      if (f['body'] === undefined || f['body'] === null) bad('needs "body", a string or an object');
      if (f['status'] !== undefined && !isStatus(f['status'])) bad('"status" must be an HTTP status code');
      break;
    case 'drip':
      if (f['intervalMs'] !== undefined && !isNonNegativeNumber(f['intervalMs'])) bad('"intervalMs" must be a non-negative number');
      break;
    case 'huge':
      if (f['bytes'] !== undefined && !(isNonNegativeNumber(f['bytes']) && Number.isInteger(f['bytes']))) {
        bad('"bytes" must be a non-negative integer');
      }
      break;
    case 'redirect':
      if (typeof f['location'] !== 'string' || f['location'] === '') bad('needs "location", a URL');
      if (f['status'] !== undefined && ![301, 302, 307, 308].includes(f['status'] as number)) bad('"status" must be 301, 302, 307 or 308');
      break;
    case 'interaction-required':
      if (f['code'] !== undefined && ![50076, 50079, 50158].includes(f['code'] as number)) bad('"code" must be 50076, 50079 or 50158');
      break;
    default:
      break;
  }
}

/** Faults Entra only answers to delegated (user) requests: an app-only request passes them by. */
const DELEGATED_ONLY: ReadonlySet<FaultKind> = new Set<FaultKind>(['interaction-required', 'consent-required']);

/** Faults waiting for token requests, first in, first out. */
export class FaultQueue {
  readonly #entries: { fault: Fault; remaining: number }[] = [];

  push(fault: Fault, times: number): void {
    validateFault(fault);
    if (!(times === Infinity || (Number.isInteger(times) && times >= 1))) {
      throw new TypeError('fail(): "times" must be a positive integer or Infinity');
    }
    this.#entries.push({ fault, remaining: times });
  }

  /**
   * Take the fault for the next token request, if any: the first queued one,
   * skipping delegated-only faults when the request is app-only.
   */
  take(delegated: boolean): Fault | undefined {
    const index = this.#entries.findIndex((entry) => delegated || !DELEGATED_ONLY.has(entry.fault.kind));
    const entry = this.#entries[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#entries.splice(index, 1);
    return entry.fault;
  }

  clear(): void {
    this.#entries.length = 0;
  }
}

/** An AADSTS error as Entra sends it: the caller's correlation id, `x-ms-request-id` = `trace_id`. */
function errorReply(err: AadstsError, ctx: FaultContext, headers: Record<string, string> = {}): Reply {
  const made = withCorrelationId(err, ctx.correlationId);
  return { status: made.status, headers: { ...errorHeaders(made), ...headers }, body: JSON.stringify(made.body) };
}

/** A token answer that looks valid but carries no real token (nothing is issued). */
function fakeTokenBody(accessToken: string): string {
  return JSON.stringify({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken });
}

function retryAfterValue(value: number | Date | string): string {
  if (value instanceof Date) return value.toUTCString();
  if (typeof value === 'number') return String(Math.ceil(value));
  return value;
}

const CAPTIVE_PORTAL = `<!DOCTYPE html>
<html><head><title>Network login required</title></head>
<body><h1>Welcome to Guest Wi-Fi</h1><p>Please accept the terms of use to continue.</p>
<form method="post" action="/login"><button>Accept</button></form></body></html>
`;

/** Answer the current request the way `fault` says. Resolves once the answer is written or abandoned. */
export async function applyFault(fault: Fault, ctx: FaultContext): Promise<void> {
  const { res } = ctx;
  switch (fault.kind) {
    case 'latency':
      await ctx.sleep(fault.ms);
      ctx.send(await ctx.normalReply());
      return;
    case 'status': {
      if (fault.body === undefined) {
        ctx.send(errorReply(entraErrors.serviceError(fault.status), ctx, fault.headers));
        return;
      }
      ctx.send({ status: fault.status, headers: { 'content-type': 'text/plain; charset=utf-8', ...fault.headers }, body: fault.body });
      return;
    }
    case 'throttle': {
      const status = fault.status ?? 429;
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['retry-after'] = retryAfterValue(fault.retryAfter);
      ctx.send(errorReply(entraErrors.throttled(status), ctx, headers));
      return;
    }
    case 'oauth-error': {
      ctx.send(errorReply(faultError(fault.error, fault.status, ctx.clientId), ctx));
      return;
    }
    case 'html':
      ctx.send({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: CAPTIVE_PORTAL });
      return;
    case 'body': {
      const body = typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
      ctx.send({ status: fault.status ?? 200, headers: { 'content-type': fault.contentType ?? JSON_TYPE }, body });
      return;
    }
    case 'hang':
      // Keep the socket open; close() destroys it.
      return;
    case 'reset':
      res.socket?.destroy();
      return;
    case 'reset-mid-body': {
      const body = Buffer.from(fakeTokenBody(`eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${'A'.repeat(600)}.${'B'.repeat(300)}`));
      res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': String(body.length) });
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      return;
    }
    case 'drip': {
      const reply = await ctx.normalReply();
      const body = Buffer.from(reply.body);
      const interval = fault.intervalMs ?? DEFAULT_DRIP_INTERVAL_MS;
      res.writeHead(reply.status, reply.headers);
      res.flushHeaders();
      for (let i = 0; i < body.length; i += 1) {
        if (res.destroyed) return;
        res.write(body.subarray(i, i + 1));
        await ctx.sleep(interval);
      }
      if (!res.destroyed) res.end();
      return;
    }
    case 'huge': {
      const target = fault.bytes ?? DEFAULT_HUGE_BYTES;
      const empty = fakeTokenBody('');
      const body = fakeTokenBody('x'.repeat(Math.max(0, target - empty.length)));
      ctx.send({ status: 200, headers: { 'content-type': JSON_TYPE }, body });
      return;
    }
    case 'redirect':
      ctx.send({
        status: fault.status ?? 302,
        headers: { location: fault.location, 'content-type': 'text/html; charset=utf-8' },
        body: `<html><body>Object moved to <a href="${fault.location}">here</a>.</body></html>`,
      });
      return;
    case 'gzip': {
      const reply = await ctx.normalReply();
      ctx.send({ ...reply, headers: { ...reply.headers, 'content-encoding': 'gzip' }, body: gzipSync(reply.body) });
      return;
    }
    case 'interaction-required': {
      const claims = fault.claims === null ? undefined : typeof fault.claims === 'object' ? JSON.stringify(fault.claims) : (fault.claims ?? DEFAULT_CLAIMS_CHALLENGE);
      ctx.send(errorReply(interactionRequiredError(fault.code ?? 50076, claims), ctx));
      return;
    }
    case 'consent-required': {
      ctx.send(errorReply(consentRequiredError(ctx.clientId), ctx));
      return;
    }
  }
}
