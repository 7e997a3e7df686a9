import { createHash } from 'node:crypto';

/** A Lua script, sent by its SHA-1 first and in full only when Redis does not know it yet. */
export interface RedisScript {
  readonly source: string;
  readonly sha1: string;
}

function script(source: string): RedisScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** Deletes the lock only if it still holds this holder's value: a late release never frees another holder's lock. */
export const RELEASE_LOCK = script(`if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/** Stores the token and tells the waiting instances, in one round trip. */
export const SET_AND_PUBLISH = script(`redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`);
