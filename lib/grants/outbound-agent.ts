import * as http from 'node:http';
import * as https from 'node:https';
import { rootCertificates } from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { isLoopbackHost } from '../core/option-checks.js';
import { proxyFromEnvironment } from './no-proxy.js';

/** How token requests leave the process. */
export interface OutboundSettings {
  /** An explicit proxy URL, `false` for never, or `undefined` to follow `HTTPS_PROXY` / `NO_PROXY`. */
  readonly proxy: string | false | undefined;
  /** An agent that decides everything itself (proxying and TLS); loopback still goes direct. */
  readonly agent: http.Agent | undefined;
  /** Extra trusted CAs (PEM), added to Node's own roots for every https token request. */
  readonly ca: readonly (string | Buffer)[] | undefined;
}

/** The agents axios gets for one request. */
export interface RequestAgents {
  readonly httpAgent: http.Agent;
  readonly httpsAgent: http.Agent;
}

export interface OutboundAgents {
  /** The agents for a token endpoint URL; the environment is read on every call. */
  forUrl(url: string): RequestAgents;
}

/** A proxy URL without its user and password, and the `Proxy-Authorization` value they make (percent-decoded, as curl does). */
export function splitProxyCredentials(proxy: string): { url: string; authorization: string | undefined } {
  const url = new URL(proxy);
  if (url.username === '' && url.password === '') return { url: url.href, authorization: undefined };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.href, authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

/** The proxy refused the tunnel: its answer is never handed to the HTTP parser as if the IdP sent it. */
class TunnelRefused extends Error {
  constructor(status: number | undefined) {
    super(`the proxy refused CONNECT${status === undefined ? '' : ` (HTTP ${status})`}`);
    this.name = 'TunnelRefused';
  }
}

/**
 * CONNECT tunnelling with three changes to https-proxy-agent: the TLS to the token endpoint
 * also trusts `ca` (the agent applies its own options only to the proxy hop); the agent never
 * sees the proxy's credentials (its `debug` output prints its URL), which it sends as a
 * `Proxy-Authorization` header from a function, so they show neither in a log nor in
 * `util.inspect`; and a non-200 answer to CONNECT is an error, where the agent would replay the
 * proxy's answer on the socket as if it came from the endpoint.
 */
class TrustingProxyAgent extends HttpsProxyAgent<string> {
  readonly #ca: readonly (string | Buffer)[] | undefined;
  constructor(proxy: string, ca: readonly (string | Buffer)[] | undefined) {
    const { url, authorization } = splitProxyCredentials(proxy);
    super(url, {
      keepAlive: true,
      ...(ca !== undefined && { ca: [...ca] }),
      ...(authorization !== undefined && { headers: () => ({ 'Proxy-Authorization': authorization }) }),
    });
    this.#ca = ca;
  }
  override async connect(req: http.ClientRequest, opts: Parameters<HttpsProxyAgent<string>['connect']>[1]): ReturnType<HttpsProxyAgent<string>['connect']> {
    let status: number | undefined;
    const onConnect = (answer: { statusCode?: number }): void => {
      status = answer.statusCode;
    };
    req.once('proxyConnect', onConnect);
    try {
      const socket = await super.connect(req, this.#ca === undefined ? opts : ({ ...opts, ca: [...this.#ca] } as typeof opts));
      if (status !== 200) {
        socket.destroy();
        throw new TunnelRefused(status);
      }
      return socket;
    } finally {
      req.removeListener('proxyConnect', onConnect);
    }
  }
}

/** Plain agents, owned by one token source: never a proxy, whatever `NODE_USE_ENV_PROXY` does to the global ones. */
function directAgents(ca: readonly (string | Buffer)[] | undefined): RequestAgents {
  return { httpAgent: new http.Agent({ keepAlive: true }), httpsAgent: new https.Agent({ keepAlive: true, ...(ca !== undefined && { ca: [...ca] }) }) };
}

/**
 * Chooses, per token request, between a direct connection and a CONNECT tunnel.
 * Loopback endpoints are always direct (the emulator, a sidecar). Otherwise an
 * explicit `agent` or `proxy` wins; else `https_proxy`/`HTTPS_PROXY`, `no_proxy`/`NO_PROXY`
 * (lower case wins, as in curl) are read at request time ({@link proxyFromEnvironment}).
 */
export function createOutboundAgents(settings: OutboundSettings): OutboundAgents {
  const ca = settings.ca === undefined ? undefined : [...rootCertificates, ...settings.ca];
  const direct = directAgents(ca);
  const explicit: RequestAgents | undefined = settings.agent === undefined ? undefined : { httpAgent: settings.agent, httpsAgent: settings.agent };
  const tunnels = new Map<string, RequestAgents>();
  const tunnel = (proxy: string): RequestAgents => {
    let agents = tunnels.get(proxy);
    if (agents === undefined) {
      const agent = new TrustingProxyAgent(proxy, ca);
      // http token endpoints are loopback only, so only https ever reaches a tunnel.
      agents = { httpAgent: direct.httpAgent, httpsAgent: agent };
      tunnels.set(proxy, agents);
    }
    return agents;
  };
  return {
    forUrl(url) {
      const target = new URL(url);
      if (isLoopbackHost(target.hostname)) return direct;
      if (explicit !== undefined) return explicit;
      if (settings.proxy === false) return direct;
      const proxy = settings.proxy ?? proxyFromEnvironment(target, process.env);
      return proxy === undefined ? direct : tunnel(proxy);
    },
  };
}

/** A problem phrase for a proxy URL option, or `undefined` when it is fine. */
export function proxyUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a proxy URL such as "http://proxy.corp:3128", or false';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as "http://proxy.corp:3128"';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http: or https: URL';
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    return 'has a user or password whose percent-encoding does not decode';
  }
  return undefined;
}
