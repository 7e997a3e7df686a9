import { Agent } from 'node:http';
import { invalidOption } from '../core/errors.js';
import { prepareCertificate } from '../grants/client-assertion.js';
import { createTokenRequester, type ClientCredential, type TokenRequester } from '../grants/client-authentication.js';
import { createOutboundAgents, proxyUrlProblem, type OutboundAgents } from '../grants/outbound-agent.js';

/** The options this module reads; `options.ts` lists them among the provider's keys. */
export const CLIENT_CREDENTIAL_KEYS = ['clientAuthentication', 'tokenParameters', 'clientCertificate', 'clientAssertion', 'proxy', 'agent', 'ca'] as const;

/** Form fields the package sets itself: a `tokenParameters` entry may never replace them. */
const RESERVED_PARAMETERS = /^(grant_type|client_id|client_secret|client_assertion.*|scope|assertion)$/i;

export interface ClientCredentialSettings {
  readonly requester: TokenRequester;
  /** Extra form fields, in a stable order. */
  readonly tokenParameters: readonly (readonly [string, string])[];
  /** Appended to the source's id, so tokens asked with other parameters are never shared. */
  readonly idSuffix: string;
  /** How requests to the authority leave the process (proxy, CA); also for discovery and keys. */
  readonly agents: OutboundAgents;
}

/** Where the options are read, beyond the endpoint kind. */
export interface ClientCredentialContext {
  /** An Entra v1 `tokenUrl`, which sends its own `resource`. */
  readonly v1: boolean;
  /** Form fields of the grant itself (e.g. `requested_token_use`), refused in `tokenParameters` too. */
  readonly reservedParameters?: readonly string[] | undefined;
  /** The function whose options these are, for messages. @default 'aadBackendAuth' */
  readonly owner?: string | undefined;
}

type Fail = (option: string, problem: string) => never;

const failFor =
  (owner: string | undefined): Fail =>
  (option, problem) => {
    throw invalidOption(option, problem, owner);
  };

function parseCredential(o: Record<string, unknown>, fail: Fail): ClientCredential {
  const given = (['clientSecret', 'clientCertificate', 'clientAssertion'] as const).filter((name) => o[name] !== undefined);
  if (given.length === 0) fail('clientSecret', 'is required (or set "clientCertificate", "clientAssertion" or "credential")');
  if (given.length > 1) fail(given[1]!, `cannot be combined with "${given[0]!}": set one client credential`);
  const method = o.clientAuthentication;
  if (method !== undefined && method !== 'client_secret_post' && method !== 'client_secret_basic') {
    fail('clientAuthentication', 'must be "client_secret_post" or "client_secret_basic"');
  }
  if (o.clientSecret !== undefined) {
    const secret = o.clientSecret;
    if (typeof secret === 'function') return { method: method ?? 'client_secret_post', secret: secret as () => unknown };
    if (typeof secret !== 'string' || secret.trim() === '') fail('clientSecret', 'must be a non-empty string or a function that returns one');
    return { method: method ?? 'client_secret_post', secret: () => secret };
  }
  if (method !== undefined) fail('clientAuthentication', `cannot be combined with "${given[0]!}", which authenticates with a signed assertion`);
  if (o.clientAssertion !== undefined) {
    if (typeof o.clientAssertion !== 'function') fail('clientAssertion', 'must be a function that returns the assertion (a JWT), read for every token request');
    return { method: 'client_assertion', assertion: o.clientAssertion as () => unknown };
  }
  const certificate = o.clientCertificate;
  if (typeof certificate === 'function') return { method: 'private_key_jwt', certificate: certificate as () => unknown };
  // A fixed certificate is checked now, so a wrong key fails at start-up and not on the first request.
  const prepared = prepareCertificate(certificate);
  if (typeof prepared === 'string') fail('clientCertificate', prepared);
  return { method: 'private_key_jwt', certificate: () => certificate };
}

function parseTokenParameters(value: unknown, context: ClientCredentialContext, fail: Fail): readonly (readonly [string, string])[] {
  const reserved = new Set((context.reservedParameters ?? []).map((name) => name.toLowerCase()));
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('tokenParameters', 'must be an object of string values, e.g. { audience: "https://api.example.com" }');
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, parameter] of entries) {
    if (name === '') fail('tokenParameters', 'must not have an empty name');
    if (RESERVED_PARAMETERS.test(name) || reserved.has(name.toLowerCase())) fail('tokenParameters', `must not set "${name}": the package sets it (use the matching option instead)`);
    if (context.v1 && name.toLowerCase() === 'resource') fail('tokenParameters', 'must not set "resource" with an Entra v1 "tokenUrl", which sends its own (use the "resource" option)');
    if (typeof parameter !== 'string') fail('tokenParameters', `must have string values ("${name}" is not a string)`);
  }
  return entries as [string, string][];
}

function parseCa(value: unknown, fail: Fail): readonly (string | Buffer)[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  const ok = list.length > 0 && list.every((ca) => (typeof ca === 'string' && ca.includes('-----BEGIN CERTIFICATE-----')) || Buffer.isBuffer(ca));
  if (!ok) fail('ca', 'must be a PEM certificate (string or Buffer), or an array of them');
  return list as (string | Buffer)[];
}

/**
 * Reads the client-authentication, token-parameter and outbound options of a grant
 * made with the client's own credential (client credentials, on-behalf-of, token
 * exchange; everything but `credential`), and refuses bad ones at start-up.
 */
export function parseClientCredentialOptions(o: Record<string, unknown>, clientId: string, context: ClientCredentialContext): ClientCredentialSettings {
  const fail = failFor(context.owner);
  const credential = parseCredential(o, fail);
  const tokenParameters = parseTokenParameters(o.tokenParameters, context, fail);
  if (o.proxy !== undefined && o.proxy !== false) {
    const problem = proxyUrlProblem(o.proxy);
    if (problem !== undefined) fail('proxy', problem);
  }
  if (o.agent !== undefined) {
    if (!(o.agent instanceof Agent)) fail('agent', 'must be an http.Agent or https.Agent (an HttpsProxyAgent fits)');
    if (o.proxy !== undefined) fail('agent', 'cannot be combined with "proxy": the agent decides how to connect');
    if (o.ca !== undefined) fail('agent', 'cannot be combined with "ca": give the agent its CA');
  }
  const agents = createOutboundAgents({ proxy: o.proxy as string | false | undefined, agent: o.agent as Agent | undefined, ca: parseCa(o.ca, fail) });
  const idSuffix = tokenParameters.length === 0 ? '' : `|${new URLSearchParams(tokenParameters as [string, string][]).toString()}`;
  return { requester: createTokenRequester(clientId, credential, agents), tokenParameters, idSuffix, agents };
}

/** With `credential`, these options have nothing to act on: the credential makes its own requests. */
export function refuseWithCredential(o: Record<string, unknown>): void {
  const fail = failFor(undefined);
  for (const name of CLIENT_CREDENTIAL_KEYS) {
    if (o[name] !== undefined) fail(name, 'cannot be combined with "credential": configure the credential itself');
  }
}
