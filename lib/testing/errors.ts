import { randomUUID } from 'node:crypto';
import type { OAuthErrorCode } from './types.js';

/** The JSON body Entra ID sends with a failed token request. */
export interface AadstsErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

/** An error answer: HTTP status plus AADSTS body. */
export interface AadstsError {
  status: number;
  body: AadstsErrorBody;
}

/** Entra's timestamp format: `2026-11-24 10:00:00Z`. */
function entraTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/**
 * Build an error the way Entra words it: the description starts with
 * `AADSTS<code>:` and ends with the trace id, correlation id and timestamp.
 */
export function aadstsError(
  status: number,
  error: string,
  code: number,
  message: string,
): AadstsError {
  const correlationId = randomUUID();
  const traceId = randomUUID();
  const timestamp = entraTimestamp(new Date());
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

/** The errors the emulator's own checks produce. Each returns a fresh trace id. */
export const entraErrors = {
  tenantNotFound: (tenant: string) =>
    aadstsError(
      400,
      'invalid_request',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    ),
  missingParameter: (name: string) =>
    aadstsError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  missingCredential: () =>
    aadstsError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ),
  unsupportedGrantType: (grantType: string) =>
    aadstsError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`),
  clientNotFound: (clientId: string, tenant: string) =>
    aadstsError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  invalidSecret: (clientId: string) =>
    aadstsError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  invalidScope: (scope: string) =>
    aadstsError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  /** Entra's answer to a scope that names two resources, such as `api://a/.default api://b/.default`. */
  tooManyResources: (scope: string) =>
    aadstsError(
      400,
      'invalid_scope',
      28000,
      `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`,
    ),
  /** The default body of a `status` fault: Entra's generic service error. */
  serviceError: (status: number) =>
    aadstsError(status, 'server_error', 50000, 'There was an error issuing a token or an issue with our sign-in service.'),
  resourceNotFound: (resource: string, tenant: string) =>
    aadstsError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    ),
  methodNotAllowed: (method: string) =>
    aadstsError(
      400,
      'invalid_request',
      900561,
      `The endpoint only accepts POST, OPTIONS requests. Received a ${method} request.`,
    ),
  throttled: (status: number) =>
    aadstsError(
      status,
      'temporarily_unavailable',
      90055,
      'There are too many incoming requests. Please try again later.',
    ),
} as const;

/** The canned body of an `oauth-error` fault, per OAuth error code. */
export function faultError(error: OAuthErrorCode, status: number | undefined, clientId: string): AadstsError {
  let made: AadstsError;
  switch (error) {
    case 'invalid_client':
      made = entraErrors.invalidSecret(clientId);
      break;
    case 'invalid_scope':
      made = entraErrors.invalidScope('api://emulated');
      break;
    case 'unauthorized_client':
      made = entraErrors.clientNotFound(clientId, 'Emulated tenant');
      break;
    case 'invalid_request':
      made = entraErrors.tenantNotFound('emulated.example');
      break;
    case 'invalid_grant':
      made = aadstsError(
        400,
        'invalid_grant',
        700024,
        'Client assertion is not within its valid time range.',
      );
      break;
  }
  return status === undefined ? made : { ...made, status };
}

/** The headers of an error answer: Entra's `x-ms-request-id` is the body's `trace_id`. */
export function errorHeaders(err: AadstsError): Record<string, string> {
  return { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': err.body.trace_id };
}

/**
 * Entra reuses the caller's `client-request-id` as the correlation id.
 * Return `err` with `correlationId` in both the field and the description.
 */
export function withCorrelationId(err: AadstsError, correlationId: string | undefined): AadstsError {
  if (!correlationId) return err;
  const { body } = err;
  return {
    status: err.status,
    body: {
      ...body,
      correlation_id: correlationId,
      error_description: body.error_description.replace(body.correlation_id, correlationId),
    },
  };
}
