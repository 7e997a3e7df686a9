import { randomBytes, sign, type KeyObject } from 'node:crypto';

// A minimal DER writer: just enough ASN.1 for one self-signed RSA certificate (RFC 5280),
// so that the signing key's JWKS entry can carry `x5c` and `x5t` as Entra's do,
// without the optional `selfsigned` dependency.

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...content: Buffer[]): Buffer => tlv(0x30, ...content);
const set = (...content: Buffer[]): Buffer => tlv(0x31, ...content);
const NULL = Buffer.from([0x05, 0x00]);
/** sha256WithRSAEncryption, 1.2.840.113549.1.1.11 */
const SHA256_WITH_RSA = tlv(0x06, Buffer.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]));
/** commonName, 2.5.4.3 */
const COMMON_NAME = tlv(0x06, Buffer.from([0x55, 0x04, 0x03]));

function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-24T10:00:00.000Z
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

function name(commonName: string): Buffer {
  return sequence(set(sequence(COMMON_NAME, tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

/**
 * A self-signed X.509 v1 certificate (DER) for an RSA key pair, valid from a
 * minute ago for `days` days, signed with SHA-256.
 */
export function selfSignedRsaCertificate(publicKey: KeyObject, privateKey: KeyObject, commonName: string, days = 365): Buffer {
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // a positive INTEGER
  const algorithm = sequence(SHA256_WITH_RSA, NULL);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + days * 24 * 60 * 60 * 1000);
  const tbs = sequence(
    tlv(0x02, serial),
    algorithm,
    name(commonName),
    sequence(utcTime(notBefore), utcTime(notAfter)),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  return sequence(tbs, algorithm, tlv(0x03, Buffer.from([0]), signature));
}
