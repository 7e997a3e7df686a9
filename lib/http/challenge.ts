/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface AuthChallenge {
  /** Lower-case scheme, e.g. `bearer`. */
  readonly scheme: string;
  /** Parameters by lower-case name; quoted values unquoted. The first of a repeated name wins. */
  readonly params: ReadonlyMap<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge uses it instead of parameters. */
  readonly token68: string | undefined;
}

/** A backend that sends more than this is not sending challenges we act on. */
const MAX_HEADER_LENGTH = 16 * 1024;
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;

/** A header value as Node, fetch and axios give it: a string, a list of them, or nothing. */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((part) => typeof part === 'string')) return value.join(', ');
  return undefined;
}

/**
 * Parses a `WWW-Authenticate` value into its challenges. Commas separate both challenges and
 * parameters, so a name not followed by `=` starts the next challenge. Stops at the first
 * malformed part and returns the challenges read so far.
 */
export function parseWwwAuthenticate(value: unknown): AuthChallenge[] {
  const text = headerText(value);
  const challenges: AuthChallenge[] = [];
  if (text === undefined || text.length > MAX_HEADER_LENGTH) return challenges;
  let i = 0;
  const skipSpace = (): void => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = i;
    const found = pattern.exec(text);
    if (found === null) return undefined;
    i = pattern.lastIndex;
    return found[0];
  };
  const quoted = (): string | undefined => {
    let out = '';
    for (i++; i < text.length; i++) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') i++;
      out += text[i] ?? '';
    }
    return undefined; // unterminated
  };

  for (;;) {
    while (text[i] === ',' || text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) return challenges;
    const scheme = match(TOKEN);
    if (scheme === undefined) return challenges;
    const params = new Map<string, string>();
    let token68: string | undefined;
    skipSpace();
    const start = i;
    const candidate = match(TOKEN68);
    skipSpace();
    if (candidate !== undefined && (i >= text.length || text[i] === ',')) {
      token68 = candidate;
    } else {
      i = start;
      for (;;) {
        const before = i;
        const name = match(TOKEN);
        if (name === undefined) break;
        skipSpace();
        if (text[i] !== '=') {
          i = before; // the next challenge's scheme
          break;
        }
        i++;
        skipSpace();
        const paramValue = text[i] === '"' ? quoted() : match(TOKEN);
        if (paramValue === undefined) {
          challenges.push({ scheme: scheme.toLowerCase(), params, token68 });
          return challenges;
        }
        const key = name.toLowerCase();
        if (!params.has(key)) params.set(key, paramValue);
        skipSpace();
        if (text[i] !== ',') break;
        i++;
        skipSpace();
      }
    }
    challenges.push({ scheme: scheme.toLowerCase(), params, token68 });
  }
}
