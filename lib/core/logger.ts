import createDebug from 'debug';
import type { AadBackendAuthLogger } from './types.js';

/** Logs through the `debug` module: silent unless `DEBUG=aad-backend-auth` (or `aad-backend-auth:*`). */
export function createDefaultLogger(namespace = 'aad-backend-auth'): AadBackendAuthLogger {
  const levels = {
    debug: createDebug(`${namespace}:debug`),
    info: createDebug(`${namespace}:info`),
    warn: createDebug(`${namespace}:warn`),
    error: createDebug(`${namespace}:error`),
  };
  return {
    debug: (message) => levels.debug(message),
    info: (message) => levels.info(message),
    warn: (message) => levels.warn(message),
    error: (message) => levels.error(message),
  };
}
