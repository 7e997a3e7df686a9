import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Marks an encrypted value, so a clear one is never mistaken for it (and vice versa). */
export const ENCRYPTED_PREFIX = 'aes256gcm:';

/**
 * Turns an `encryptionKey` option into a key object, or explains what is wrong.
 * The explanation never contains the key.
 */
export function parseEncryptionKey(value: unknown): KeyObject | string {
  let bytes: Buffer | undefined;
  if (value instanceof Uint8Array) bytes = Buffer.from(value);
  else if (typeof value === 'string') {
    const text = value.trim();
    if (/^[0-9a-f]{64}$/i.test(text)) bytes = Buffer.from(text, 'hex');
    else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) bytes = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  } else {
    return 'must be a Buffer or a string (64 hex digits or base64)';
  }
  if (bytes === undefined || bytes.length !== KEY_BYTES) return `must be exactly ${KEY_BYTES} bytes (64 hex digits or 44 base64 characters)`;
  return createSecretKey(bytes);
}

/** Seals `plaintext`; `aad` (the Redis key name) binds it to where it is stored. */
export function encrypt(plaintext: string, key: KeyObject, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ENCRYPTED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

/** Opens a value sealed by {@link encrypt}; `undefined` for anything tampered with, moved, or sealed with another key. */
export function decrypt(value: string, key: KeyObject, aad: string): string | undefined {
  if (!value.startsWith(ENCRYPTED_PREFIX)) return undefined;
  const raw = Buffer.from(value.slice(ENCRYPTED_PREFIX.length), 'base64');
  if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv(ALGORITHM, key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
