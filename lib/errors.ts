/**
 * Every stable error code this package uses. `switch (err.code)` over an
 * {@link AadBackendAuthError} narrows to one of these.
 */
export type AadBackendAuthErrorCode =
  /** An option is missing, of the wrong type, or fails validation. Thrown at start-up. */
  | 'ERR_INVALID_OPTION'
  /** The IdP refused the token request (an OAuth 4xx error such as `invalid_client`). */
  | 'ERR_IDP_REJECTED'
  /** The IdP answered with something that is not a usable token (HTML, broken JSON, no `access_token`, ...). */
  | 'ERR_IDP_MALFORMED_RESPONSE'
  /** The IdP was unreachable, too slow, or still answered 5xx/429 after the retries. */
  | 'ERR_IDP_UNAVAILABLE'
  /** A `TokenCredential` could not be used in this environment (no managed identity, no `az login`, ...). */
  | 'ERR_CREDENTIAL_UNAVAILABLE'
  /** A per-request `tenantId`, `resource` or `scope` function threw or returned a value that fails validation. */
  | 'ERR_INVALID_TARGET'
  /** The provider was closed with `close()`. */
  | 'ERR_CLOSED'
  /** `aadOnBehalfOf`: the request carries no user token (no `Authorization: Bearer`, or `userToken` gave none). 401. */
  | 'ERR_USER_TOKEN_MISSING'
  /** `aadOnBehalfOf`: the user token fails validation (signature, issuer, audience, expiry, algorithm). 401. */
  | 'ERR_USER_TOKEN_INVALID'
  /** `aadOnBehalfOf`: Conditional Access or MFA needs the user to sign in again; `claims` holds the challenge. 401. */
  | 'ERR_USER_INTERACTION_REQUIRED'
  /** `aadOnBehalfOf`: the user (or an admin) has not consented to the downstream scopes. 403. */
  | 'ERR_USER_CONSENT_REQUIRED';

/** What the IdP said when it refused a token request. None of it is secret; it is for operators. */
export interface OAuthErrorDetails {
  /** The OAuth error code, e.g. `invalid_client`. */
  readonly error: string;
  /** Entra's `AADSTSnnnnn` code, when the description carries one. */
  readonly aadsts?: string;
  readonly traceId?: string;
  readonly correlationId?: string;
  /** The IdP's `error_description`, with the client secret scrubbed out should it ever be echoed. */
  readonly description?: string;
}

interface ErrorInit {
  readonly status: number;
  readonly retryAfterSeconds?: number | undefined;
  readonly idpStatus?: number | undefined;
  readonly oauth?: OAuthErrorDetails | undefined;
  readonly transient?: boolean | undefined;
  readonly cause?: Error | undefined;
  readonly claims?: string | undefined;
}

/**
 * The one error class of the package. It never holds a secret or a token:
 * its message, `oauth` details and `cause` are built from sanitised values only.
 */
export class AadBackendAuthError extends Error {
  override readonly name = 'AadBackendAuthError';
  /** A stable, documented code. */
  readonly code: AadBackendAuthErrorCode;
  /** The HTTP status the middleware answers with by default (400, 502 or 503; 500 for start-up errors). */
  readonly status: number;
  /** For 503s: when it is worth trying again, in whole seconds. */
  readonly retryAfterSeconds: number | undefined;
  /** The token endpoint's HTTP status, when it answered at all. */
  readonly idpStatus: number | undefined;
  /** The IdP's OAuth error, for operators. */
  readonly oauth: OAuthErrorDetails | undefined;
  /** Whether trying again later may succeed without a configuration change. */
  readonly transient: boolean;
  /** `ERR_USER_INTERACTION_REQUIRED`: the IdP's claims challenge (JSON), for `WWW-Authenticate`. Not secret. */
  readonly claims: string | undefined;

  constructor(code: AadBackendAuthErrorCode, message: string, init: ErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.status = init.status;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.idpStatus = init.idpStatus;
    this.oauth = init.oauth;
    this.transient = init.transient ?? false;
    this.claims = init.claims;
  }
}

/** Start-up validation failure; the message always names the option. */
export function invalidOption(option: string, problem: string): AadBackendAuthError {
  return new AadBackendAuthError('ERR_INVALID_OPTION', `aadBackendAuth: "${option}" ${problem}`, { status: 500 });
}

/** Any failure as an `AadBackendAuthError`: unexpected ones become a transient 503, keeping nothing of the original. */
export function toAadBackendAuthError(error: unknown): AadBackendAuthError {
  if (error instanceof AadBackendAuthError) return error;
  return new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'The token request failed unexpectedly', { status: 503, transient: true });
}
