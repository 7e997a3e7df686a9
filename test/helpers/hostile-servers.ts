// Loopback servers that misbehave in ways the emulator cannot: a refused port,
// a redirect target that records what it is sent, an endless body, a gzip bomb.
import http, { type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { EntraEmulator } from '../../lib/testing/index.js';
import { close, listen } from './servers.js';

/** A loopback port that was bound, then released: connecting to it is refused (until someone binds it again). */
export async function refusedPort(): Promise<number> {
  const server = http.createServer();
  const url = await listen(server);
  await close(server);
  return Number(new URL(url).port);
}

export interface RecordedCall {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface RecordingServer {
  readonly url: string;
  /** Every request, with its raw body, in order. */
  readonly calls: RecordedCall[];
  close(): Promise<void>;
}

/**
 * Records everything it is sent and answers with a token-shaped body, so a
 * client that followed a redirect here would visibly succeed.
 */
export async function startRecordingServer(): Promise<RecordingServer> {
  const calls: RecordedCall[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token_type: 'Bearer', expires_in: 3600, access_token: 'stolen.by.the.redirect.target' }));
    });
  });
  const url = await listen(server);
  return { url, calls, close: () => close(server) };
}

export interface HostileIdp {
  /** Pass as `authorityHost`: paths are those of the emulator. */
  readonly url: string;
  /** From now on, pass every request through to the emulator. */
  heal(): void;
  close(): Promise<void>;
}

/**
 * A token endpoint that answers with `misbehave` until healed, then passes
 * requests through to `idp`, so a row can prove recovery with issued tokens.
 */
export async function startHostileIdp(idp: Pick<EntraEmulator, 'url'>, misbehave: RequestListener): Promise<HostileIdp> {
  let healed = false;
  const server = http.createServer((req, res) => {
    if (!healed) {
      misbehave(req, res);
      return;
    }
    const upstream = http.request(new URL(req.url ?? '/', idp.url), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const url = await listen(server);
  return {
    url,
    heal() {
      healed = true;
    },
    close: () => close(server),
  };
}

/** Answers every request with `reply`, a fixed body the emulator cannot send. */
export function staticReply(status: number, headers: Record<string, string>, body: Buffer): RequestListener {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { ...headers, 'content-length': String(body.length) });
      res.end(body);
    });
  };
}

/** A gzip bomb: a few KiB on the wire that inflate to a token JSON of about `inflatedBytes`. */
export function gzipBomb(inflatedBytes: number): Buffer {
  const head = '{"token_type":"Bearer","expires_in":3600,"access_token":"';
  return gzipSync(Buffer.concat([Buffer.from(head), Buffer.alloc(inflatedBytes, 'A'), Buffer.from('"}')]));
}

/**
 * Answers 200 with the start of a token JSON whose `access_token` never ends,
 * honouring back-pressure, until the client hangs up. `hangUps` gets, per
 * request, the bytes handed to the socket before the client went away.
 */
export function endlessBody(hangUps: number[]): RequestListener {
  const chunk = Buffer.alloc(16 * 1024, 'A');
  return (req, res) => {
    let sent = 0;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"token_type":"Bearer","expires_in":3600,"access_token":"');
    const pump = (): void => {
      while (!res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    res.on('close', () => hangUps.push(sent));
    pump();
  };
}
