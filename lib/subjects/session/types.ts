import type { IncomingMessage } from 'node:http';
import type { Awaitable } from '../../core/types.js';

/**
 * The signed-in user's tokens as a cookie session holds them. The package reads and writes them
 * only through {@link UserTokenSession}.
 */
export interface UserTokens {
  /** The refresh token. Without one the request is refused with `ERR_USER_TOKEN_MISSING`. */
  refreshToken: string;
  /** The session's own access token, forwarded when no `scope` is set or `scope` equals {@link scope}. */
  accessToken?: string | undefined;
  /** When {@link accessToken} expires, in ms since the epoch. Without it the token is refreshed before first use. */
  expiresAt?: number | undefined;
  /** The scope {@link accessToken} was issued for, as the IdP said (space-separated). */
  scope?: string | undefined;
}

/**
 * How `aadUserToken` reaches the signed-in user's session. Each method may return a value or a
 * promise. `set` is called once per rotation, on the request that redeemed the refresh token,
 * and before any request uses the new access token: persist it at once.
 */
export interface UserTokenSession<Req extends IncomingMessage = IncomingMessage> {
  /** The request's tokens; `undefined` when the user is not signed in. */
  get(req: Req): Awaitable<UserTokens | undefined>;
  /** Stores the tokens after a refresh (a rotated refresh token, a new own access token). */
  set(req: Req, tokens: UserTokens): Awaitable<void>;
  /** Called when the IdP refused the refresh token (`ERR_USER_SESSION_EXPIRED`): sign the user out. @default undefined */
  clear?(req: Req): Awaitable<void>;
}
