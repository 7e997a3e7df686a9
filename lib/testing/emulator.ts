import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { presentedCredential, verifyClient } from './client-authentication.js';
import { entraErrors, withCorrelationId, type AadstsError } from './errors.js';
import { FaultQueue, applyFault, type Reply } from './faults.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { createSelfSignedCertificate } from './tls.js';
import { createTokenSigner, type TokenSigner } from './tokens.js';
import { delegatedToken, isDelegatedGrant, mintUserToken } from './on-behalf-of.js';
import type { EntraEmulator, EntraEmulatorOptions, Fault, IssuedToken, RecordedRequest, UserTokenInput } from './types.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_SUFFIX = '/.default';

type Route =
  | { kind: 'token'; tenant: string; version: 'v1' | 'v2' }
  | { kind: 'openid-configuration'; tenant: string }
  | { kind: 'keys' }
  | { kind: 'instance-discovery' }
  | { kind: 'not-found' };

/** Map a path to what the emulator serves there. */
function route(path: string): Route {
  const parts = path.split('/').filter((part) => part !== '');
  const [tenant, ...rest] = parts;
  if (tenant === undefined) return { kind: 'not-found' };
  const tail = rest.join('/');
  if (tail === 'oauth2/v2.0/token') return { kind: 'token', tenant: decodeURIComponent(tenant), version: 'v2' };
  if (tail === 'oauth2/token') return { kind: 'token', tenant: decodeURIComponent(tenant), version: 'v1' };
  if (tail === 'v2.0/.well-known/openid-configuration' || tail === '.well-known/openid-configuration') {
    return { kind: 'openid-configuration', tenant: decodeURIComponent(tenant) };
  }
  if (tail === 'discovery/v2.0/keys' || tail === 'discovery/keys') return { kind: 'keys' };
  if (tenant === 'discovery' && (tail === 'v2.0/keys' || tail === 'keys')) return { kind: 'keys' };
  if (tail === 'discovery/instance') return { kind: 'instance-discovery' };
  return { kind: 'not-found' };
}

function json(status: number, body: unknown): Reply {
  return { status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) };
}

function errorReply(err: AadstsError, correlationId: string | undefined): Reply {
  const { status, body } = withCorrelationId(err, correlationId);
  return json(status, body);
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
  /** Client-assertion `jti`s seen, until their `exp`: a replayed assertion is refused. */
  readonly #assertionJtis = new Map<string, number>();
  #url = '';
  #closing: Promise<void> | undefined;
  readonly ca: string | undefined;

  constructor(options: ResolvedOptions, signer: TokenSigner, tls: { key: string; cert: string } | undefined) {
    this.#options = options;
    this.#signer = signer;
    this.ca = tls?.cert;
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

  issuer(tenant?: string): string {
    const name = tenant ?? this.#options.tenantNames[0]!;
    const tid = this.#tenantId(name);
    if (tid === undefined) throw new Error(`issuer(): '${name}' is not a tenant of this emulator`);
    return `${this.#url}/${tid}/v2.0`;
  }

  issueUserToken(input: UserTokenInput = {}): Promise<string> {
    const tenantId = this.#tenantId(input.tenant ?? this.#options.tenantNames[0]!);
    if (tenantId === undefined) throw new Error(`issueUserToken(): '${input.tenant}' is not a tenant of this emulator`);
    const [client] = this.#options.clients.keys();
    return mintUserToken(this.#signer, `${this.#url}/${tenantId}/v2.0`, tenantId, `api://${client}`, input);
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

  reset(): void {
    this.heal();
    this.#requests.length = 0;
    this.#tokenRequests.length = 0;
    this.#issued.clear();
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
      recorded.form['client-request-id'] ?? recorded.query['client-request-id'] ?? header(req, 'client-request-id');
    switch (target.kind) {
      case 'token':
        if (recorded.method !== 'POST') {
          this.#send(res, errorReply(entraErrors.methodNotAllowed(recorded.method), correlationId));
          return;
        }
        this.#tokenRequests.push(recorded);
        await this.#token(res, recorded, target.tenant, target.version, correlationId);
        return;
      case 'openid-configuration':
        this.#send(res, this.#openidConfiguration(target.tenant, correlationId));
        return;
      case 'keys':
        this.#send(res, json(200, this.#signer.jwks));
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
    const fault = this.#faults.take();
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
    if (grantType !== 'client_credentials' && !isDelegatedGrant(grantType)) return fail(entraErrors.unsupportedGrantType(grantType));

    const presented = presentedCredential(form, headers);
    if ('status' in presented) return fail(presented);
    const clientId = presented.clientId;
    if (!clientId) return fail(entraErrors.missingParameter('client_id'));
    const client = this.#options.clients.get(clientId);
    if (!client || (client.tenantId !== undefined && client.tenantId !== tenantId)) {
      return fail(entraErrors.clientNotFound(clientId, tenant));
    }
    const rejected = await verifyClient(presented, client, [`${this.#url}${path}`], this.#assertionJtis);
    if (rejected !== undefined) return fail(rejected);
    if (isDelegatedGrant(grantType)) {
      const outcome = await delegatedToken({ form, tenantId, tenantName: tenant, clientId, issuer: `${this.#url}/${tenantId}/v2.0`, signer: this.#signer, options: this.#options });
      if ('error' in outcome) return fail(outcome.error);
      this.#issued.set(outcome.record.token, outcome.record);
      return json(200, outcome.answer);
    }

    let audience: string;
    if (version === 'v2') {
      const scope = form['scope'];
      if (!scope) return fail(entraErrors.missingParameter('scope'));
      const scopes = scope.trim().split(/\s+/);
      const [only] = scopes;
      if (scopes.length !== 1 || only === undefined || !only.endsWith(DEFAULT_SUFFIX) || only.length === DEFAULT_SUFFIX.length) {
        return fail(entraErrors.invalidScope(scope));
      }
      audience = only.slice(0, -DEFAULT_SUFFIX.length);
    } else {
      const resource = form['resource'];
      if (!resource) return fail(entraErrors.missingParameter('resource'));
      audience = resource;
    }
    const { resources } = this.#options;
    if (resources !== undefined && !resources.has(audience)) return fail(entraErrors.resourceNotFound(audience, tenant));
    const roles = [...(resources?.get(audience)?.appRoles?.[clientId] ?? [])];

    const lifetime = this.#options.tokenLifetimeSeconds;
    const issuedAt = Date.now();
    const expiresAt = issuedAt + lifetime * 1000;
    const token = await this.#signer.sign({
      issuer: `${this.#url}/${tenantId}/v2.0`,
      audience,
      tenantId,
      clientId,
      roles,
      issuedAt,
      expiresAt,
    });
    const record: IssuedToken = { token, clientId, tenantId, audience, roles, issuedAt, expiresAt };
    if (version === 'v2') record.scope = form['scope'] ?? '';
    else record.resource = audience;
    if (form['claims'] !== undefined) record.claims = form['claims'];
    this.#issued.set(token, record);

    if (version === 'v1') {
      return json(200, {
        token_type: 'Bearer',
        expires_in: String(lifetime),
        ext_expires_in: String(lifetime),
        expires_on: String(Math.floor(expiresAt / 1000)),
        not_before: String(Math.floor(issuedAt / 1000)),
        resource: audience,
        access_token: token,
      });
    }
    const answer: Record<string, unknown> = { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime };
    if (this.#options.refreshInSeconds !== undefined) answer['refresh_in'] = this.#options.refreshInSeconds;
    answer['access_token'] = token;
    return json(200, answer);
  }

  #openidConfiguration(tenant: string, correlationId: string | undefined): Reply {
    const tenantId = this.#tenantId(tenant);
    if (tenantId === undefined) {
      const err = entraErrors.tenantNotFound(tenant);
      return errorReply({ status: 400, body: { ...err.body, error: 'invalid_tenant' } }, correlationId);
    }
    const base = `${this.#url}/${tenantId}`;
    return json(200, {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.#url}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'azp', 'roles', 'ver'],
      tenant_region_scope: 'EU',
      cloud_instance_name: new URL(this.#url).host,
      cloud_graph_host_name: new URL(this.#url).host,
      msgraph_host: new URL(this.#url).host,
    });
  }

  #instanceDiscovery(query: Record<string, string>): Reply {
    const host = new URL(this.#url).host;
    let tenant = this.#options.tenantNames[0]!;
    const endpoint = query['authorization_endpoint'];
    if (endpoint) {
      try {
        tenant = new URL(endpoint).pathname.split('/').find((part) => part !== '') ?? tenant;
      } catch {
        // keep the default tenant
      }
    }
    return json(200, {
      tenant_discovery_endpoint: `${this.#url}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Start a local Microsoft Entra ID token service on loopback, for tests and
 * local development. It issues RS256 JWT app tokens for registered clients,
 * answers with Entra's real error shapes, records every request, and can be
 * told to misbehave with {@link EntraEmulator.fail}.
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
