import { AxiosError } from 'axios';
import { expect } from 'chai';
import { inspect } from 'node:util';
import { DEFAULT_CLIENT_SECRET, type EntraEmulator } from '../../lib/testing/index.js';

/** A claims challenge as a CAE-enabled backend sends it. */
export const CAE_CLAIMS = { access_token: { nbf: { essential: true, value: '1700000000' } } };

/** What `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail('expected a rejection');
}

/** Neither the secret nor any issued token appears anywhere a thrown error (an axios one included) can be looked at. */
export function expectNoLeak(error: unknown, idp: EntraEmulator): void {
  const asJson = error instanceof AxiosError ? JSON.stringify(error.toJSON()) : (JSON.stringify(error) ?? '');
  const views = [inspect(error, { depth: 12, showHidden: true }), asJson, String((error as Error).stack), String(error)];
  const secrets = [DEFAULT_CLIENT_SECRET, ...idp.issued.map((t) => t.token), ...idp.issued.map((t) => t.token.split('.')[2]!)];
  for (const view of views) for (const secret of secrets) expect(view).not.to.include(secret);
}
