/**
 * Child process of bench/on-behalf-of.ts: the no-auth ceiling (A) and the
 * `aadOnBehalfOf` gateway (O) in one process, pinned to core 1 when possible.
 */
import express, { type RequestHandler } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { Agent, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { aadOnBehalfOf } from '../lib/index.js';
import { onBehalfOfInternals } from '../lib/obo/middleware.js';
import { CLIENT_SECRET, TENANT_ID } from './identity.js';
import { serve } from './ipc.js';
import { listen } from './servers.js';

export interface OboGatewaysArgument {
  readonly backendUrl: string;
  readonly authorityHost: string;
  readonly clientId: string;
  readonly scope: string;
}

const argument = JSON.parse(process.argv[2]!) as OboGatewaysArgument;
const obo = aadOnBehalfOf({ tenantId: TENANT_ID, clientId: argument.clientId, clientSecret: CLIENT_SECRET, authorityHost: argument.authorityHost, scope: argument.scope });
const validator = onBehalfOfInternals(obo)!.validator;

function gateway(auth: RequestHandler | undefined): ReturnType<typeof createServer> {
  const app = express();
  // Keep-alive to the backend, as in bench/contenders.ts, so the auth step is not hidden by handshakes.
  const proxy = createProxyMiddleware({ target: argument.backendUrl, changeOrigin: true, agent: new Agent({ keepAlive: true }) }) as unknown as RequestHandler;
  if (auth === undefined) app.use(proxy);
  else app.use(auth, proxy);
  return createServer(app);
}

const urls = {
  A: await listen(gateway(undefined)),
  O: await listen(gateway(obo as unknown as RequestHandler)),
};

serve(
  {
    cpuMicros(): number {
      const { user, system } = process.cpuUsage();
      return user + system;
    },
    stats(): { tokenRequests: number; keys: number; cacheHits: number; verifications: number } {
      const { tokenRequests, keys, cacheHits } = obo.tokenProvider.stats();
      return { tokenRequests, keys, cacheHits, verifications: validator.verifications };
    },
    /** The middleware alone, with a warm user: ns per call and RS256 verifications during the loop. */
    hot(args: { userToken: string; iterations: number }): { nsPerCall: number; verifications: number } {
      const req = { headers: {} as Record<string, string> } as unknown as IncomingMessage;
      const res = { writableEnded: false } as unknown as ServerResponse;
      let nexts = 0;
      const next = (): void => {
        nexts++;
      };
      // Built once, as the HTTP parser would hand it over: the loop times the middleware, not string building.
      const header = `Bearer ${args.userToken}`;
      const before = validator.verifications;
      const started = process.hrtime.bigint();
      for (let i = 0; i < args.iterations; i++) {
        req.headers.authorization = header;
        obo(req, res, next);
      }
      const ns = Number(process.hrtime.bigint() - started);
      if (nexts !== args.iterations) throw new Error(`the hot path went async: ${nexts} of ${args.iterations} calls finished synchronously`);
      return { nsPerCall: ns / args.iterations, verifications: validator.verifications - before };
    },
  },
  { urls },
);
