import * as http from 'node:http';
import * as https from 'node:https';
import type { EntraEmulator } from './types.js';

/** What MSAL passes to a network client (a structural copy of msal-common's `NetworkRequestOptions`). */
export interface MsalNetworkRequestOptions {
  headers?: Record<string, string>;
  body?: string;
}

/** What a network client answers MSAL (a structural copy of msal-common's `NetworkResponse`). */
export interface MsalNetworkResponse<T> {
  headers: Record<string, string>;
  body: T;
  status: number;
}

/**
 * MSAL's `INetworkModule`, structurally: pass it as `system.networkClient` of an
 * `@azure/msal-node` application. This package does not import MSAL.
 */
export interface MsalNetworkClient {
  /** Sends a GET (discovery, JWKS) to the emulator; any other origin is refused. */
  sendGetRequestAsync<T>(url: string, options?: MsalNetworkRequestOptions, timeout?: number): Promise<MsalNetworkResponse<T>>;
  /** Sends a POST (a token request) to the emulator; any other origin is refused. */
  sendPostRequestAsync<T>(url: string, options?: MsalNetworkRequestOptions): Promise<MsalNetworkResponse<T>>;
}

/** Answers above this size are refused: no emulator answer comes near it. */
const MAX_ANSWER_BYTES = 1024 * 1024;

function send<T>(origin: string, ca: string | undefined, method: 'GET' | 'POST', url: string, options: MsalNetworkRequestOptions = {}, timeoutMs?: number): Promise<MsalNetworkResponse<T>> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(new Error('msalNetworkClient: not a URL'));
  }
  // Only the emulator: a request elsewhere means MSAL was not told the authority is known.
  if (target.origin !== origin) {
    return Promise.reject(new Error(`msalNetworkClient: refusing ${target.origin}, which is not the emulator (${origin}); set auth.knownAuthorities to emulator.knownAuthorities`));
  }
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(target, { method, headers: options.headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) req.destroy(new Error('msalNetworkClient: the answer is too large'));
        else chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
        try {
          resolve({ headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T, status: res.statusCode ?? 0 });
        } catch {
          reject(new Error(`msalNetworkClient: HTTP ${res.statusCode ?? 0} from ${target.pathname} is not JSON`));
        }
      });
    });
    if (timeoutMs !== undefined && timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error('msalNetworkClient: request timeout')));
    req.on('error', reject);
    req.end(method === 'POST' ? (options.body ?? '') : undefined);
  });
}

/**
 * A network client for `@azure/msal-node` that trusts the emulator's
 * self-signed certificate and talks only to the emulator. MSAL's own client
 * uses the global `fetch`, which cannot be given a CA. Start the emulator
 * with `https: true`: MSAL refuses `http:` authorities.
 *
 * @example
 * ```ts
 * import { ConfidentialClientApplication } from '@azure/msal-node';
 * import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, msalNetworkClient, startEntraEmulator } from 'aad-backend-auth/testing';
 *
 * const emulator = await startEntraEmulator({ https: true });
 * const app = new ConfidentialClientApplication({
 *   auth: {
 *     clientId: DEFAULT_CLIENT_ID,
 *     clientSecret: DEFAULT_CLIENT_SECRET,
 *     authority: `${emulator.url}/${DEFAULT_TENANT_ID}`,
 *     knownAuthorities: emulator.knownAuthorities,
 *   },
 *   system: { networkClient: msalNetworkClient(emulator) },
 * });
 * const result = await app.acquireTokenByClientCredential({ scopes: ['api://orders/.default'] });
 * ```
 */
export function msalNetworkClient(emulator: Pick<EntraEmulator, 'url' | 'ca'>): MsalNetworkClient {
  const origin = new URL(emulator.url).origin;
  const { ca } = emulator;
  return {
    sendGetRequestAsync: (url, options, timeout) => send(origin, ca, 'GET', url, options, timeout),
    sendPostRequestAsync: (url, options) => send(origin, ca, 'POST', url, options),
  };
}
