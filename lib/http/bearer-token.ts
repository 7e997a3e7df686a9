import type { IncomingMessage } from 'node:http';

const BEARER_SCHEME = /^bearer /i;
const SPACE = 32;

/**
 * The user token of `Authorization: Bearer <token>`; any other scheme counts as none.
 * No capturing regex: on the hot path, one slice of the header is all it allocates.
 */
export function bearerToken(req: IncomingMessage): string | undefined {
  const value = req.headers.authorization;
  if (value === undefined || !BEARER_SCHEME.test(value)) return undefined;
  let start = 7;
  let end = value.length;
  while (value.charCodeAt(start) === SPACE) start++;
  while (end > start && value.charCodeAt(end - 1) === SPACE) end--;
  if (end === start) return undefined;
  const token = value.slice(start, end);
  return token.includes(' ') ? undefined : token;
}
