import { randomBytes, randomUUID } from 'node:crypto';
import type { RefreshGrant } from './delegated-answer.js';
import { aadstsError, type AadstsError } from './errors.js';
import type { RefreshTokenStats } from './types.js';

/** A refresh token the emulator handed out: opaque to callers, a record here. */
export interface StoredRefreshToken extends RefreshGrant {
  readonly family: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** `rotated` once redeemed (a new one was issued in its place); `revoked` with its family. */
  state: 'active' | 'rotated' | 'revoked';
  /** Why the family was revoked, for the error of a later redemption. */
  revokedBy?: 'reuse' | 'revocation';
}

export interface RefreshTokenPolicy {
  readonly lifetimeSeconds: number;
  /** Redeeming a rotated token again revokes its whole family (Auth0, Okta); Entra does not do this. */
  readonly reuseDetection: boolean;
}

const invalidGrant = (code: number, message: string): AadstsError => aadstsError(400, 'invalid_grant', code, message);

/**
 * The refresh tokens issued, by token: opaque random strings, as Entra's are to
 * clients. Each redemption rotates (a new token in the same family); with reuse
 * detection, redeeming a rotated one again revokes the family.
 */
export class RefreshTokenStore {
  readonly #tokens = new Map<string, StoredRefreshToken>();
  readonly #revokedFamilies = new Set<string>();
  readonly #policy: RefreshTokenPolicy;
  #stats: RefreshTokenStats = { issued: 0, redeemed: 0, refused: 0, reuseDetected: 0, familiesRevoked: 0 };

  constructor(policy: RefreshTokenPolicy) {
    this.#policy = policy;
  }

  get stats(): RefreshTokenStats {
    return { ...this.#stats };
  }

  issue(grant: RefreshGrant): string {
    // As long as Entra's (about a kilobyte): what a BFF stores, and hashes, is then as large as in production.
    const token = `1.A${randomBytes(768).toString('base64url')}`;
    const issuedAt = Date.now();
    this.#tokens.set(token, { ...grant, family: grant.family ?? randomUUID(), issuedAt, expiresAt: issuedAt + this.#policy.lifetimeSeconds * 1000, state: 'active' });
    this.#stats.issued++;
    return token;
  }

  /** Takes `token` for a redemption by `clientId` in `tenantId`: its record, or Entra's `invalid_grant`. */
  redeem(token: string, clientId: string, tenantId: string): StoredRefreshToken | AadstsError {
    const found = this.#tokens.get(token);
    const refuse = (error: AadstsError): AadstsError => {
      this.#stats.refused++;
      return error;
    };
    if (found === undefined) return refuse(invalidGrant(9002313, 'Invalid request. Request is malformed or invalid. The refresh token is not one this service issued.'));
    if (found.clientId !== clientId || found.tenantId !== tenantId) {
      return refuse(invalidGrant(70000, 'Provided grant is invalid or malformed. The refresh token was issued to another client or tenant.'));
    }
    if (found.state === 'revoked') {
      return refuse(
        found.revokedBy === 'reuse'
          ? invalidGrant(70000, 'Provided grant is invalid or malformed. The refresh token was already redeemed, so its token family has been revoked (reuse detection).')
          : invalidGrant(50173, 'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.'),
      );
    }
    if (Date.now() >= found.expiresAt) {
      return refuse(invalidGrant(700082, 'The refresh token has expired due to inactivity. The token was issued and was inactive for the configured lifetime.'));
    }
    if (found.state === 'rotated' && this.#policy.reuseDetection) {
      this.#stats.reuseDetected++;
      this.#revokeFamily(found.family, 'reuse');
      return refuse(invalidGrant(70000, 'Provided grant is invalid or malformed. The refresh token was already redeemed, so its token family has been revoked (reuse detection).'));
    }
    found.state = 'rotated';
    this.#stats.redeemed++;
    return found;
  }

  /**
   * Revokes refresh tokens: every family of a user (by `oid` or username), or the family
   * of one refresh token. Returns how many tokens were still redeemable.
   */
  revoke(who: string): number {
    const byToken = this.#tokens.get(who);
    const families = new Set<string>();
    if (byToken !== undefined) families.add(byToken.family);
    else {
      const name = who.toLowerCase();
      for (const stored of this.#tokens.values()) if (stored.user.oid === who || stored.user.username.toLowerCase() === name) families.add(stored.family);
    }
    let revoked = 0;
    for (const family of families) revoked += this.#revokeFamily(family, 'revocation');
    return revoked;
  }

  #revokeFamily(family: string, by: 'reuse' | 'revocation'): number {
    let revoked = 0;
    for (const stored of this.#tokens.values()) {
      if (stored.family !== family || stored.state === 'revoked') continue;
      // Without reuse detection a rotated token stays redeemable, as in Entra.
      if (stored.state === 'active' || !this.#policy.reuseDetection) revoked++;
      stored.state = 'revoked';
      stored.revokedBy = by;
    }
    if (!this.#revokedFamilies.has(family)) {
      this.#revokedFamilies.add(family);
      this.#stats.familiesRevoked++;
    }
    return revoked;
  }

  clear(): void {
    this.#tokens.clear();
    this.#revokedFamilies.clear();
    this.#stats = { issued: 0, redeemed: 0, refused: 0, reuseDetected: 0, familiesRevoked: 0 };
  }
}
