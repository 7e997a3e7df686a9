import { invalidOption } from '../core/errors.js';

/**
 * The `claims` a token request carries: the client's capabilities (CAE) merged
 * with the claims a backend's challenge asked for.
 */
export interface TokenRequestClaims {
  /** The `claims` request parameter as sent to a token endpoint (JSON). */
  readonly claims: string;
  /**
   * The challenge's claims alone (JSON), if a backend asked for some. A `TokenCredential`
   * gets only these: with `enableCae` it adds the capabilities itself.
   */
  readonly challenge: string | undefined;
}

/** Capability names are short tokens such as `cp1`. */
const CAPABILITY = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_CAPABILITIES = 16;

/** Validates the `clientCapabilities` option; an empty list means none. */
export function parseClientCapabilities(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const ok =
    Array.isArray(value) &&
    value.length <= MAX_CAPABILITIES &&
    value.every((capability) => typeof capability === 'string' && CAPABILITY.test(capability));
  if (!ok) throw invalidOption('clientCapabilities', `must be an array of at most ${MAX_CAPABILITIES} capability names such as ["cp1"]`);
  const list = [...new Set(value as string[])];
  return list.length === 0 ? undefined : Object.freeze(list);
}

/**
 * What cache keys add for capabilities: a CAE-capable token is not what a provider
 * without capabilities asked for, so the two never share a token or a flight.
 */
export function capabilitiesKey(capabilities: readonly string[] | undefined): string {
  return capabilities === undefined ? '' : `|cc=${[...capabilities].sort().join(',')}`;
}

/**
 * The claims of one token request, or `undefined` when it carries none.
 * As MSAL does: the capabilities go into `access_token.xms_cc`, next to the challenge's claims.
 * `challenge` is a JSON object, already checked by the challenge parser.
 */
export function requestClaims(capabilities: readonly string[] | undefined, challenge: string | undefined): TokenRequestClaims | undefined {
  if (capabilities === undefined && challenge === undefined) return undefined;
  if (capabilities === undefined) return { claims: challenge!, challenge };
  const merged = (challenge === undefined ? {} : JSON.parse(challenge)) as Record<string, unknown>;
  const accessToken = merged['access_token'];
  merged['access_token'] = {
    ...(typeof accessToken === 'object' && accessToken !== null && !Array.isArray(accessToken) ? accessToken : {}),
    xms_cc: { values: [...capabilities] },
  };
  return { claims: JSON.stringify(merged), challenge };
}
