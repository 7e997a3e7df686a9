import type { CredentialAccessToken, CredentialGetTokenOptions, TokenCredential } from '../core/types.js';
import { AadBackendAuthError, type OAuthErrorDetails } from '../core/errors.js';
import { describeOAuthError, isHeaderSafeToken, malformed } from './token-response.js';
import type { TokenRequestClaims } from './token-request-claims.js';
import type { FetchedToken, TokenSource, TokenTarget } from './token-source.js';

// A weak side table keyed by the user's credential object, which we must not mutate: its stable id in this process.
const credentialIds = new WeakMap<TokenCredential, number>();
let nextCredentialId = 1;

/** Two providers built on the same credential object share cache keys and flights; two objects never do. */
function credentialId(credential: TokenCredential): string {
  let id = credentialIds.get(credential);
  if (id === undefined) {
    id = nextCredentialId++;
    credentialIds.set(credential, id);
  }
  return `credential#${id}:${credential.constructor.name}`;
}

/**
 * Adapts any `@azure/identity` `TokenCredential` (managed identity, certificate, workload identity, ...).
 * With `clientId` (only given with a shared store and a tenant) the key names the identity across a fleet;
 * without it the key names this credential object, which only this process knows.
 */
export function createCredentialSource(credential: TokenCredential, clientId?: string): TokenSource {
  async function fetchToken(target: TokenTarget, signal: AbortSignal, claims?: TokenRequestClaims): Promise<FetchedToken> {
    const options: CredentialGetTokenOptions = { abortSignal: signal };
    if (target.tenantId !== undefined) options.tenantId = target.tenantId;
    // @azure/identity adds the CAE capability itself with enableCae, and sends only a challenge's claims.
    if (claims !== undefined) options.enableCae = true;
    if (claims?.challenge !== undefined) options.claims = claims.challenge;
    let accessToken: CredentialAccessToken | null;
    try {
      accessToken = await credential.getToken([...target.scopes], options);
    } catch (error) {
      throw credentialFailed(error, signal);
    }
    if (accessToken === null || !isHeaderSafeToken(accessToken.token)) {
      throw malformed('no token, or a token that is not a valid RFC 6750 b64token, from the credential');
    }
    const now = Date.now();
    const expiresInMs = accessToken.expiresOnTimestamp - now;
    if (!(expiresInMs > 0)) throw malformed('an already expired token from the credential');
    const refreshAfter = accessToken.refreshAfterTimestamp;
    return {
      token: accessToken.token,
      expiresInMs,
      refreshInMs: refreshAfter !== undefined && refreshAfter > now ? refreshAfter - now : undefined,
    };
  }
  return { id: clientId === undefined ? credentialId(credential) : `credential|${clientId}`, grant: 'credential', fetchToken };
}

interface IdentityErrorShape {
  name?: unknown;
  message?: unknown;
  statusCode?: unknown;
  errorResponse?: { error?: unknown; errorDescription?: unknown; correlationId?: unknown; traceId?: unknown };
}

/** OAuth errors that mean the configuration is wrong: retrying will not help. */
const PERMANENT_OAUTH_ERRORS = /^(invalid_client|invalid_scope|unauthorized_client|invalid_request|invalid_grant|invalid_resource|unsupported_grant_type)\b/;

const text = (value: unknown, max = 600): string | undefined => (typeof value === 'string' ? value.slice(0, max) : undefined);
const firstMatch = (value: string, pattern: RegExp): string | undefined => pattern.exec(value)?.[1];

/**
 * The OAuth details of an @azure/identity failure: structured on `AuthenticationError`,
 * and only in the message of the `AuthenticationRequiredError` that wraps MSAL's errors.
 */
function oauthDetails(shape: IdentityErrorShape, message: string): OAuthErrorDetails | undefined {
  const response = shape.errorResponse ?? {};
  // Only the IdP's structured error_description is kept as text; the message is searched for ids only.
  const description = text(response.errorDescription);
  const searched = description ?? message;
  const error = text(response.error, 100) ?? firstMatch(message, /^([a-z_]+):/);
  if (error === undefined || !PERMANENT_OAUTH_ERRORS.test(error)) return undefined;
  const aadsts = firstMatch(searched, /(AADSTS\d+)/);
  const traceId = text(response.traceId, 100) ?? firstMatch(searched, /Trace ID: ([0-9a-f-]{36})/i);
  const correlationId = text(response.correlationId, 100) ?? firstMatch(searched, /Correlation ID: ([0-9a-f-]{36})/i);
  return {
    error,
    ...(aadsts !== undefined && { aadsts }),
    ...(traceId !== undefined && { traceId }),
    ...(correlationId !== undefined && { correlationId }),
    ...(description !== undefined && { description }),
  };
}

/**
 * What operators need from a credential's free-text message: its AADSTS codes and
 * trace and correlation ids. The text itself is never kept: a credential may echo
 * anything into it (AzureCliCredential quotes the CLI's raw output, which can hold
 * the token; a custom credential may quote its secret).
 */
function identifiers(message: string): string {
  const found = new Set(message.match(/AADSTS\d+/g) ?? []);
  for (const [, label, id] of message.matchAll(/(Trace|Correlation) ID: ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/gi)) {
    found.add(`${label!.toLowerCase()} id ${id!}`);
  }
  return found.size === 0 ? '' : `: ${[...found].join(', ')}`;
}

/** Reads @azure/identity errors by name and message, keeping their details but never the original error or its text. */
function credentialFailed(error: unknown, signal: AbortSignal): AadBackendAuthError {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as IdentityErrorShape;
  // The name is shown, so it must look like a class name and not like free text.
  const name = typeof shape.name === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,59}$/.test(shape.name) ? shape.name : 'Error';
  const message = text(shape.message, 2000) ?? 'unknown error';
  if (signal.aborted) {
    return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'The credential did not return a token in time');
  }
  if (name === 'CredentialUnavailableError') {
    return new AadBackendAuthError('ERR_CREDENTIAL_UNAVAILABLE', `The credential is not available here (${name})${identifiers(message)}`);
  }
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
  const oauth = status === undefined || status < 500 ? oauthDetails(shape, message) : undefined;
  if (oauth !== undefined) {
    return new AadBackendAuthError('ERR_IDP_REJECTED', `The IdP refused the credential's token request (${describeOAuthError(oauth)})`, {
      idpStatus: status,
      oauth,
    });
  }
  const http = status === undefined ? '' : `, HTTP ${status}`;
  return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The credential failed to get a token (${name}${http})${identifiers(message)}`, {
    idpStatus: status,
  });
}
