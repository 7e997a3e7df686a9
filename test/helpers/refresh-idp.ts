// A small scripted OAuth server on loopback for cookie-session tests: the refresh_token grant with
// rotation and reuse detection (a reused refresh token revokes its whole family, as Auth0 and Okta
// do). The emulator has these grants too; this one is scripted per test: failures, rejections,
// latency, chosen refresh tokens.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AadUserTokenOptions } from '../../lib/options/user-token-types.js';
import { close, listen } from './servers.js';

export const IDP_CLIENT_ID = 'bff-client';
export const IDP_CLIENT_SECRET = 'bff-secret-value-1234';

export interface RefreshIdpOptions {
  /** Rotate refresh tokens on every redemption. @default true */
  rotate?: boolean;
  /** Revoke the family when a used refresh token is presented again. @default true */
  reuseDetection?: boolean;
  /** `expires_in` of access tokens (may be fractional, for short test cycles). @default 3600 */
  accessTtlSeconds?: number;
  /** Delay before each answer. @default 0 */
  latencyMs?: number;
}

export interface TokenCall {
  readonly refreshToken: string;
  readonly scope: string | undefined;
  readonly status: number;
}

interface Family {
  readonly user: string;
  revoked: boolean;
}

export interface RefreshIdp {
  readonly url: string;
  /** `${url}/tenant/oauth2/v2.0/token` */
  readonly tokenUrl: string;
  readonly calls: TokenCall[];
  /** Families revoked (by reuse or by `revoke`). */
  readonly revokedFamilies: number;
  /** Every refresh token minted, in order. */
  readonly minted: readonly string[];
  /** Access tokens issued, newest last, with their scope. */
  readonly issued: { token: string; scope: string | undefined }[];
  /** Signs a user in: a fresh family. */
  /** aadUserToken's options against this server as its client, reading and writing `session`, with `extra` on top. */
  userTokenOptions(session: AadUserTokenOptions['session'], extra?: Partial<AadUserTokenOptions>): AadUserTokenOptions;
  /** Signs `user` in; `refreshToken` chooses the text of the first refresh token (for tests of look-alike tokens). */
  signIn(user: string, scope?: string, refreshToken?: string): { refreshToken: string; accessToken: string; expiresAt: number; scope: string };
  /** Revokes every family of a user (an admin's "revoke sessions"). */
  revoke(user: string): void;
  /** The next `count` token requests get this status (503 with Retry-After: 1, or 500). */
  failNext(count: number, status?: number): void;
  /** The next token request gets this OAuth error body with status 400. */
  rejectNext(body: Record<string, unknown>): void;
  set(options: RefreshIdpOptions): void;
  close(): Promise<void>;
}

const token = (prefix: string): string => `${prefix}.${randomBytes(24).toString('base64url')}`;

export async function startRefreshIdp(initial: RefreshIdpOptions = {}): Promise<RefreshIdp> {
  let options: Required<RefreshIdpOptions> = { rotate: true, reuseDetection: true, accessTtlSeconds: 3600, latencyMs: 0, ...initial };
  const families = new Map<string, Family>();
  /** refresh token -> family id, and whether it was used. */
  const refreshTokens = new Map<string, { family: string; used: boolean }>();
  const calls: TokenCall[] = [];
  const issued: { token: string; scope: string | undefined }[] = [];
  let revokedFamilies = 0;
  let failures: { count: number; status: number } = { count: 0, status: 503 };
  let rejection: Record<string, unknown> | undefined;

  const mint = (family: string, text?: string): string => {
    const refresh = text ?? token('rt');
    refreshTokens.set(refresh, { family, used: false });
    return refresh;
  };
  const revokeFamily = (family: Family): void => {
    if (!family.revoked) revokedFamilies++;
    family.revoked = true;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void => {
        calls.push({ refreshToken: form.get('refresh_token') ?? '', scope: form.get('scope') ?? undefined, status });
        setTimeout(() => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        }, options.latencyMs);
      };
      if (req.url !== '/tenant/oauth2/v2.0/token' || form.get('grant_type') !== 'refresh_token') return answer(400, { error: 'unsupported_grant_type' });
      if (form.get('client_id') !== IDP_CLIENT_ID || form.get('client_secret') !== IDP_CLIENT_SECRET) return answer(401, { error: 'invalid_client' });
      if (failures.count > 0) {
        failures.count--;
        return answer(failures.status, { error: 'temporarily_unavailable' }, { 'retry-after': '1' });
      }
      if (rejection !== undefined) {
        const body = rejection;
        rejection = undefined;
        return answer(400, body);
      }
      const presented = form.get('refresh_token') ?? '';
      const known = refreshTokens.get(presented);
      const family = known === undefined ? undefined : families.get(known.family);
      if (known === undefined || family === undefined || family.revoked) {
        return answer(400, { error: 'invalid_grant', error_description: 'AADSTS70000: The refresh token has been revoked.' });
      }
      if (known.used && options.rotate) {
        if (options.reuseDetection) revokeFamily(family);
        return answer(400, { error: 'invalid_grant', error_description: 'AADSTS70000: The refresh token was already used.' });
      }
      if (options.rotate) known.used = true;
      const scope = form.get('scope') ?? undefined;
      const access = token('at');
      issued.push({ token: access, scope });
      const body: Record<string, unknown> = { token_type: 'Bearer', access_token: access, expires_in: options.accessTtlSeconds, scope: scope ?? 'openid profile offline_access User.Read' };
      if (options.rotate) body.refresh_token = mint(known.family);
      answer(200, body);
    });
  });
  const url = await listen(server);
  const tokenUrl = `${url}/tenant/oauth2/v2.0/token`;
  return {
    url,
    tokenUrl,
    calls,
    issued,
    get minted() {
      return [...refreshTokens.keys()];
    },
    get revokedFamilies() {
      return revokedFamilies;
    },
    userTokenOptions(session, extra = {}) {
      return { tokenUrl, clientId: IDP_CLIENT_ID, clientSecret: IDP_CLIENT_SECRET, session, ...extra };
    },
    signIn(user, scope = 'openid profile offline_access User.Read', refreshToken) {
      const id = randomBytes(8).toString('hex');
      families.set(id, { user, revoked: false });
      const accessToken = token('at');
      return { refreshToken: mint(id, refreshToken), accessToken, expiresAt: Date.now() + 3600_000, scope };
    },
    revoke(user) {
      for (const family of families.values()) if (family.user === user) revokeFamily(family);
    },
    failNext(count, status = 503) {
      failures = { count, status };
    },
    rejectNext(body) {
      rejection = body;
    },
    set(next) {
      options = { ...options, ...next };
    },
    close: () => close(server),
  };
}
