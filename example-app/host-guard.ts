import type { NextFunction, Request, Response } from 'express';
import { isIP } from 'node:net';

/**
 * DNS rebinding: a page on evil.example whose name the attacker then points at
 * 127.0.0.1 is same-origin with evil.example, so its script may read what the BFF
 * answers, and the BFF adds a real token to `/api/*`. The browser still sends
 * `Host: evil.example`, so answering only to names nobody else controls defeats it.
 */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** `Host` is a name or bracketed IPv6 address, then an optional port (any: port forwarding may change it). */
const HOST_HEADER = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

/** The allowlist: loopback names, the address the BFF listens on (not a wildcard one), and `extra`. */
export function allowedHostNames(listenHost: string, extra: readonly string[] = []): ReadonlySet<string> {
  const names = new Set([...LOOPBACK_HOSTS, ...extra.map((name) => name.toLowerCase())]);
  const host = listenHost.toLowerCase();
  const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]';
  if (!wildcard) names.add(isIP(host) === 6 ? `[${host}]` : host);
  return names;
}

/**
 * Express middleware, mounted before everything the BFF serves: any `Host` outside
 * `allowed` gets 421 problem+json (which never echoes the Host it refused).
 */
export function hostGuard(allowed: ReadonlySet<string>): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const name = HOST_HEADER.exec((req.headers.host ?? '').toLowerCase())?.[1];
    if (name !== undefined && allowed.has(name)) {
      next();
      return;
    }
    const body = {
      type: 'about:blank',
      title: 'Misdirected Request',
      status: 421,
      // Names neither the refused Host nor ALLOWED_HOSTS: a rebound page can read this answer.
      detail: 'This BFF answers only to localhost, 127.0.0.1, [::1], its HOST and the names in ALLOWED_HOSTS.',
      code: 'ERR_HOST_NOT_ALLOWED',
    };
    res.writeHead(421, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  };
}
