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
  /** A `clientSecret`, `clientCertificate` or `clientAssertion` function threw or gave nothing usable; retried like an outage. */
  | 'ERR_SECRET_UNAVAILABLE'
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
  | 'ERR_USER_CONSENT_REQUIRED'
  /**
   * `createAuthFetch` / `useAadBackendAuth`: the token may not go to that URL (not https and not
   * loopback http, not in `allowedOrigins`, or a redirect to another origin). Refused before any
   * token is fetched or sent. Not an answer of the middleware: 500, like other errors of the caller's own code.
   */
  | 'ERR_URL_NOT_ALLOWED'
  /** `aadUserToken`: the IdP refused the session's refresh token (`invalid_grant`: revoked, expired, reused); sign in again. 401. */
  | 'ERR_USER_SESSION_EXPIRED'
  /** A cookie-authenticated request lacks the anti-forgery header (or an upgrade an allowed `Origin`). 403. */
  | 'ERR_ANTIFORGERY'
  /** A defect inside the package (or a callback such as a logger threw). Logged with its stack; never retried. */
  | 'ERR_INTERNAL';

/** What each code means on the wire: the status the middleware answers with, and whether trying again may help. */
const CODE_TABLE: { readonly [C in AadBackendAuthErrorCode]: { readonly status: number; readonly transient: boolean } } = {
  ERR_INVALID_OPTION: { status: 500, transient: false },
  ERR_IDP_REJECTED: { status: 502, transient: false },
  ERR_IDP_MALFORMED_RESPONSE: { status: 502, transient: false },
  ERR_IDP_UNAVAILABLE: { status: 503, transient: true },
  ERR_CREDENTIAL_UNAVAILABLE: { status: 502, transient: false },
  ERR_SECRET_UNAVAILABLE: { status: 503, transient: true },
  ERR_INVALID_TARGET: { status: 400, transient: false },
  ERR_CLOSED: { status: 503, transient: false },
  ERR_INTERNAL: { status: 500, transient: false },
  ERR_URL_NOT_ALLOWED: { status: 500, transient: false },
  ERR_USER_TOKEN_MISSING: { status: 401, transient: false },
  ERR_USER_TOKEN_INVALID: { status: 401, transient: false },
  ERR_USER_INTERACTION_REQUIRED: { status: 401, transient: false },
  ERR_USER_CONSENT_REQUIRED: { status: 403, transient: false },
  ERR_USER_SESSION_EXPIRED: { status: 401, transient: false },
  ERR_ANTIFORGERY: { status: 403, transient: false },
};

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

/** The details an error may carry besides its code and message. */
export interface AadBackendAuthErrorInit {
  readonly retryAfterSeconds?: number | undefined;
  readonly idpStatus?: number | undefined;
  readonly oauth?: OAuthErrorDetails | undefined;
  readonly cause?: Error | undefined;
  /** `ERR_USER_INTERACTION_REQUIRED`: the IdP's claims challenge (JSON). */
  readonly claims?: string | undefined;
}

/**
 * The one error class of the package. It never holds a secret or a token:
 * its message, `oauth` details and `cause` are built from sanitised values only.
 * `status` and `transient` follow from `code`.
 */
export class AadBackendAuthError extends Error {
  override readonly name = 'AadBackendAuthError';
  /** A stable, documented code. */
  readonly code: AadBackendAuthErrorCode;
  /**
   * The HTTP status the middleware answers with by default (400, 401, 403, 502 or 503); 500 for
   * start-up and internal errors and for codes the middleware never answers with (`ERR_URL_NOT_ALLOWED`).
   */
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

  constructor(code: AadBackendAuthErrorCode, message: string, init: AadBackendAuthErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    const meaning = CODE_TABLE[code];
    this.code = code;
    this.status = meaning.status;
    this.transient = meaning.transient;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.idpStatus = init.idpStatus;
    this.oauth = init.oauth;
    this.claims = init.claims;
  }
}

/** Start-up validation failure; the message always names the option. */
export function invalidOption(option: string, problem: string, owner = 'aadBackendAuth'): AadBackendAuthError {
  return new AadBackendAuthError('ERR_INVALID_OPTION', `${owner}: "${option}" ${problem}`);
}

export const closedError = (): AadBackendAuthError => new AadBackendAuthError('ERR_CLOSED', 'The token provider was closed');
export const noTokenInTime = (): AadBackendAuthError => new AadBackendAuthError('ERR_IDP_UNAVAILABLE', 'No token within timeoutMs');

/** Any failure as an `AadBackendAuthError`: anything else is a defect, `ERR_INTERNAL`, keeping nothing of the original. */
export function toAadBackendAuthError(error: unknown): AadBackendAuthError {
  if (error instanceof AadBackendAuthError) return error;
  return new AadBackendAuthError('ERR_INTERNAL', 'An internal error occurred while getting a token');
}

/** As {@link toAadBackendAuthError}, logging a defect's stack for operators (a defect never carries a token). */
export function toFailure(error: unknown, logger: { error(message: string): void }): AadBackendAuthError {
  if (!(error instanceof AadBackendAuthError)) {
    logger.error(`internal error while getting a token: ${error instanceof Error ? (error.stack ?? error.message) : 'a non-Error was thrown'}`);
  }
  return toAadBackendAuthError(error);
}
