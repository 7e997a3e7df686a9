import { randomBytes, randomUUID } from 'node:crypto';
import type { RefreshGrant } from './delegated-answer.js';

/** A refresh token the emulator handed out: opaque to callers, a record here. */
export interface StoredRefreshToken extends RefreshGrant {
  readonly family: string;
  readonly issuedAt: number;
}

/** The refresh tokens issued, by token. Opaque random strings, as Entra's are to clients. */
export class RefreshTokenStore {
  readonly #tokens = new Map<string, StoredRefreshToken>();

  issue(grant: RefreshGrant): string {
    const token = `1.${randomBytes(48).toString('base64url')}`;
    this.#tokens.set(token, { ...grant, family: grant.family ?? randomUUID(), issuedAt: Date.now() });
    return token;
  }

  get(token: string): StoredRefreshToken | undefined {
    return this.#tokens.get(token);
  }

  clear(): void {
    this.#tokens.clear();
  }
}
