import { createLocalJWKSet, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';

/**
 * `remote`, but a failed key read (as `isFailure` says) is remembered for `memoryMs`: a flood
 * of tokens while the JWKS endpoint fails costs one read, not one each. Keys jose already holds
 * still verify in that time; only a read is skipped.
 */
export function rememberingFailures(remote: RemoteJWKSet, memoryMs: number, isFailure: (error: unknown) => boolean): JWTVerifyGetKey {
  let failure: { readonly error: unknown; readonly until: number } | undefined;
  return async (header, token) => {
    if (failure !== undefined && Date.now() < failure.until) {
      const held = remote.fresh ? remote.jwks() : undefined;
      if (held === undefined) throw failure.error;
      return createLocalJWKSet(held)(header, token);
    }
    try {
      return await remote(header, token);
    } catch (error) {
      if (isFailure(error)) failure = { error, until: Date.now() + memoryMs };
      throw error;
    }
  };
}
