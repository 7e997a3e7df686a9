/** Query parameter names that carry a bearer token (RFC 6750 §2.3; SignalR and others read it first). */
const TOKEN_PARAMETER = 'access_token';
/** Global, so `lastIndex` starts the search at the query without slicing the URL. */
const MAY_NAME_IT = /access|%/gi;

function decodedName(pair: string): string {
  const name = pair.split('=', 1)[0]!.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/**
 * `url` without any `access_token` query parameter (matched case-insensitively and
 * after percent-decoding, as servers read it), the other parameters kept byte for byte;
 * `undefined` when there is none, which is the cheap common case.
 */
export function withoutAccessToken(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  MAY_NAME_IT.lastIndex = q + 1;
  if (!MAY_NAME_IT.test(url)) return undefined;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash === -1 ? undefined : hash);
  const pairs = query.split('&');
  const kept = pairs.filter((pair) => decodedName(pair) !== TOKEN_PARAMETER);
  if (kept.length === pairs.length) return undefined;
  const rest = kept.length === 0 ? '' : `?${kept.join('&')}`;
  return `${url.slice(0, q)}${rest}${hash === -1 ? '' : url.slice(hash)}`;
}
