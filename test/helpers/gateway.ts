import type { RequestHandler } from 'express';
import express4 from 'express';
import express5 from 'express5';
import { createProxyMiddleware as createProxy3 } from 'http-proxy-middleware';
import { createProxyMiddleware as createProxy4 } from 'http-proxy-middleware-4';
import type { Server } from 'node:http';
import { close, listen } from './servers.js';

export type ExpressMajor = 4 | 5;
export type ProxyMajor = 3 | 4;

/** Every supported pairing of Express and http-proxy-middleware majors. */
export const VERSION_MATRIX = [
  { express: 4, proxy: 3 },
  { express: 4, proxy: 4 },
  { express: 5, proxy: 3 },
  { express: 5, proxy: 4 },
] as const satisfies readonly { express: ExpressMajor; proxy: ProxyMajor }[];

export interface GatewayRoute {
  readonly path: string;
  readonly auth: RequestHandler | ((req: never, res: never, next: never) => void);
  readonly target: string;
}

export interface Gateway {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** A real Express app: each route is `auth` then http-proxy-middleware to `target`. */
export async function startGateway(routes: readonly GatewayRoute[], versions: { express?: ExpressMajor; proxy?: ProxyMajor } = {}): Promise<Gateway> {
  const app = versions.express === 5 ? express5() : express4();
  for (const route of routes) {
    const options = { target: route.target, changeOrigin: true };
    const proxy = versions.proxy === 4 ? createProxy4(options) : createProxy3(options);
    app.use(route.path, route.auth as RequestHandler, proxy as unknown as RequestHandler);
  }
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, server, close: () => close(server) };
}

export { listen };
