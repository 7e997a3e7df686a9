export { RedisTokenCache } from './redis-token-cache.js';
export type { RedisSendCommand, RedisSubscribe, RedisTokenCacheOptions } from './types.js';
