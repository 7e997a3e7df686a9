import { once } from 'node:events';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The cold burst opens 1000 connections at once: the default backlog (511) would drop SYNs and add 1 s retries. */
const BACKLOG = 4096;

/** Listens on 127.0.0.1, port 0, with a deep backlog; returns the base URL. */
export async function listen(server: Server): Promise<string> {
  server.listen({ port: 0, host: '127.0.0.1', backlog: BACKLOG });
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function close(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

const BODY = Buffer.from('{"ok":true}');

/** The trivial backend: drains the request and answers a small JSON body. */
export function createBackend(): Server {
  return http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      res.end(BODY);
    });
  });
}
