/** What is left of the request an axios error or response points to: no headers, so no token. */
export interface RequestSummary {
  readonly method: string | undefined;
  readonly host: string | undefined;
  readonly path: string | undefined;
}

interface AxiosErrorShape {
  config?: { headers?: unknown; method?: unknown };
  request?: unknown;
  response?: { request?: unknown; config?: { headers?: unknown } };
}

const REDACTED = '[REDACTED]';

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Node's `ClientRequest` (http adapter), a fetch `Request` (fetch adapter), or an XHR: only where it went. */
export function summarizeRequest(request: unknown, method: unknown): RequestSummary | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const r = request as { method?: unknown; host?: unknown; path?: unknown; url?: unknown; responseURL?: unknown };
  const url = text(r.url) ?? text(r.responseURL);
  if (url !== undefined && text(r.path) === undefined) {
    try {
      const parsed = new URL(url);
      return Object.freeze({ method: text(r.method) ?? text(method)?.toUpperCase(), host: parsed.host, path: parsed.pathname });
    } catch {
      return Object.freeze({ method: text(r.method), host: undefined, path: undefined });
    }
  }
  // A ClientRequest's path keeps the query string; the summary keeps only the path.
  return Object.freeze({ method: text(r.method), host: text(r.host), path: text(r.path)?.split('?')[0] });
}

/** Overwrites the token headers of an axios config's headers (an `AxiosHeaders` or a plain object). */
function redactHeaders(headers: unknown, names: readonly string[]): void {
  if (typeof headers !== 'object' || headers === null) return;
  const h = headers as Record<string, unknown> & { set?: unknown; has?: unknown };
  for (const key of Object.keys(h)) {
    if (names.includes(key.toLowerCase()) && typeof h[key] !== 'function') h[key] = REDACTED;
  }
  if (typeof h.set === 'function' && typeof h.has === 'function') {
    const axiosHeaders = h as { has(name: string): boolean; set(name: string, value: string): void };
    for (const name of names) if (axiosHeaders.has(name)) axiosHeaders.set(name, REDACTED);
  }
}

/**
 * Takes the token out of what an axios error carries: `config.headers` (redacted) and the
 * request objects (replaced with a summary), whose raw header text holds the token. In place:
 * the error stays an `AxiosError`, with its code, status and response body.
 */
export function redactAxiosError<E>(error: E, tokenHeader: string): E {
  if (typeof error !== 'object' || error === null) return error;
  const e = error as AxiosErrorShape;
  const names = tokenHeader === 'authorization' ? ['authorization'] : ['authorization', tokenHeader];
  redactHeaders(e.config?.headers, names);
  redactHeaders(e.response?.config?.headers, names);
  const method = e.config?.method;
  if (e.request !== undefined) e.request = summarizeRequest(e.request, method);
  if (e.response !== undefined && e.response.request !== undefined) e.response.request = summarizeRequest(e.response.request, method);
  return error;
}
