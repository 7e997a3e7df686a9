import { expect } from 'chai';
import { AadBackendAuthError } from '../../lib/index.js';

/** The `ERR_INVALID_OPTION` error that `start()` throws; fails the test when it throws none. */
export function startupErrorOf(start: () => unknown): AadBackendAuthError {
  try {
    start();
  } catch (error) {
    expect(error).to.be.instanceOf(AadBackendAuthError);
    expect((error as AadBackendAuthError).code).to.equal('ERR_INVALID_OPTION');
    return error as AadBackendAuthError;
  }
  return expect.fail('expected start-up to throw ERR_INVALID_OPTION');
}
