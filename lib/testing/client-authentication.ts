import { X509Certificate, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { aadstsError, entraErrors, type AadstsError } from './errors.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Entra refuses assertions that claim to live longer than this. */
const MAX_ASSERTION_LIFETIME_SECONDS = 10 * 60;
const CLOCK_SKEW_SECONDS = 60;

/** A registered certificate credential: what the emulator checks assertions against. */
export interface RegisteredCertificate {
  readonly publicKey: KeyObject;
  /** base64url SHA-256 thumbprint, as `x5t#S256` carries it. */
  readonly thumbprintS256: string;
  /** base64url SHA-1 thumbprint, as `x5t` carries it. */
  readonly thumbprintSha1: string;
}

/** What a client registration holds for authentication. `clientSecret` may change (rotation). */
export interface AuthenticatingClient {
  readonly clientId: string;
  clientSecret: string | undefined;
  readonly certificate?: RegisteredCertificate | undefined;
}

/** The credential a token request presents, before the client is looked up. */
export type PresentedCredential =
  | { readonly kind: 'none'; readonly clientId: string | undefined }
  | { readonly kind: 'secret'; readonly clientId: string | undefined; readonly secret: string }
  | { readonly kind: 'assertion'; readonly clientId: string | undefined; readonly assertion: string };

const base64Url = (hex: string): string => Buffer.from(hex.replaceAll(':', ''), 'hex').toString('base64url');

/** Reads a PEM certificate for a client registration; throws a TypeError naming the client. */
export function registerCertificate(pem: unknown, clientId: string): RegisteredCertificate {
  try {
    const certificate = new X509Certificate(pem as string);
    return {
      publicKey: certificate.publicKey,
      thumbprintS256: base64Url(certificate.fingerprint256),
      thumbprintSha1: base64Url(certificate.fingerprint),
    };
  } catch {
    throw new TypeError(`startEntraEmulator: "clients" option needs a PEM "certificate" for client '${clientId}'`);
  }
}

const invalidAssertion = (why: string): AadstsError => aadstsError(401, 'invalid_client', 700027, `Client assertion failed signature validation. ${why}`);

/** application/x-www-form-urlencoded decoding, as RFC 6749 §2.3.1 asks of Basic credentials. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * What the request presents: a Basic header (client_secret_basic), a `client_secret`
 * (client_secret_post), a jwt-bearer `client_assertion`, or nothing. More than one is an error (RFC 6749 §2.3).
 */
export function presentedCredential(form: Record<string, string>, headers: IncomingHttpHeaders): PresentedCredential | AadstsError {
  const authorization = headers.authorization;
  const found: PresentedCredential[] = [];
  if (authorization !== undefined) {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization.trim());
    const decoded = match === null ? '' : Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) return aadstsError(401, 'invalid_client', 7000216, "The 'Authorization' header is not a valid client_secret_basic header.");
    try {
      found.push({ kind: 'secret', clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) });
    } catch {
      return aadstsError(401, 'invalid_client', 7000216, 'The client credentials in the Authorization header are not form-encoded.');
    }
    const bodyId = form['client_id'];
    if (bodyId !== undefined && bodyId !== found[0]!.clientId) return aadstsError(400, 'invalid_request', 900144, "The 'client_id' does not match the Authorization header.");
  }
  if (form['client_secret'] !== undefined) found.push({ kind: 'secret', clientId: form['client_id'], secret: form['client_secret'] });
  if (form['client_assertion'] !== undefined || form['client_assertion_type'] !== undefined) {
    if (form['client_assertion_type'] !== JWT_BEARER) return aadstsError(400, 'invalid_request', 900144, `The 'client_assertion_type' must be '${JWT_BEARER}'.`);
    found.push({ kind: 'assertion', clientId: form['client_id'], assertion: form['client_assertion'] ?? '' });
  }
  if (found.length > 1) return aadstsError(400, 'invalid_request', 90023, 'The request uses more than one client authentication method.');
  return found[0] ?? { kind: 'none', clientId: form['client_id'] };
}

/**
 * Checks the presented credential against the registration: the secret, or the
 * assertion's signature, `iss`/`sub`, `aud` (one of `audiences`), `exp`, `jti`
 * and `x5t#S256`. `undefined` when it passes. As in Entra, a valid assertion may
 * be presented again until its `exp`: MSAL reuses its assertion for about 10 minutes.
 */
export async function verifyClient(
  presented: PresentedCredential,
  client: AuthenticatingClient,
  audiences: readonly string[],
): Promise<AadstsError | undefined> {
  switch (presented.kind) {
    case 'none':
      return entraErrors.missingCredential();
    case 'secret':
      return client.clientSecret !== undefined && presented.secret === client.clientSecret ? undefined : entraErrors.invalidSecret(client.clientId);
    case 'assertion':
      return verifyAssertion(presented.assertion, client, audiences);
  }
}

async function verifyAssertion(assertion: string, client: AuthenticatingClient, audiences: readonly string[]): Promise<AadstsError | undefined> {
  const certificate = client.certificate;
  if (certificate === undefined) return invalidAssertion(`No certificate is registered for app '${client.clientId}'.`);
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return invalidAssertion('The assertion is not a JWT.');
  }
  const s256 = header['x5t#S256'];
  if (s256 === undefined && header.x5t === undefined) return invalidAssertion("The assertion has no 'x5t#S256' header.");
  if (s256 !== undefined ? s256 !== certificate.thumbprintS256 : header.x5t !== certificate.thumbprintSha1) {
    return invalidAssertion(`The certificate with identifier used to sign the client assertion is not registered on application '${client.clientId}'.`);
  }
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
  try {
    ({ payload } = await jwtVerify(assertion, certificate.publicKey, {
      algorithms: ['RS256', 'PS256'],
      audience: [...audiences],
      issuer: client.clientId,
      subject: client.clientId,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: CLOCK_SKEW_SECONDS,
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return aadstsError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    const claim = error instanceof joseErrors.JWTClaimValidationFailed ? ` The '${error.claim}' claim is not valid.` : '';
    return invalidAssertion(`The signature or claims did not verify.${claim}`);
  }
  const now = Math.floor(Date.now() / 1000);
  const exp = payload.exp!;
  if (exp > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) return invalidAssertion('The assertion expires more than 10 minutes ahead.');
  return undefined;
}
