import { createHash, randomBytes } from 'node:crypto';
import { isLoopbackHost } from '../core/option-checks.js';
import type { ClientAuthClass, TokenUser } from './claims.js';
import { delegatedAnswer, parseDelegatedScope, type DelegatedContext, type DelegatedOutcomeOk } from './delegated-answer.js';
import { aadstsError, entraErrors, type AadstsError } from './errors.js';
import type { ResolvedClient, ResolvedOptions } from './options.js';
import type { RefreshTokenStore } from './refresh-tokens.js';

/** Entra's authorization codes live about ten minutes. */
const CODE_LIFETIME_MS = 10 * 60 * 1000;

/** A code handed out by the authorization endpoint, waiting for its one redemption. */
interface PendingCode {
  readonly clientId: string;
  readonly tenantId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly user: TokenUser;
  readonly codeChallenge: string;
  readonly nonce: string | undefined;
  readonly expiresAt: number;
  used: boolean;
}

/** What the authorization endpoint answers: a redirect (code or error) or an error shown "on the page". */
export type AuthorizeOutcome = { readonly redirect: string } | { readonly error: AadstsError };

/** The tenant's test users, found by `login_hint` (username or oid); the first one when no hint is given. */
export function findUser(options: ResolvedOptions, tenantId: string, loginHint: string | undefined): TokenUser | undefined {
  // Without a given oid, a user's oid is per tenant, as issueUserToken derives it.
  const users = options.users.map((user) => ({ oid: user.oid ?? options.userOid(tenantId, user.name), name: user.name, username: user.username }));
  if (loginHint === undefined || loginHint === '') return users[0];
  const hint = loginHint.toLowerCase();
  return users.find((user) => user.username.toLowerCase() === hint || user.oid.toLowerCase() === hint);
}

/** A registered redirect URI, or (when the client registers none) any loopback http(s) URL. */
function redirectAllowed(client: ResolvedClient, uri: string): boolean {
  if (client.redirectUris !== undefined) return client.redirectUris.includes(uri);
  try {
    const url = new URL(uri);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(url.hostname) && url.hash === '';
  } catch {
    return false;
  }
}

function withParams(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

/** Authorization codes: issued by the authorization endpoint, redeemed once by the `authorization_code` grant. */
export class AuthorizationCodes {
  readonly #codes = new Map<string, PendingCode>();

  /**
   * `GET /{tenant}/oauth2/v2.0/authorize` without a page: the user named by `login_hint` (or
   * the first test user) signs in at once, and the browser is sent back with `code` and `state`.
   * PKCE with S256 is required. Errors about the client or the redirect URI are not redirected.
   */
  authorize(query: Record<string, string>, tenantId: string | undefined, tenantName: string, options: ResolvedOptions): AuthorizeOutcome {
    if (tenantId === undefined) return { error: entraErrors.tenantNotFound(tenantName) };
    const clientId = query['client_id'];
    if (!clientId) return { error: entraErrors.missingParameter('client_id') };
    const client = options.clients.get(clientId);
    if (client === undefined || (client.tenantId !== undefined && client.tenantId !== tenantId)) return { error: entraErrors.clientNotFound(clientId, tenantName) };
    const redirectUri = query['redirect_uri'];
    if (!redirectUri) return { error: entraErrors.missingParameter('redirect_uri') };
    if (!redirectAllowed(client, redirectUri)) {
      return { error: aadstsError(400, 'invalid_request', 50011, `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'.`) };
    }
    const state = query['state'];
    const back = (err: AadstsError): AuthorizeOutcome => ({
      redirect: withParams(redirectUri, { error: err.body.error, error_description: err.body.error_description, error_uri: err.body.error_uri, state }),
    });
    if (query['response_type'] !== 'code') {
      return back(aadstsError(400, 'unsupported_response_type', 700054, `response_type '${query['response_type'] ?? ''}' is not enabled for the application; the emulator answers 'code'.`));
    }
    if (query['response_mode'] !== undefined && query['response_mode'] !== 'query') {
      return back(aadstsError(400, 'invalid_request', 900144, `The emulator answers response_mode 'query' only, not '${query['response_mode']}'.`));
    }
    const scope = query['scope'];
    if (!scope) return back(entraErrors.missingParameter('scope'));
    const parsed = parseDelegatedScope(scope, options, tenantName, 'graph');
    if ('error' in parsed) return back(parsed.error);
    const codeChallenge = query['code_challenge'];
    if (!codeChallenge || query['code_challenge_method'] !== 'S256') {
      return back(aadstsError(400, 'invalid_request', 9002325, 'Proof Key for Code Exchange is required: send code_challenge with code_challenge_method S256.'));
    }
    const user = findUser(options, tenantId, query['login_hint']);
    if (user === undefined) {
      return { error: aadstsError(400, 'invalid_request', 50034, `The user account ${query['login_hint'] ?? ''} does not exist in the ${tenantName} directory. To sign into this application, the account must be added to the directory.`) };
    }
    const code = `1.${randomBytes(48).toString('base64url')}`;
    this.#codes.set(code, { clientId, tenantId, redirectUri, scope, user, codeChallenge, nonce: query['nonce'], expiresAt: Date.now() + CODE_LIFETIME_MS, used: false });
    return { redirect: withParams(redirectUri, { code, state, session_state: randomBytes(16).toString('hex') }) };
  }

  /** The `authorization_code` grant, after client authentication. */
  async redeem(form: Record<string, string>, clientId: string, clientAuth: ClientAuthClass, tenantId: string, tenantName: string, context: DelegatedContext): Promise<DelegatedOutcomeOk | { error: AadstsError }> {
    const code = form['code'];
    if (!code) return { error: entraErrors.missingParameter('code') };
    if (!form['redirect_uri']) return { error: entraErrors.missingParameter('redirect_uri') };
    const verifier = form['code_verifier'];
    if (!verifier) return { error: entraErrors.missingParameter('code_verifier') };
    const pending = this.#codes.get(code);
    if (pending === undefined) return { error: invalidGrant(9002313, 'Invalid request. Request is malformed or invalid. The authorization code is not one this service issued.') };
    if (pending.clientId !== clientId || pending.tenantId !== tenantId) return { error: invalidGrant(70000, 'Provided grant is invalid or malformed. The code was issued to another client or tenant.') };
    if (pending.used) return { error: invalidGrant(54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.') };
    // One attempt per code: a wrong verifier burns it, so it cannot be guessed.
    pending.used = true;
    if (Date.now() >= pending.expiresAt) {
      return { error: invalidGrant(70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.') };
    }
    if (form['redirect_uri'] !== pending.redirectUri) return { error: invalidGrant(70000, 'Provided grant is invalid or malformed. The redirect_uri does not match the one the code was issued for.') };
    if (createHash('sha256').update(verifier).digest('base64url') !== pending.codeChallenge) {
      return { error: invalidGrant(501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.') };
    }
    const rawScope = form['scope'] || pending.scope;
    const scope = parseDelegatedScope(rawScope, context.options, tenantName, 'graph');
    if ('error' in scope) return scope;
    const signedIn = new Set(pending.scope.split(/\s+/));
    return delegatedAnswer(context, {
      tenantId,
      clientId,
      clientAuth,
      user: pending.user,
      scope,
      rawScope,
      grant: 'authorization-code',
      clientInfo: form['client_info'] === '1',
      idToken: signedIn.has('openid'),
      nonce: pending.nonce,
      refresh: signedIn.has('offline_access') ? { scope: pending.scope } : undefined,
    });
  }

  clear(): void {
    this.#codes.clear();
  }
}

/** The `refresh_token` grant, after client authentication: rotation, and reuse detection when on. */
export async function redeemRefreshToken(form: Record<string, string>, clientId: string, clientAuth: ClientAuthClass, tenantId: string, tenantName: string, context: DelegatedContext, store: RefreshTokenStore): Promise<DelegatedOutcomeOk | { error: AadstsError }> {
  const token = form['refresh_token'];
  if (!token) return { error: entraErrors.missingParameter('refresh_token') };
  const stored = store.redeem(token, clientId, tenantId);
  if ('status' in stored) return { error: stored };
  // One refresh token serves any API the user consented to: the scope may name another one.
  const rawScope = form['scope'] || stored.scope;
  const scope = parseDelegatedScope(rawScope, context.options, tenantName, 'graph');
  if ('error' in scope) return scope;
  return delegatedAnswer(context, {
    tenantId,
    clientId,
    clientAuth,
    user: stored.user,
    scope,
    rawScope,
    grant: 'refresh-token',
    clientInfo: form['client_info'] === '1',
    idToken: stored.scope.split(/\s+/).includes('openid'),
    refresh: { scope: stored.scope, family: stored.family },
  });
}

function invalidGrant(code: number, message: string): AadstsError {
  return aadstsError(400, 'invalid_grant', code, message);
}
