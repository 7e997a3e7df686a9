/** The gateways under comparison: Express 4 + http-proxy-middleware 3, with one auth step (or none) in front. */
import express, { type RequestHandler } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { Agent, createServer, type Server } from 'node:http';
import { aadBackendAuth, aadOnBehalfOf, aadUserToken } from '../lib/index.js';
import type { TokenProviderStats } from '../lib/index.js';
import { userValidatorOf } from '../test/helpers/user-validator.js';
import { fixedToken, handWrittenCache, perRequestToken } from './hand-written.js';
import { CLIENT_SECRET, RESOURCE, TENANT_ID } from './identity.js';
import { BenchSessions } from './sessions.js';

/**
 * `none`: A and A', the ceiling and its twin (the noise floor); `aadBackendAuth`: B;
 * `per-request`: C, the seed policy; `hand-cache`: D, the hand-written cache;
 * `fixed-token`: T, a token fetched once and set by a one-line middleware;
 * `aadOnBehalfOf`: O, each user's token exchanged on behalf of the user;
 * `aadUserToken`: U, a cookie BFF forwarding the session user's own token, refreshed when it expires.
 */
export type ContenderKind = 'none' | 'aadBackendAuth' | 'per-request' | 'hand-cache' | 'fixed-token' | 'aadOnBehalfOf' | 'aadUserToken';

/** The delegated scope O asks for. */
export const OBO_SCOPE = `${RESOURCE}/Orders.Read`;

export interface ContenderSpec {
  readonly name: string;
  readonly kind: ContenderKind;
  /** Each gateway that asks for tokens has its own client id, so the emulator counts its requests apart. */
  readonly clientId?: string;
  readonly authorityHost?: string;
  /** For B: `purgeOnStatus`, when not the default. */
  readonly purgeOnStatus?: number[];
}

/** What the benchmark reads from B or O. */
export interface ContenderMiddleware {
  readonly tokenProvider: { stats(): TokenProviderStats };
}

export interface Contender {
  readonly spec: ContenderSpec;
  readonly server: Server;
  /** B's or O's middleware, for its provider's stats. */
  readonly middleware: ContenderMiddleware | undefined;
  /** O only: RS256 verifications of user tokens so far. */
  readonly verifications: (() => number) | undefined;
  /** U only: its session store. */
  readonly sessions: BenchSessions | undefined;
}

async function authStep(spec: ContenderSpec, sessions: BenchSessions): Promise<RequestHandler | undefined> {
  if (spec.kind === 'none') return undefined;
  const identity = { authorityHost: spec.authorityHost!, tenantId: TENANT_ID, clientId: spec.clientId!, clientSecret: CLIENT_SECRET };
  const credentials = { ...identity, resource: RESOURCE };
  switch (spec.kind) {
    case 'aadBackendAuth':
      return aadBackendAuth({ ...credentials, ...(spec.purgeOnStatus === undefined ? {} : { purgeOnStatus: spec.purgeOnStatus }) }) as unknown as RequestHandler;
    case 'aadOnBehalfOf':
      return aadOnBehalfOf({ ...identity, scope: OBO_SCOPE }) as unknown as RequestHandler;
    case 'aadUserToken':
      return aadUserToken({ ...identity, session: sessions }) as unknown as RequestHandler;
    case 'per-request':
      return perRequestToken(credentials) as RequestHandler;
    case 'hand-cache':
      return handWrittenCache(credentials) as RequestHandler;
    case 'fixed-token':
      return (await fixedToken(credentials)) as RequestHandler;
  }
}

/** An Express app: the auth step (if any), then the proxy to `backendUrl`. Not yet listening. */
export async function createContender(spec: ContenderSpec, backendUrl: string): Promise<Contender> {
  const app = express();
  const sessions = new BenchSessions();
  const auth = await authStep(spec, sessions);
  // Without an agent, http-proxy sends `connection: close` and every request pays two TCP handshakes,
  // which would hide the cost of the auth step. Keep-alive makes the comparison strict.
  const agent = new Agent({ keepAlive: true });
  const proxy = createProxyMiddleware({ target: backendUrl, changeOrigin: true, agent }) as unknown as RequestHandler;
  if (auth === undefined) app.use(proxy);
  else app.use(auth, proxy);
  const middleware = spec.kind === 'aadBackendAuth' || spec.kind === 'aadOnBehalfOf' || spec.kind === 'aadUserToken' ? (auth as unknown as ContenderMiddleware) : undefined;
  const validator = spec.kind === 'aadOnBehalfOf' ? userValidatorOf(auth) : undefined;
  // Listening happens in the caller, with a deep backlog.
  return {
    spec,
    server: createServer(app),
    middleware,
    verifications: validator === undefined ? undefined : () => validator.verifications,
    sessions: spec.kind === 'aadUserToken' ? sessions : undefined,
  };
}
