import { createRemoteJWKSet, customFetch, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import type { AadBackendAuthError } from '../../core/errors.js';
import type { OutboundAgents } from '../../grants/outbound-agent.js';
import { createTokenHttp } from '../../grants/token-request.js';
import { deadlineSignal } from '../../core/timing.js';
import { endpointProblem } from '../../core/validation.js';
import { outboundFetch } from '../../grants/outbound-fetch.js';
import { rememberingFailures } from './remembered-jwks.js';
import { keysUnavailable, userTokenInvalid } from '../../core/user-errors.js';

/** A signal that never aborts: the parent of deadlines that have only their timer. */
export const NEVER: AbortSignal = new AbortController().signal;

/** Where an issuer's keys come from, and how long a read may take. */
export interface IssuerKeysOptions {
  /** The OpenID configuration document that names `jwks_uri` and `issuer`. */
  readonly discoveryUrl: string;
  /** Extra accepted issuers, given the discovered one (the v1 `https://sts.windows.net/{tid}/` on the public cloud). */
  readonly extraIssuers: (discoveredIssuer: string) => readonly string[];
  /** When set, the discovered issuer must be exactly this (RFC 8414 §3.3). */
  readonly expectedIssuer: string | undefined;
  /** Each read (discovery, JWKS) ends by then, however slowly the IdP trickles its answer. */
  readonly timeoutMs: number;
  /** How discovery and keys leave the process (the token requests' proxy and CA). @default direct, Node's roots */
  readonly agents?: OutboundAgents | undefined;
}

/** The keys and accepted issuers of a discovered issuer. */
export interface IssuerKeys {
  readonly jwks: JWTVerifyGetKey;
  readonly issuers: string[];
}

/**
 * Reads the discovery document and sets up its JWKS (read lazily by jose). A failed JWKS read
 * is remembered for `failureMemoryMs`, like a failed discovery.
 */
export async function readIssuerKeys(options: IssuerKeysOptions, failureMemoryMs: number): Promise<IssuerKeys> {
  const { discoveryUrl, timeoutMs, expectedIssuer, extraIssuers, agents } = options;
  let status: number;
  let body: unknown;
  // axios's `timeout` is a socket idle timer, which a byte every few hundred ms resets: the deadline is absolute.
  const deadline = deadlineSignal(timeoutMs, NEVER);
  try {
    const response = await createTokenHttp().get<string>(discoveryUrl, { timeout: timeoutMs, signal: deadline.signal, ...agents?.forUrl(discoveryUrl) });
    status = response.status;
    body = response.data;
  } catch (error) {
    const reason = deadline.signal.aborted ? `no answer within ${timeoutMs} ms` : error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
    throw keysUnavailable(`discovery at ${discoveryUrl} failed: ${reason}`);
  } finally {
    deadline.clear();
  }
  if (status !== 200) throw keysUnavailable(`discovery at ${discoveryUrl} answered HTTP ${status}`);
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(typeof body === 'string' ? body : '') as Record<string, unknown>;
  } catch {
    throw keysUnavailable(`discovery at ${discoveryUrl} answered something that is not JSON`);
  }
  const { jwks_uri: jwksUri, issuer } = document ?? {};
  if (typeof jwksUri !== 'string' || endpointProblem(jwksUri.replace(/\?.*$/, '')) !== undefined) {
    throw keysUnavailable(`discovery at ${discoveryUrl} names no usable https jwks_uri`);
  }
  if (typeof issuer !== 'string' || issuer === '') throw keysUnavailable(`discovery at ${discoveryUrl} names no issuer`);
  if (expectedIssuer !== undefined && issuer !== expectedIssuer) {
    throw keysUnavailable(`discovery at ${discoveryUrl} names issuer ${issuer.slice(0, 200)}, not the configured one`);
  }
  // jose caches the keys, refetches at most once per 30 s for an unknown kid, never follows redirects,
  // and bounds each read by `timeoutDuration` (an absolute deadline); a failed read is remembered here.
  const remote = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: timeoutMs, ...(agents !== undefined && { [customFetch]: outboundFetch(agents) }) });
  const jwks = rememberingFailures(remote, failureMemoryMs, (error) => verificationFailure(error).code === 'ERR_IDP_UNAVAILABLE');
  return { jwks, issuers: [issuer, ...extraIssuers(issuer)] };
}

/** Signature, claims and format failures are the token's fault (401); an unreachable or broken JWKS is the IdP's (503). */
export function verificationFailure(error: unknown): AadBackendAuthError {
  if (error instanceof joseErrors.JWKSTimeout) return keysUnavailable('the JWKS request timed out');
  if (error instanceof joseErrors.JWKSInvalid) return keysUnavailable('the JWKS is not a valid key set');
  if (error instanceof joseErrors.JWTExpired) return userTokenInvalid('expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) return userTokenInvalid(`claim "${error.claim}" failed (${error.reason})`);
  if (error instanceof joseErrors.JWKSNoMatchingKey) return userTokenInvalid('signed with an unknown key');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return userTokenInvalid('bad signature');
  if (error instanceof joseErrors.JOSEError && error.code !== 'ERR_JOSE_GENERIC') return userTokenInvalid(error.code);
  // ERR_JOSE_GENERIC is a JWKS answer that is not 200 or not JSON; anything else is the network.
  return keysUnavailable(error instanceof Error ? error.message.slice(0, 200) : 'unknown error');
}
