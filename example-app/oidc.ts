import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { LRUCache } from 'lru-cache';
import * as oidc from 'openid-client';

/** Where the BFF signs users in: any OpenID Connect provider, here Entra ID or the emulator. */
export interface OidcSettings {
  /** The issuer, e.g. `https://login.microsoftonline.com/<tenant>/v2.0`; its discovery document is read once. */
  readonly issuer: string;
  readonly clientId: string;
  /** Non-enumerable where it comes from config.ts; only openid-client sees it. */
  readonly clientSecret: string;
  /** `openid profile offline_access <API scope>`: one sign-in gives the ID token, the refresh token and the API's access token. */
  readonly scope: string;
}

/** What the callback needs to finish a sign-in this browser started. Server-side: the browser holds only its random id. */
interface Transaction {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly redirectUri: string;
}

/** The cookie binding the callback to the browser that started the sign-in. */
export const TRANSACTION_COOKIE = 'bff.tx';
const TRANSACTION_TTL_MS = 10 * 60 * 1000;

/**
 * The authorization-code flow with PKCE, through openid-client. The transaction (verifier,
 * state, nonce) stays server-side in a bounded LRU; the browser gets a random id in a
 * `SameSite=Lax` cookie, the one kind a top-level redirect back from the IdP carries.
 */
export class OidcSignIn {
  readonly #settings: OidcSettings;
  readonly #transactions = new LRUCache<string, Transaction>({ max: 1000, ttl: TRANSACTION_TTL_MS });
  #config: Promise<oidc.Configuration> | undefined;

  constructor(settings: OidcSettings) {
    this.#settings = settings;
  }

  /** Discovery once, on first use; a failure is tried again on the next sign-in. */
  config(): Promise<oidc.Configuration> {
    if (this.#config === undefined) {
      const issuer = new URL(this.#settings.issuer);
      // http only for a loopback issuer (the emulator); Entra ID is https.
      const insecure = issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined;
      this.#config = oidc.discovery(issuer, this.#settings.clientId, this.#settings.clientSecret, undefined, insecure);
      this.#config.catch(() => (this.#config = undefined));
    }
    return this.#config;
  }

  /** Starts a sign-in: remembers the transaction, sets its cookie, answers the IdP's authorization URL. */
  async start(res: Response, redirectUri: string, loginHint: string | undefined): Promise<URL> {
    const config = await this.config();
    const transaction = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce(), redirectUri };
    const id = randomBytes(32).toString('base64url');
    this.#transactions.set(id, transaction);
    res.cookie(TRANSACTION_COOKIE, id, { httpOnly: true, sameSite: 'lax', path: '/auth/callback', maxAge: TRANSACTION_TTL_MS });
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.#settings.scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(transaction.verifier),
      code_challenge_method: 'S256',
      state: transaction.state,
      nonce: transaction.nonce,
      ...(loginHint !== undefined && { login_hint: loginHint }),
    });
  }

  /**
   * Finishes a sign-in: the transaction of this browser (used once), then openid-client checks
   * the state, redeems the code with the verifier and validates the ID token and its nonce.
   * `undefined` when this browser started no sign-in (or it is over 10 minutes old).
   */
  async finish(req: Request, res: Response): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers | undefined> {
    const id = cookieValue(req, TRANSACTION_COOKIE);
    const transaction = id === undefined ? undefined : this.#transactions.get(id);
    res.clearCookie(TRANSACTION_COOKIE, { path: '/auth/callback' });
    if (transaction === undefined) return undefined;
    this.#transactions.delete(id!);
    const config = await this.config();
    const current = new URL(req.originalUrl, transaction.redirectUri);
    return oidc.authorizationCodeGrant(
      config,
      current,
      { pkceCodeVerifier: transaction.verifier, expectedState: transaction.state, expectedNonce: transaction.nonce, idTokenExpected: true },
      { redirect_uri: transaction.redirectUri },
    );
  }
}

/** One cookie's value; express has no cookie parser by default, and this is the only cookie read by hand. */
function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key !== name) continue;
    try {
      return decodeURIComponent(value.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}
