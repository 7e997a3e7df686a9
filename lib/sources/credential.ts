import type { GetTokenOptions, TokenCredential } from '@azure/identity';
import { AadBackendAuthError } from '../errors.js';
import { isHeaderSafeToken, malformed } from '../token-response.js';
import type { FetchedToken, TokenSource, TokenTarget } from './token-source.js';

const credentialIds = new WeakMap<TokenCredential, number>();
let nextCredentialId = 1;

/** Two providers built on the same credential object share cache keys and flights. */
function credentialId(credential: TokenCredential): string {
  let id = credentialIds.get(credential);
  if (id === undefined) {
    id = nextCredentialId++;
    credentialIds.set(credential, id);
  }
  return `credential#${id}:${credential.constructor.name}`;
}

/** Adapts any `@azure/identity` `TokenCredential` (managed identity, certificate, workload identity, ...). */
export function createCredentialSource(credential: TokenCredential): TokenSource {
  async function fetchToken(target: TokenTarget, signal: AbortSignal): Promise<FetchedToken> {
    const options: GetTokenOptions = { abortSignal: signal };
    if (target.tenantId !== undefined) options.tenantId = target.tenantId;
    let accessToken: Awaited<ReturnType<TokenCredential['getToken']>>;
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
  return { id: credentialId(credential), fetchToken };
}

interface IdentityErrorShape {
  name?: unknown;
  message?: unknown;
  statusCode?: unknown;
  errorResponse?: { error?: unknown; errorDescription?: unknown; correlationId?: unknown; traceId?: unknown };
}

/** Reads @azure/identity errors by name, keeping their details but never the original error. */
function credentialFailed(error: unknown, signal: AbortSignal): AadBackendAuthError {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as IdentityErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : 'Error';
  const message = typeof shape.message === 'string' ? shape.message.split('\n')[0]!.slice(0, 300) : 'unknown error';
  if (signal.aborted) {
    return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'The credential did not return a token in time', { status: 503, transient: true });
  }
  if (name === 'CredentialUnavailableError') {
    return new AadBackendAuthError('ERR_CREDENTIAL_UNAVAILABLE', `The credential is not available here: ${message}`, { status: 502 });
  }
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
  if (name === 'AuthenticationError' && status !== undefined && status < 500 && status !== 429 && status !== 408) {
    const response = shape.errorResponse ?? {};
    const text = (value: unknown): string | undefined => (typeof value === 'string' ? value.slice(0, 600) : undefined);
    const description = text(response.errorDescription);
    const oauth = {
      error: text(response.error) ?? 'unknown_error',
      ...(description?.match(/AADSTS\d+/) && { aadsts: description.match(/AADSTS\d+/)![0] }),
      ...(text(response.traceId) !== undefined && { traceId: text(response.traceId)! }),
      ...(text(response.correlationId) !== undefined && { correlationId: text(response.correlationId)! }),
      ...(description !== undefined && { description }),
    };
    const ids = [oauth.error, oauth.aadsts, oauth.traceId && `trace id ${oauth.traceId}`, oauth.correlationId && `correlation id ${oauth.correlationId}`];
    return new AadBackendAuthError('ERR_IDP_REJECTED', `The IdP refused the credential's token request (HTTP ${status} ${ids.filter(Boolean).join(', ')})`, {
      status: 502,
      idpStatus: status,
      oauth,
    });
  }
  return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', `The credential failed to get a token (${name}): ${message}`, {
    status: 503,
    idpStatus: status,
    transient: true,
  });
}
