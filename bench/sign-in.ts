/**
 * Signs the emulator's test users in as a cookie BFF would at its callback: the authorization
 * endpoint with PKCE (no page: `login_hint` names the user), then the `authorization_code` grant.
 * Each sign-in starts a refresh-token family of its own; the tokens come back as a session holds them.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { UserTokens } from '../lib/index.js';
import type { EntraEmulator } from '../lib/testing/index.js';
import { TENANT_ID } from './identity.js';

/** Any loopback URL is a valid redirect for a client that registers none; nothing listens there. */
const REDIRECT = 'http://127.0.0.1:9/callback';
/** Test user `i` of the bench's emulators. */
export const benchUser = (i: number): string => `user${i}@bench.example`;
/** What the BFF asks for at sign-in: its API, and a refresh token. */
export const SIGN_IN_SCOPE = 'openid profile offline_access api://bench-backend/Orders.Read';

export async function signIn(emulator: EntraEmulator, client: { clientId: string; clientSecret: string }, loginHint: string): Promise<UserTokens> {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(`${emulator.url}/${TENANT_ID}/oauth2/v2.0/authorize`);
  const params = {
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: SIGN_IN_SCOPE,
    state: 'bench',
    login_hint: loginHint,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(params)) authorize.searchParams.set(name, value);
  const redirect = await fetch(authorize, { redirect: 'manual' });
  const code = new URL(redirect.headers.get('location') ?? 'http://invalid/').searchParams.get('code');
  if (code === null) throw new Error(`sign-in of ${loginHint}: no code (${redirect.status})`);
  const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, scope: SIGN_IN_SCOPE, client_id: client.clientId, client_secret: client.clientSecret };
  const answer = await fetch(emulator.tokenUrl(TENANT_ID), { method: 'POST', body: new URLSearchParams(form) });
  const body = (await answer.json()) as { access_token?: string; refresh_token?: string; expires_in?: number; scope?: string };
  if (!answer.ok || body.refresh_token === undefined) throw new Error(`sign-in of ${loginHint}: token endpoint answered ${answer.status}`);
  return { refreshToken: body.refresh_token, accessToken: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 0) * 1000, scope: body.scope };
}

/** `count` users signed in at once (user0…), one family each. */
export function signInUsers(emulator: EntraEmulator, client: { clientId: string; clientSecret: string }, count: number): Promise<UserTokens[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => signIn(emulator, client, benchUser(i))));
}

/** The emulator's `users` option for `count` bench users. */
export const benchUsers = (count: number): { username: string; name: string }[] => Array.from({ length: count }, (_, i) => ({ username: benchUser(i), name: `User ${i}` }));
