// Lua run with EVAL: the scripts are a few dozen bytes and run once per token
// lifetime, so EVALSHA's round trip saving is not worth a NOSCRIPT fallback.

/** Deletes the lock only if it still holds this holder's value: a late release never frees another holder's lock. */
export const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** Stores the token and tells the waiting instances, in one round trip. */
export const SET_AND_PUBLISH = `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
