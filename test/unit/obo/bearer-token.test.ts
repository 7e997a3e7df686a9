import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../../../lib/http/bearer-token.js';

const read = (authorization: string | undefined): string | undefined =>
  bearerToken({ headers: authorization === undefined ? {} : { authorization } } as IncomingMessage);

describe('reading the user token from Authorization', () => {
  it('takes the token of a Bearer header, whatever the case of the scheme and the spaces around it', () => {
    expect(read('Bearer abc.def.ghi')).to.equal('abc.def.ghi');
    expect(read('bearer abc')).to.equal('abc');
    expect(read('BEARER   abc  ')).to.equal('abc');
  });

  it('counts any other scheme, an empty token or a token with spaces as none', () => {
    for (const value of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer    ', 'Bearerabc', 'Bearer a b', 'Token abc']) {
      expect(read(value), String(value)).to.equal(undefined);
    }
  });
});
