// A raw HTTP(S) client for the emulator tests: no decompression, no redirects,
// and every byte and header exactly as the emulator sent it.
import * as http from 'node:http';
import * as https from 'node:https';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../../lib/testing/index.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Number of 'data' events: shows whether the body came in pieces. */
  chunks: number;
  text(): string;
  json(): Record<string, unknown>;
}

export interface RequestOptions {
  method?: string;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  ca?: string | undefined;
  /** Give up (destroy the request) this many ms after sending it: a total deadline, not an idle timeout. */
  timeoutMs?: number;
}

export function request(url: string, options: RequestOptions = {}): Promise<RawResponse> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) headers['content-type'] ??= 'application/x-www-form-urlencoded';
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, ca: options.ca, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () => {
          if (!res.complete) {
            reject(new Error('response ended before the whole body arrived'));
            return;
          }
          const buffer = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: buffer,
            chunks: chunks.length,
            text: () => buffer.toString('utf8'),
            json: () => JSON.parse(buffer.toString('utf8')) as Record<string, unknown>,
          });
        });
      },
    );
    if (options.timeoutMs !== undefined) {
      const deadline = setTimeout(() => req.destroy(new Error('client timeout')), options.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
    }
    req.on('error', reject);
    req.end(body);
  });
}

/** The form of a valid v2 client-credentials request for the default client. */
export function v2Form(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  return clean({
    grant_type: 'client_credentials',
    client_id: DEFAULT_CLIENT_ID,
    client_secret: DEFAULT_CLIENT_SECRET,
    scope: 'api://orders/.default',
    ...overrides,
  });
}

/** The form of a valid v1 client-credentials request for the default client. */
export function v1Form(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  return clean({
    grant_type: 'client_credentials',
    client_id: DEFAULT_CLIENT_ID,
    client_secret: DEFAULT_CLIENT_SECRET,
    resource: 'https://legacy.example.com',
    ...overrides,
  });
}

function clean(form: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(form).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Resolve the error the request fails with; fail the test when it succeeds. */
export async function requestError(url: string, options: RequestOptions = {}): Promise<Error> {
  try {
    const res = await request(url, options);
    throw new Error(`expected the request to fail, got HTTP ${res.status}`);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('expected the request to fail')) throw error;
    return error as Error;
  }
}
