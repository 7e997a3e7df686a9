// Loopback pieces for token requests through a CONNECT proxy: a TLS front for a host name that
// does not resolve here (only the proxy maps it to loopback), an honest proxy (the `proxy`
// package) that records CONNECT targets and Proxy-Authorization, and a hostile proxy that
// answers every CONNECT itself with a status and body of the test's choosing.
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createProxy } from 'proxy';
import type { EntraEmulator } from '../../lib/testing/index.js';
import { makeCertificate, type TestCertificate } from './certificates.js';

export interface TlsFront {
  /** The certificate (its own CA) for `host`; trust it with `ca`. */
  readonly ca: TestCertificate;
  readonly port: number;
  close(): Promise<void>;
}

/** TLS for `host` in front of the emulator, on 127.0.0.1. */
export async function startTlsFront(idp: Pick<EntraEmulator, 'url'>, host: string): Promise<TlsFront> {
  const ca = await makeCertificate('Test corporate CA', [host]);
  const server = tls.createServer({ key: ca.privateKey, cert: ca.certificate }, (socket) => {
    const upstream = net.connect(Number(new URL(idp.url).port), '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { ca, port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface HonestProxy {
  readonly url: string;
  /** CONNECT targets as sent, and the Proxy-Authorization header of each. */
  readonly connects: string[];
  readonly authorizations: (string | undefined)[];
  /** When set, CONNECT without exactly this Proxy-Authorization gets 407. */
  requireAuthorization: string | undefined;
  close(): Promise<void>;
}

/** A real CONNECT proxy whose own DNS maps `host:frontPort` to the front; everything else is refused. */
export async function startHonestProxy(host: string, frontPort: number): Promise<HonestProxy> {
  const server = createProxy(http.createServer());
  const state: HonestProxy = {
    url: '',
    connects: [],
    authorizations: [],
    requireAuthorization: undefined,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  Object.assign(server, {
    authenticate: (req: http.IncomingMessage) => state.requireAuthorization === undefined || req.headers['proxy-authorization'] === state.requireAuthorization,
  });
  const [original] = server.listeners('connect') as ((req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void)[];
  server.removeAllListeners('connect');
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    state.connects.push(req.url ?? '');
    state.authorizations.push(req.headers['proxy-authorization']);
    req.url = req.url === `${host}:${frontPort}` ? `127.0.0.1:${frontPort}` : 'refused.invalid:1';
    original!.call(server, req, socket, head);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

export interface HostileAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

export interface HostileProxy {
  readonly url: string;
  /** The first line of every CONNECT it received. */
  readonly connects: string[];
  /** What it answers to the next CONNECTs. */
  answer: HostileAnswer;
  close(): Promise<void>;
}

/** A proxy that never tunnels: it answers each CONNECT with `answer`, body included, and hangs up. */
export async function startHostileProxy(answer: HostileAnswer): Promise<HostileProxy> {
  const sockets = new Set<net.Socket>();
  const state = { url: '', connects: [] as string[], answer, close: async () => {} };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      state.connects.push(head.slice(0, head.indexOf('\r\n')));
      const { status, headers = {}, body } = state.answer;
      const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Whatever'}`, 'content-type: application/json', `content-length: ${Buffer.byteLength(body)}`, 'connection: close'];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
      head = '';
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return state;
}
