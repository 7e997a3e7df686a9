/**
 * The aadUserToken part of the hot path (bench/hot-path.ts): warm cookie sessions, signed in
 * at the emulator (authorization code with PKCE). One session forwards its own access token
 * (no `scope`: no refresh, no cache); 100 sessions in turn go through a middleware with a
 * `scope` of its own, each redeemed once before timing, so the timed calls find the token in
 * the per-(refresh-token family, scope) cache.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { aadUserToken, type UserTokens } from '../lib/index.js';
import type { EntraEmulator } from '../lib/testing/index.js';
import { CLIENT_SECRET, RESOURCE, TENANT_ID } from './identity.js';
import { signIn, benchUser } from './sign-in.js';

export const SESSION_CLIENT_ID = 'hot-bff';
export const WARM_SESSIONS = 100;
/** Another API than the one the session's own token is for: a token per (family, scope). */
const SCOPE = `${RESOURCE}/Orders.Write`;

/** As express-session hands it over: `req.session`, the tokens stored in it at sign-in. */
interface SessionData {
  tokens: UserTokens;
}
type SessionRequest = IncomingMessage & { session: SessionData };

type Handler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** What aadUserToken cost beyond time while the timed calls ran (target 0 for each). */
export interface SessionHotPath {
  readonly sessions: number;
  readonly tokenRequests: number;
  readonly refreshRedemptions: number;
  readonly sessionWrites: number;
}

/** A browser's request to the BFF: a session cookie and the anti-forgery header, no Authorization. */
const rawHeaders = (sid: number): string[] => [
  'Host', '127.0.0.1:8080', 'User-Agent', 'bench', 'Accept', 'application/json', 'X-Request-Id', 'r-1',
  'Cookie', `sid=s%3Abench-session-${sid}.signature`, 'X-CSRF', '1',
];

export interface WarmSessions {
  readonly ownToken: Handler;
  readonly scoped: Handler;
  /** Raw headers and session of the one session, and of each of the sessions in turn. */
  readonly one: { readonly raw: string[]; readonly session: SessionData };
  readonly many: readonly { readonly raw: string[]; readonly session: SessionData }[];
  /** Starts counting: what the IdP and the session store saw from now on. */
  mark(): () => SessionHotPath;
}

/**
 * Signs the users in, creates both middlewares and warms them: `call(handler, raw, session)`
 * runs one request of that session through a handler and resolves when it called next().
 */
export async function warmSessions(
  emulator: EntraEmulator,
  call: (handler: Handler, raw: string[], session: SessionData) => Promise<IncomingMessage>,
): Promise<WarmSessions> {
  let writes = 0;
  const session = {
    get: (req: SessionRequest) => req.session.tokens,
    set: (req: SessionRequest, tokens: UserTokens) => {
      writes++;
      req.session.tokens = tokens;
    },
  };
  const identity = { authorityHost: emulator.url, tenantId: TENANT_ID, clientId: SESSION_CLIENT_ID, clientSecret: CLIENT_SECRET, session };
  const ownToken = aadUserToken<SessionRequest>(identity) as unknown as Handler;
  const scoped = aadUserToken<SessionRequest>({ ...identity, scope: SCOPE }) as unknown as Handler;
  const client = { clientId: SESSION_CLIENT_ID, clientSecret: CLIENT_SECRET };
  const one = { raw: rawHeaders(WARM_SESSIONS), session: { tokens: await signIn(emulator, client, benchUser(WARM_SESSIONS)) } };
  const many = await Promise.all(
    Array.from({ length: WARM_SESSIONS }, async (_, i) => ({ raw: rawHeaders(i), session: { tokens: await signIn(emulator, client, benchUser(i)) } })),
  );
  const first = await call(ownToken, one.raw, one.session);
  if (first.headers.authorization !== `Bearer ${one.session.tokens.accessToken}`) throw new Error('aadUserToken did not forward the session\'s own token');
  const redeemedBefore = emulator.refreshTokenStats.redeemed;
  for (const s of many) {
    const before = s.session.tokens.refreshToken;
    await call(scoped, s.raw, s.session);
    if (s.session.tokens.refreshToken === before) throw new Error('the scoped warm-up did not rotate the refresh token');
  }
  if (emulator.refreshTokenStats.redeemed - redeemedBefore !== WARM_SESSIONS) throw new Error('expected one redemption per warm session');
  return {
    ownToken,
    scoped,
    one,
    many,
    mark() {
      // Only the BFF's own: other middlewares of the child fetch app tokens after this mark.
      const ours = (): number => emulator.tokenRequests.filter((r) => r.form['client_id'] === SESSION_CLIENT_ID).length;
      const tokenRequests = ours();
      const redeemed = emulator.refreshTokenStats.redeemed;
      const written = writes;
      return () => ({
        sessions: WARM_SESSIONS,
        tokenRequests: ours() - tokenRequests,
        refreshRedemptions: emulator.refreshTokenStats.redeemed - redeemed,
        sessionWrites: writes - written,
      });
    },
  };
}
