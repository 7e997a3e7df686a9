/**
 * A Redis token cache shared by a fleet of BFF instances: one token request per target for the whole fleet.
 *
 * @module aad-backend-auth/redis
 */
export { RedisTokenCache } from './redis-token-cache.js';
export type { RedisSendCommand, RedisSubscribe, RedisTokenCacheOptions } from './types.js';
