import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { WebSocketServer } from 'ws';
import { close, listen } from './servers.js';

/** A real `ws` backend that records the headers of every upgrade and HTTP request that reach it, and echoes messages. */
export interface WsBackend {
  readonly url: string;
  readonly upgrades: IncomingHttpHeaders[];
  readonly requests: IncomingHttpHeaders[];
  close(): Promise<void>;
}

export async function startWsBackend(): Promise<WsBackend> {
  const upgrades: IncomingHttpHeaders[] = [];
  const requests: IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ ...req.headers });
    res.end('backend http');
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    upgrades.push({ ...req.headers });
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data)));
  });
  const url = await listen(server);
  return {
    url,
    upgrades,
    requests,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await close(server);
    },
  };
}
