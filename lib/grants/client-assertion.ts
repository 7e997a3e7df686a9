import { createPrivateKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

/** The signing algorithms Entra and most servers accept for private_key_jwt with an RSA key. */
export type ClientAssertionAlgorithm = 'RS256' | 'PS256';

/** A certificate credential as the `clientCertificate` option takes it. */
export interface ClientCertificate {
  /** The private key: PEM (PKCS#8 or PKCS#1) or a `KeyObject`. */
  readonly privateKey: string | Buffer | KeyObject;
  /** The certificate, PEM (a chain may follow it: leaf first) or an `X509Certificate`. */
  readonly certificate: string | Buffer | X509Certificate;
  /** The passphrase of an encrypted PEM private key. @default undefined */
  readonly passphrase?: string | undefined;
  /** @default 'RS256' */
  readonly algorithm?: ClientAssertionAlgorithm | undefined;
  /** Send the chain as `x5c`, for Entra subject-name/issuer authentication. @default false */
  readonly sendCertificateChain?: boolean | undefined;
}

/** A certificate checked and ready to sign with. Its private key is a KeyObject, which never prints. */
export interface PreparedCertificate {
  readonly key: KeyObject;
  readonly algorithm: ClientAssertionAlgorithm;
  /** base64url SHA-256 of the leaf certificate's DER: the `x5t#S256` header, and what tells two certificates apart. */
  readonly thumbprintS256: string;
  /** base64url SHA-1 thumbprint: the `x5t` header older Entra tenants look for with RS256. */
  readonly thumbprintSha1: string;
  /** base64 DER of each certificate, leaf first, when `x5c` is sent. */
  readonly chain: readonly string[] | undefined;
}

/** Assertions live at most this long (Entra allows 10 minutes); each is used once. */
export const ASSERTION_LIFETIME_SECONDS = 5 * 60;
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificates(value: unknown): X509Certificate[] {
  if (value instanceof X509Certificate) return [value];
  const pem = typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : '';
  return (pem.match(PEM_CERTIFICATE) ?? []).map((block) => new X509Certificate(block));
}

function hexToBase64Url(fingerprint: string): string {
  return Buffer.from(fingerprint.replaceAll(':', ''), 'hex').toString('base64url');
}

/**
 * Checks a `clientCertificate` value and prepares it. Returns a problem phrase
 * instead when it is unusable: the phrase never quotes the key.
 */
export function prepareCertificate(value: unknown): PreparedCertificate | string {
  if (typeof value !== 'object' || value === null) return 'must be { privateKey, certificate }';
  const input = value as Partial<Record<keyof ClientCertificate, unknown>>;
  const algorithm = input.algorithm ?? 'RS256';
  if (algorithm !== 'RS256' && algorithm !== 'PS256') return 'has an "algorithm" other than "RS256" or "PS256"';
  if (input.passphrase !== undefined && typeof input.passphrase !== 'string') return 'has a "passphrase" that is not a string';
  let key: KeyObject;
  try {
    if (typeof input.privateKey === 'object' && input.privateKey !== null && !Buffer.isBuffer(input.privateKey)) {
      key = input.privateKey as KeyObject;
      if (key.type !== 'private') return 'has a "privateKey" KeyObject that is not a private key';
    } else if (typeof input.privateKey === 'string' || Buffer.isBuffer(input.privateKey)) {
      key = createPrivateKey({ key: input.privateKey, format: 'pem', ...(input.passphrase !== undefined && { passphrase: input.passphrase }) });
    } else {
      return 'needs a "privateKey" (PEM or KeyObject)';
    }
  } catch {
    // The parser's message could quote the key material: it is not kept.
    return 'has a "privateKey" that is not a readable PEM private key (wrong format or passphrase)';
  }
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') return `has a ${key.asymmetricKeyType ?? 'non-RSA'} "privateKey": RS256 and PS256 need an RSA key`;
  let chain: X509Certificate[];
  try {
    chain = certificates(input.certificate);
  } catch {
    return 'has a "certificate" that is not a readable PEM certificate';
  }
  const leaf = chain[0];
  if (leaf === undefined) return 'needs a "certificate" (PEM or X509Certificate)';
  if (!leaf.checkPrivateKey(key)) return 'has a "certificate" that does not belong to its "privateKey"';
  return {
    key,
    algorithm,
    thumbprintS256: hexToBase64Url(leaf.fingerprint256),
    thumbprintSha1: hexToBase64Url(leaf.fingerprint),
    chain: input.sendCertificateChain === true ? chain.map((cert) => cert.raw.toString('base64')) : undefined,
  };
}

/**
 * A fresh RFC 7523 client assertion: `iss` = `sub` = the client id, `aud` = the
 * token endpoint, a unique `jti`, and a short life.
 */
export function signClientAssertion(certificate: PreparedCertificate, clientId: string, tokenEndpoint: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({
      alg: certificate.algorithm,
      typ: 'JWT',
      'x5t#S256': certificate.thumbprintS256,
      x5t: certificate.thumbprintSha1,
      ...(certificate.chain !== undefined && { x5c: [...certificate.chain] }),
    })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenEndpoint)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
    .sign(certificate.key);
}
