/**
 * The example's configuration, read from environment variables. With none of
 * the Azure variables set it runs locally (emulator + sample backend); with
 * all of them set it talks to real Entra ID and your backend. Anything in
 * between is a mistake, reported in one line that names what is missing.
 */
import { isIP } from 'node:net';

const SECRET_VARIABLES = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET'] as const;
const BACKEND_VARIABLES = ['BACKEND_URL', 'BACKEND_RESOURCE'] as const;
/** Any of these (or `AZURE_USE_DEFAULT_CREDENTIAL=1`) switches the example to real Entra ID. */
const SWITCHES = [...SECRET_VARIABLES, ...BACKEND_VARIABLES] as const;

/** Where the BFF listens. */
export interface ListenConfig {
  /** @default 3000 (from `PORT`) */
  readonly port: number;
  /** Loopback unless `HOST` says otherwise (e.g. `0.0.0.0` in a container). @default '127.0.0.1' */
  readonly host: string;
  /**
   * Host names the BFF answers to besides `localhost`, `127.0.0.1`, `[::1]` and `host`
   * (from `ALLOWED_HOSTS`, comma-separated). Any other `Host` header gets 421. @default none
   */
  readonly allowedHosts?: readonly string[];
}

/** No Azure variables: the emulator and the sample backend start in-process. */
export interface LocalConfig extends ListenConfig {
  readonly mode: 'local';
}

/** Real Entra ID and a real backend, through the same middleware. */
export interface AzureConfig extends ListenConfig {
  readonly mode: 'azure';
  /** The backend the BFF forwards `/api/*` to. */
  readonly backendUrl: string;
  /** The backend's App ID URI (`api://…`); the token is requested for `<resource>/.default`. */
  readonly backendResource: string;
  /**
   * The delegated permission users sign in for and `/api/me` forwards (from `BACKEND_USER_SCOPE`).
   * Sign-in needs the client secret. @default '<backendResource>/.default'
   */
  readonly userScope: string;
  readonly credential: ClientSecretConfig | { readonly kind: 'default-azure-credential' };
}

/** `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`, plus the optional `AZURE_AUTHORITY_HOST`. */
export interface ClientSecretConfig {
  readonly kind: 'client-secret';
  readonly tenantId: string;
  readonly clientId: string;
  /** Non-enumerable: never shown by `util.inspect` or `JSON.stringify`. */
  readonly clientSecret: string;
  readonly authorityHost: string | undefined;
}

export type ExampleConfig = LocalConfig | AzureConfig;

/** A configuration mistake. Its message is one line, meant to be printed as is. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'ERR_EXAMPLE_CONFIG';
}

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

function list(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

function parsePort(env: Env): number {
  const raw = value(env, 'PORT');
  if (raw === undefined) return 3000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65_535) throw new ConfigError(`PORT must be a number from 0 to 65535, got "${raw}".`);
  return port;
}

function parseFlag(env: Env, name: string): boolean {
  const raw = value(env, name);
  if (raw === undefined || ['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  throw new ConfigError(`${name} must be 1 or 0, got "${raw}".`);
}

/** `localhost`, `127.0.0.0/8` or `::1`, in the forms `HOST` and `URL.hostname` take. */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || (isIP(name) === 4 && name.startsWith('127.'));
}

/** A bare host name, IPv4 address or bracketed IPv6 address: what a `Host` header carries before `:port`. */
const HOST_NAME = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])$/;

function parseAllowedHosts(env: Env): readonly string[] {
  const raw = value(env, 'ALLOWED_HOSTS');
  if (raw === undefined) return [];
  const names = raw.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (names.length === 0 || !names.every((name) => HOST_NAME.test(name) && (!name.startsWith('[') || isIP(name.slice(1, -1)) === 6))) {
    throw new ConfigError(`ALLOWED_HOSTS must list host names or IP addresses without ports or paths, separated by commas, got "${raw}".`);
  }
  return names;
}

function checkUrl(name: string, raw: string, hint: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute URL such as ${hint}, got "${raw}".`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must be an http or https URL, got "${raw}".`);
  return url;
}

/** The secret is non-enumerable, so logging or serialising the configuration never shows it. */
function clientSecretCredential(tenantId: string, clientId: string, clientSecret: string, authorityHost: string | undefined): ClientSecretConfig {
  const credential = { kind: 'client-secret' as const, tenantId, clientId, authorityHost };
  Object.defineProperty(credential, 'clientSecret', { value: clientSecret, enumerable: false });
  return credential as ClientSecretConfig;
}

/**
 * Reads the configuration from `env`. Throws a {@link ConfigError} whose
 * message names every missing variable, in one line.
 */
export function loadConfig(env: Env): ExampleConfig {
  const allowedHosts = parseAllowedHosts(env);
  const listen = { port: parsePort(env), host: value(env, 'HOST') ?? '127.0.0.1', ...(allowedHosts.length > 0 && { allowedHosts }) };
  const allowRemoteHost = parseFlag(env, 'ALLOW_REMOTE_HOST');
  const useDefaultCredential = parseFlag(env, 'AZURE_USE_DEFAULT_CREDENTIAL');
  const present = SWITCHES.filter((name) => value(env, name) !== undefined);
  if (present.length === 0 && !useDefaultCredential) return { mode: 'local', ...listen };

  // DefaultAzureCredential finds its own identity (environment, managed identity, `az login`).
  const required = useDefaultCredential ? BACKEND_VARIABLES : [...SECRET_VARIABLES, ...BACKEND_VARIABLES];
  const missing = required.filter((name) => value(env, name) === undefined);
  if (missing.length > 0) {
    const given = useDefaultCredential ? ['AZURE_USE_DEFAULT_CREDENTIAL=1', ...present] : present;
    throw new ConfigError(
      `Incomplete Entra ID configuration: ${list(missing)} ${missing.length === 1 ? 'is' : 'are'} missing ` +
        `(${list(given)} ${given.length === 1 ? 'is' : 'are'} set). Set all of them, or none to run locally with the emulator.`,
    );
  }
  // Real tokens from here on: the BFF forwards them to anyone who can reach it.
  if (!isLoopback(listen.host) && !allowRemoteHost) {
    throw new ConfigError(
      `HOST=${listen.host} would let other machines call BACKEND_URL with your Entra ID app token through the BFF. ` +
        'Keep HOST on loopback (127.0.0.1), or set ALLOW_REMOTE_HOST=1 as well if that is what you want.',
    );
  }
  const backendUrl = value(env, 'BACKEND_URL')!;
  const backend = checkUrl('BACKEND_URL', backendUrl, 'https://orders.example.com');
  if (backend.protocol !== 'https:' && !isLoopback(backend.hostname)) {
    throw new ConfigError(
      `BACKEND_URL must be https (http only for localhost, 127.0.0.1 or [::1]): the app token must not cross the network in clear, got "${backendUrl}".`,
    );
  }
  const backendResource = value(env, 'BACKEND_RESOURCE')!;
  const authorityHost = value(env, 'AZURE_AUTHORITY_HOST');
  if (authorityHost !== undefined) checkUrl('AZURE_AUTHORITY_HOST', authorityHost, 'https://login.microsoftonline.us');
  return {
    mode: 'azure',
    ...listen,
    backendUrl,
    backendResource,
    userScope: value(env, 'BACKEND_USER_SCOPE') ?? `${backendResource.replace(/\/+$/, '')}/.default`,
    credential: useDefaultCredential
      ? { kind: 'default-azure-credential' }
      : clientSecretCredential(value(env, 'AZURE_TENANT_ID')!, value(env, 'AZURE_CLIENT_ID')!, value(env, 'AZURE_CLIENT_SECRET')!, authorityHost),
  };
}
