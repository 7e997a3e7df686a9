import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import { close, listen } from './servers.js';

export interface ScriptedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The raw token of an `Authorization: Bearer` header, if any. */
  readonly token: string | undefined;
}

export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
}

/** Decides the answer to one request; `undefined` means 200 with a JSON echo. */
export type Script = (request: ScriptedRequest, index: number) => ScriptedAnswer | undefined;

export interface ScriptedBackend {
  readonly url: string;
  readonly server: Server;
  readonly received: ScriptedRequest[];
  /** Answers from now on by this script. */
  script(script: Script): void;
  close(): Promise<void>;
}

/** A real backend on loopback that reads each body, records the request and answers by a script. */
export async function startScriptedBackend(initial?: Script): Promise<ScriptedBackend> {
  const received: ScriptedRequest[] = [];
  let current: Script = initial ?? (() => undefined);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const authorization = req.headers.authorization;
      const token = typeof authorization === 'string' && authorization.startsWith('Bearer ') ? authorization.slice(7) : undefined;
      const recorded: ScriptedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), token };
      received.push(recorded);
      const answer = current(recorded, received.length - 1);
      const status = answer?.status ?? 200;
      res.writeHead(status, { 'content-type': 'application/json', ...answer?.headers });
      res.end(JSON.stringify({ ok: status < 400, path: req.url, body: recorded.body }));
    });
  });
  const url = await listen(server);
  return {
    url,
    server,
    received,
    script(next) {
      current = next;
    },
    close: () => close(server),
  };
}

/** `Bearer error="invalid_token"`: the backend refused the token. */
export const INVALID_TOKEN = { status: 401, headers: { 'www-authenticate': 'Bearer realm="api", error="invalid_token"' } } as const;

/** An Entra claims challenge (CAE) asking for `claims`. */
export function claimsChallenge(claims: object): ScriptedAnswer {
  const encoded = Buffer.from(JSON.stringify(claims)).toString('base64');
  return {
    status: 401,
    headers: { 'www-authenticate': `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${encoded}"` },
  };
}
