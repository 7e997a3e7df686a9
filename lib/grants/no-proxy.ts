import { BlockList, isIP } from 'node:net';

/** The variables read for one request; `process.env` in production, a literal in unit tests. */
export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

/** The lower-case variable first, as curl reads them; an empty value counts as unset. */
function variable(env: ProxyEnvironment, name: string): string {
  return env[name.toLowerCase()] || env[name.toUpperCase()] || '';
}

/** `[::1]` and `example.com.` as `::1` and `example.com`, lower case. */
function bareHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

/** One NO_PROXY entry split into host and optional port: `host`, `host:port`, `::1`, `[::1]`, `[::1]:443`. */
function splitEntry(entry: string): { host: string; port: number | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed !== null) return { host: bracketed[1]!, port: bracketed[2] === undefined ? undefined : Number(bracketed[2]) };
  // Two colons or more with no brackets: an IPv6 literal (or CIDR), never host:port.
  if (entry.indexOf(':') !== entry.lastIndexOf(':')) return { host: entry, port: undefined };
  const withPort = /^(.+):(\d+)$/.exec(entry);
  return withPort === null ? { host: entry, port: undefined } : { host: withPort[1]!, port: Number(withPort[2]) };
}

/** Whether an IP literal host lies in `entry`, an IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`). */
function ipMatches(host: string, family: 4 | 6, entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  const entryFamily = isIP(address ?? '');
  if (entryFamily === 0 || extra !== undefined) return false;
  const type = entryFamily === 4 ? 'ipv4' : 'ipv6';
  const bits = prefix === undefined ? (entryFamily === 4 ? 32 : 128) : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (!(bits <= (entryFamily === 4 ? 32 : 128))) return false;
  try {
    // BlockList compares addresses, not spellings: `::1` and `0:0::1` are one host.
    const list = new BlockList();
    list.addSubnet(address!, bits, type);
    return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false; // a zone id or another form BlockList refuses: no match
  }
}

/**
 * Whether `NO_PROXY` exempts `hostname:port` from the proxy, as curl reads it: entries
 * separated by commas or white space; a value of `*` alone for every host (no other
 * wildcard); `example.com` and `.example.com` both for the domain and its subdomains;
 * `host:port` for one port; IPv4 and IPv6 literals (`::1` or `[::1]`); IP CIDR ranges.
 * Case-insensitive. Pure: no I/O.
 */
export function isNoProxyHost(noProxy: string, hostname: string, port: number): boolean {
  const value = noProxy.trim();
  if (value === '') return false;
  if (value === '*') return true;
  const host = bareHost(hostname);
  const family = isIP(host);
  for (const raw of value.split(/[\s,]+/)) {
    if (raw === '') continue;
    const entry = splitEntry(raw.toLowerCase());
    if (entry.port !== undefined && entry.port !== port) continue;
    if (family === 4 || family === 6) {
      if (ipMatches(host, family, bareHost(entry.host))) return true;
      continue;
    }
    const domain = bareHost(entry.host).replace(/^\./, '');
    if (isIP(domain.split('/')[0] ?? '') !== 0) continue; // an address or range never matches a name
    if (domain !== '' && (host === domain || host.endsWith(`.${domain}`))) return true;
  }
  return false;
}

/**
 * The proxy URL the environment gives for `url`, or `undefined` for a direct connection:
 * `https_proxy`/`HTTPS_PROXY` (`http_proxy`/`HTTP_PROXY` for http), then `all_proxy`/`ALL_PROXY`,
 * unless `no_proxy`/`NO_PROXY` exempts the host. Lower case wins. A value without a scheme
 * is an http proxy, as in curl.
 */
export function proxyFromEnvironment(url: URL, env: ProxyEnvironment): string | undefined {
  const scheme = url.protocol.slice(0, -1);
  const proxy = variable(env, `${scheme}_proxy`) || variable(env, 'all_proxy');
  if (proxy === '') return undefined;
  const port = url.port === '' ? (DEFAULT_PORTS[url.protocol] ?? 0) : Number(url.port);
  if (isNoProxyHost(variable(env, 'no_proxy'), url.hostname, port)) return undefined;
  return proxy.includes('://') ? proxy : `http://${proxy}`;
}
