/**
 * The two alternatives users write by hand, as gateways C and D. They are kept
 * as plain as the code they stand for: no single flight, no refresh-ahead.
 */
import axios from 'axios';
import type { IncomingMessage, ServerResponse } from 'node:http';

type Handler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

export interface ClientCredentials {
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly resource: string;
}

interface TokenAnswer {
  readonly access_token: string;
  readonly expires_in: number | string;
}

/**
 * C, the seed policy's semantics: a token request (v1 endpoint, `resource=`, an
 * axios form POST) on every incoming request, then forward.
 */
export function perRequestToken(o: ClientCredentials): Handler {
  const tokenUrl = `${o.authorityHost}/${o.tenantId}/oauth2/token`;
  return (req, _res, next) => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: o.clientSecret, resource: o.resource });
    axios.post<TokenAnswer>(tokenUrl, form).then(({ data }) => {
      req.headers.authorization = `Bearer ${data.access_token}`;
      next();
    }, next);
  };
}

/**
 * D, the usual hand-written cache: a module-level `{ token, expiresAt }`
 * (one per call of this factory here), fetched again once it has expired.
 */
export function handWrittenCache(o: ClientCredentials): Handler {
  const tokenUrl = `${o.authorityHost}/${o.tenantId}/oauth2/v2.0/token`;
  let cached: { token: string; expiresAt: number } | undefined;

  async function getToken(): Promise<string> {
    if (cached && Date.now() < cached.expiresAt) return cached.token;
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: o.clientSecret, scope: `${o.resource}/.default` });
    const { data } = await axios.post<TokenAnswer>(tokenUrl, form);
    cached = { token: data.access_token, expiresAt: Date.now() + Number(data.expires_in) * 1000 };
    return cached.token;
  }

  return (req, _res, next) => {
    getToken().then((token) => {
      req.headers.authorization = `Bearer ${token}`;
      next();
    }, next);
  };
}

/**
 * T, the token tax: one token fetched at start-up, then set on every request
 * by a one-line middleware. No auth step can be cheaper, so B/T is the cost of
 * the middleware itself, and T/A the cost of carrying a token to the backend.
 */
export async function fixedToken(o: ClientCredentials): Promise<Handler> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: o.clientSecret, scope: `${o.resource}/.default` });
  const { data } = await axios.post<TokenAnswer>(`${o.authorityHost}/${o.tenantId}/oauth2/v2.0/token`, form);
  const authorization = `Bearer ${data.access_token}`;
  return (req, _res, next) => {
    req.headers.authorization = authorization;
    next();
  };
}
