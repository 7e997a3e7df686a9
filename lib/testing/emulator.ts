import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { AuthorizationCodes, redeemRefreshToken } from './authorize.js';
import { audienceOf, type ClientAuthClass, type Issuers } from './claims.js';
import { presentedCredential, verifyClient } from './client-authentication.js';
import { appToken } from './client-credentials.js';
import type { DelegatedContext } from './delegated-answer.js';
import { MULTI_TENANT_AUTHORITIES, instanceDiscovery, openidConfigurationV1, openidConfigurationV2 } from './discovery.js';
import { entraErrors, errorHeaders, withCorrelationId, type AadstsError } from './errors.js';
import { FaultQueue, applyFault, type Reply } from './faults.js';
import { delegatedToken, isDelegatedGrant, mintUserToken } from './on-behalf-of.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { RefreshTokenStore } from './refresh-tokens.js';
import { createSelfSignedCertificate } from './tls.js';
import { createTokenSigner, type TokenSigner } from './tokens.js';
import type { EntraEmulator, EntraEmulatorOptions, Fault, IssuedToken, RecordedRequest, RefreshTokenStats, UserTokenInput } from './types.js';
// For the TSDoc link only.
import type { msalNetworkClient } from './msal.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_BODY_BYTES = 1024 * 1024;

/** The grants that act for a user: the only ones Entra answers with MFA or consent errors. */
function isUserGrant(grantType: string): boolean {
  return isDelegatedGrant(grantType) || grantType === 'authorization_code' || grantType === 'refresh_token';
}

type Route =
  | { kind: 'token'; tenant: string; version: 'v1' | 'v2' }
  | { kind: 'authorize'; tenant: string }
  | { kind: 'openid-configuration'; tenant: string; version: 1 | 2 }
  | { kind: 'keys'; tenant: string | undefined; version: 1 | 2 }
  | { kind: 'instance-discovery' }
  | { kind: 'not-found' };

/** Map a path to what the emulator serves there. */
function route(path: string): Route {
  const parts = path.split('/').filter((part) => part !== '');
  const [first, ...rest] = parts;
  if (first === undefined) return { kind: 'not-found' };
  const tail = rest.join('/');
  let tenant: string;
  try {
    tenant = decodeURIComponent(first);
  } catch {
    return { kind: 'not-found' };
  }
  if (tail === 'oauth2/v2.0/token') return { kind: 'token', tenant, version: 'v2' };
  if (tail === 'oauth2/token') return { kind: 'token', tenant, version: 'v1' };
  if (tail === 'oauth2/v2.0/authorize') return { kind: 'authorize', tenant };
  if (tail === 'v2.0/.well-known/openid-configuration') return { kind: 'openid-configuration', tenant, version: 2 };
  if (tail === '.well-known/openid-configuration') return { kind: 'openid-configuration', tenant, version: 1 };
  if (tail === 'discovery/v2.0/keys') return { kind: 'keys', tenant, version: 2 };
  if (tail === 'discovery/keys') return { kind: 'keys', tenant, version: 1 };
  if (first === 'discovery' && (tail === 'v2.0/keys' || tail === 'keys')) return { kind: 'keys', tenant: undefined, version: tail === 'keys' ? 1 : 2 };
  if (tail === 'discovery/instance') return { kind: 'instance-discovery' };
  return { kind: 'not-found' };
}

function json(status: number, body: unknown): Reply {
  return { status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) };
}

/** An AADSTS error as Entra sends it: the caller's correlation id, and `x-ms-request-id` = `trace_id`. */
function errorReply(err: AadstsError, correlationId: string | undefined): Reply {
  const made = withCorrelationId(err, correlationId);
  return { status: made.status, headers: errorHeaders(made), body: JSON.stringify(made.body) };
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseForm(req: http.IncomingMessage, body: Buffer): Record<string, string> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) return {};
  return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
}

class Emulator implements EntraEmulator {
  readonly #options: ResolvedOptions;
  readonly #signer: TokenSigner;
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #faults = new FaultQueue();
  readonly #requests: RecordedRequest[] = [];
  readonly #tokenRequests: RecordedRequest[] = [];
  readonly #issued = new Map<string, IssuedToken>();
  readonly #refreshTokens: RefreshTokenStore;
  readonly #codes = new AuthorizationCodes();
  readonly #issuers: Issuers;
  readonly #delegated: DelegatedContext;
  #url = '';
  #closing: Promise<void> | undefined;
  readonly ca: string | undefined;

  constructor(options: ResolvedOptions, signer: TokenSigner, tls: { key: string; cert: string } | undefined) {
    this.#options = options;
    this.#signer = signer;
    this.ca = tls?.cert;
    this.#refreshTokens = new RefreshTokenStore({ lifetimeSeconds: options.refreshTokenLifetimeSeconds, reuseDetection: options.refreshTokenReuseDetection });
    this.#issuers = {
      v1: (tid) => `https://${options.v1IssuerHost}/${tid}/`,
      v2: (tid) => `${this.#url}/${tid}/v2.0`,
    };
    this.#delegated = { signer, options, issuers: this.#issuers, issueRefreshToken: (grant) => this.#refreshTokens.issue(grant) };
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) this.#send(res, json(500, { error: 'server_error' }));
        else res.destroy();
      });
    };
    this.#server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    const { port, host, https: secure } = this.#options;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address();
    const actualPort = typeof address === 'object' && address !== null ? address.port : port;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    this.#url = `${secure ? 'https' : 'http'}://${urlHost}:${actualPort}`;
  }

  get url(): string {
    return this.#url;
  }

  get knownAuthorities(): string[] {
    return [new URL(this.#url).host];
  }

  get jwksUri(): string {
    return `${this.#url}/common/discovery/v2.0/keys`;
  }

  get requests(): RecordedRequest[] {
    return [...this.#requests];
  }

  get tokenRequests(): RecordedRequest[] {
    return [...this.#tokenRequests];
  }

  get issued(): IssuedToken[] {
    return [...this.#issued.values()];
  }

  tokenUrl(tenant?: string, version: 'v2' | 'v1' = 'v2'): string {
    const name = encodeURIComponent(tenant ?? this.#options.tenantNames[0]!);
    return `${this.#url}/${name}/oauth2/${version === 'v1' ? 'token' : 'v2.0/token'}`;
  }

  issuer(tenant?: string, version: 1 | 2 = 2): string {
    const tid = this.#requireTenant('issuer', tenant);
    if (version !== 1 && version !== 2) throw new TypeError('issuer(): "version" must be 1 or 2');
    return version === 1 ? this.#issuers.v1(tid) : this.#issuers.v2(tid);
  }

  tokenValidation(api: string, tenant?: string): { issuer: string; audience: string; jwksUri: string; version: 1 | 2 } {
    const tid = this.#requireTenant('tokenValidation', tenant);
    const found = typeof api === 'string' && api !== '' ? this.#options.apis.find(api) : undefined;
    if (found === undefined) throw new Error(`tokenValidation(): '${String(api)}' is not a resource of this emulator`);
    return {
      issuer: found.version === 1 ? this.#issuers.v1(tid) : this.#issuers.v2(tid),
      audience: audienceOf({ api: found, requested: api }),
      jwksUri: this.jwksUri,
      version: found.version,
    };
  }

  issueUserToken(input: UserTokenInput = {}): Promise<string> {
    const tenantId = this.#tenantId(input.tenant ?? this.#options.tenantNames[0]!);
    if (tenantId === undefined) throw new Error(`issueUserToken(): '${input.tenant}' is not a tenant of this emulator`);
    const [client] = this.#options.clients.keys();
    return mintUserToken(this.#signer, this.#options, this.#issuers, tenantId, `api://${client}`, input);
  }

  isIssued(token: string): IssuedToken | undefined {
    return this.#issued.get(token);
  }

  rotateClientSecret(clientId: string, secret: string): void {
    const client = this.#options.clients.get(clientId);
    if (client === undefined) throw new Error(`rotateClientSecret(): '${clientId}' is not a registered client`);
    client.clientSecret = secret;
  }

  fail(fault: Fault, times = 1): void {
    this.#faults.push(fault, times);
  }

  heal(): void {
    this.#faults.clear();
  }

  revokeRefreshTokens(userOrRefreshToken: string): number {
    if (typeof userOrRefreshToken !== 'string' || userOrRefreshToken === '') throw new TypeError('revokeRefreshTokens(): name a user (oid or username) or pass a refresh token');
    return this.#refreshTokens.revoke(userOrRefreshToken);
  }

  get refreshTokenStats(): RefreshTokenStats {
    return this.#refreshTokens.stats;
  }

  reset(): void {
    this.heal();
    this.#requests.length = 0;
    this.#tokenRequests.length = 0;
    this.#issued.clear();
    this.#codes.clear();
    this.#refreshTokens.clear();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.heal();
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closing;
  }

  #tenantId(name: string): string | undefined {
    return this.#options.tenantIds.get(name.toLowerCase());
  }

  #requireTenant(method: string, tenant: string | undefined): string {
    const name = tenant ?? this.#options.tenantNames[0]!;
    const tid = this.#tenantId(name);
    if (tid === undefined) throw new Error(`${method}(): '${name}' is not a tenant of this emulator`);
    return tid;
  }

  /** Resolves after `ms`, with an unref'd timer; never resolves once closed. */
  #sleep = (ms: number): Promise<void> => {
    if (this.#closing) return new Promise(() => {});
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.#timers.add(timer);
    });
  };

  #send(res: http.ServerResponse, reply: Reply): void {
    if (res.destroyed || res.headersSent) return;
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
    res.writeHead(reply.status, {
      'cache-control': 'no-store, no-cache',
      pragma: 'no-cache',
      'x-ms-request-id': randomUUID(),
      ...reply.headers,
      'content-length': String(body.length),
    });
    res.end(body);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const body = await readBody(req);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      form: body ? parseForm(req, body) : {},
      receivedAt,
    };
    this.#requests.push(recorded);
    if (body === undefined) {
      this.#send(res, json(413, { error: 'invalid_request', error_description: 'Request body too large.' }));
      return;
    }
    const target = route(url.pathname);
    const correlationId =
      header(req, 'client-request-id') ?? recorded.query['client-request-id'] ?? recorded.form['client-request-id'];
    switch (target.kind) {
      case 'token':
        if (recorded.method !== 'POST') {
          this.#send(res, errorReply(entraErrors.methodNotAllowed(recorded.method), correlationId));
          return;
        }
        this.#tokenRequests.push(recorded);
        await this.#token(res, recorded, target.tenant, target.version, correlationId);
        return;
      case 'authorize': {
        if (recorded.method !== 'GET') {
          this.#send(res, errorReply(entraErrors.methodNotAllowed(recorded.method), correlationId));
          return;
        }
        const outcome = this.#codes.authorize(recorded.query, this.#tenantId(target.tenant), target.tenant, this.#options);
        if ('error' in outcome) this.#send(res, errorReply(outcome.error, correlationId));
        else this.#send(res, { status: 302, headers: { location: outcome.redirect, 'content-type': 'text/html; charset=utf-8' }, body: '' });
        return;
      }
      case 'openid-configuration':
        this.#send(res, this.#openidConfiguration(target.tenant, target.version, correlationId));
        return;
      case 'keys':
        this.#send(res, json(200, this.#keys(target.tenant, target.version)));
        return;
      case 'instance-discovery':
        this.#send(res, this.#instanceDiscovery(recorded.query));
        return;
      case 'not-found':
        this.#send(res, json(404, { error: 'not_found', error_description: `The emulator serves nothing at ${url.pathname}.` }));
        return;
    }
  }

  async #token(
    res: http.ServerResponse,
    recorded: RecordedRequest,
    tenant: string,
    version: 'v1' | 'v2',
    correlationId: string | undefined,
  ): Promise<void> {
    const fault = this.#faults.take(isUserGrant(recorded.form['grant_type'] ?? ''));
    if (fault) recorded.fault = fault;
    await this.#sleep(this.#options.latencyMs);
    if (res.destroyed) return;
    const normalReply = (): Promise<Reply> => this.#tokenReply(recorded, tenant, version, correlationId);
    if (!fault) {
      this.#send(res, await normalReply());
      return;
    }
    await applyFault(fault, {
      res,
      clientId: recorded.form['client_id'] ?? 'unknown-client',
      correlationId,
      sleep: this.#sleep,
      normalReply,
      send: (reply) => this.#send(res, reply),
    });
  }

  /** The answer Entra would give: a token, or the AADSTS error for the first problem found. */
  async #tokenReply(
    { form, headers, path }: RecordedRequest,
    tenant: string,
    version: 'v1' | 'v2',
    correlationId: string | undefined,
  ): Promise<Reply> {
    const fail = (err: AadstsError): Reply => errorReply(err, correlationId);
    const tenantId = this.#tenantId(tenant);
    if (tenantId === undefined) return fail(entraErrors.tenantNotFound(tenant));

    const grantType = form['grant_type'];
    if (!grantType) return fail(entraErrors.missingParameter('grant_type'));
    if (grantType !== 'client_credentials' && !isUserGrant(grantType)) return fail(entraErrors.unsupportedGrantType(grantType));

    const presented = presentedCredential(form, headers);
    if ('status' in presented) return fail(presented);
    const clientId = presented.clientId;
    if (!clientId) return fail(entraErrors.missingParameter('client_id'));
    const client = this.#options.clients.get(clientId);
    if (!client || (client.tenantId !== undefined && client.tenantId !== tenantId)) {
      return fail(entraErrors.clientNotFound(clientId, tenant));
    }
    const rejected = await verifyClient(presented, client, [`${this.#url}${path}`]);
    if (rejected !== undefined) return fail(rejected);
    const clientAuth: ClientAuthClass = presented.kind === 'assertion' ? '2' : '1';
    let outcome;
    if (grantType === 'authorization_code') outcome = await this.#codes.redeem(form, clientId, clientAuth, tenantId, tenant, this.#delegated);
    else if (grantType === 'refresh_token') outcome = await redeemRefreshToken(form, clientId, clientAuth, tenantId, tenant, this.#delegated, this.#refreshTokens);
    else if (isDelegatedGrant(grantType)) outcome = await delegatedToken({ form, tenantId, tenantName: tenant, clientId, clientAuth, context: this.#delegated });
    else outcome = await appToken({ form, endpoint: version, tenantId, tenantName: tenant, clientId, clientAuth, signer: this.#signer, options: this.#options, issuers: this.#issuers });
    if ('error' in outcome) return fail(outcome.error);
    this.#issued.set(outcome.record.token, outcome.record);
    return json(200, outcome.answer);
  }

  /** Entra serves `common` and `organizations` too, with a `{tenantid}` placeholder in the issuer. */
  #openidConfiguration(tenant: string, version: 1 | 2, correlationId: string | undefined): Reply {
    const multiTenant = MULTI_TENANT_AUTHORITIES.has(tenant.toLowerCase());
    const tenantId = multiTenant ? '{tenantid}' : this.#tenantId(tenant);
    if (tenantId === undefined) {
      const err = entraErrors.tenantNotFound(tenant);
      return errorReply({ status: 400, body: { ...err.body, error: 'invalid_tenant' } }, correlationId);
    }
    const segment = multiTenant ? tenant.toLowerCase() : tenantId;
    const input = { url: this.#url, segment, multiTenant };
    if (version === 1) {
      return json(200, openidConfigurationV1({ ...input, issuer: this.#issuers.v1(tenantId), jwksUri: `${this.#url}/common/discovery/keys` }));
    }
    return json(200, openidConfigurationV2({ ...input, issuer: this.#issuers.v2(tenantId), jwksUri: `${this.#url}/${segment}/discovery/v2.0/keys` }));
  }

  /** Entra's v2 key sets name the issuer on each key (`{tenantid}` for multi-tenant ones); v1 sets do not. */
  #keys(tenant: string | undefined, version: 1 | 2): { keys: unknown[] } {
    if (version === 1) return this.#signer.jwks();
    const tid = tenant === undefined ? undefined : this.#tenantId(tenant);
    return this.#signer.jwks(this.#issuers.v2(tid ?? '{tenantid}'));
  }

  #instanceDiscovery(query: Record<string, string>): Reply {
    let tenant = this.#options.tenantNames[0]!;
    const endpoint = query['authorization_endpoint'];
    if (endpoint) {
      try {
        tenant = new URL(endpoint).pathname.split('/').find((part) => part !== '') ?? tenant;
      } catch {
        // keep the default tenant
      }
    }
    return json(200, instanceDiscovery(this.#url, tenant));
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Start a local Microsoft Entra ID token service on loopback, for tests and
 * local development. It issues RS256 JWTs shaped as Entra issues them (v1 or
 * v2 by the API's `accessTokenVersion`, v1 by default), answers with Entra's
 * real error shapes, records every request, and can be told to misbehave with
 * {@link EntraEmulator.fail}. `@azure/identity` and `@azure/msal-node` work
 * against it over https (see {@link msalNetworkClient}).
 *
 * @example
 * ```ts
 * import { startEntraEmulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from 'aad-backend-auth/testing';
 *
 * const emulator = await startEntraEmulator({ resources: [{ audience: 'api://orders', appRoles: { [DEFAULT_CLIENT_ID]: ['Orders.Read'] } }] });
 * const answer = await fetch(emulator.tokenUrl(), {
 *   method: 'POST',
 *   body: new URLSearchParams({ grant_type: 'client_credentials', client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET, scope: 'api://orders/.default' }),
 * });
 * // A v1 token: iss https://sts.windows.net/{tid}/, aud api://orders, appid, ver "1.0".
 * const { issuer, audience } = emulator.tokenValidation('api://orders');
 * await emulator.close();
 * ```
 *
 * @example With @azure/identity, which requires https
 * ```ts
 * const emulator = await startEntraEmulator({ https: true });
 * const credential = new ClientSecretCredential(DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, {
 *   authorityHost: emulator.url,
 *   disableInstanceDiscovery: true,
 *   tlsOptions: { ca: emulator.ca },
 * });
 * ```
 */
export async function startEntraEmulator(options: Readonly<EntraEmulatorOptions> = {}): Promise<EntraEmulator> {
  const resolved = resolveOptions(options);
  const [signer, tls] = await Promise.all([
    createTokenSigner(),
    resolved.https ? createSelfSignedCertificate() : Promise.resolve(undefined),
  ]);
  const emulator = new Emulator(resolved, signer, tls);
  await emulator.listen();
  return emulator;
}
