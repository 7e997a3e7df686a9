import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1, port 0, and returns the base URL. */
export async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** Closes a server, ending idle keep-alive sockets so the close never hangs. */
export async function close(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

export interface BackendRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface Backend {
  readonly url: string;
  readonly server: Server;
  readonly received: BackendRequest[];
  /** Answer with this status from now on (default 200). */
  respondWith(status: number): void;
  close(): Promise<void>;
}

/** A real backend on loopback that records what reached it and echoes the Authorization header's presence. */
export async function startBackend(): Promise<Backend> {
  const received: BackendRequest[] = [];
  let status = 200;
  const handler: RequestListener = (req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: status < 400, path: req.url }));
    });
  };
  const server = http.createServer(handler);
  const url = await listen(server);
  return {
    url,
    server,
    received,
    respondWith(next) {
      status = next;
    },
    close: () => close(server),
  };
}
