// Your BFF, written so that tests can pass the identity settings and the backend's address.
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { aadBackendAuth, type AadBackendAuthOptions } from 'aad-backend-auth';

export function createApp(auth: AadBackendAuthOptions, ordersUrl: string): express.Express {
  const app = express();
  app.use('/api/orders', aadBackendAuth(auth), createProxyMiddleware({ target: ordersUrl, changeOrigin: true }));
  return app;
}
