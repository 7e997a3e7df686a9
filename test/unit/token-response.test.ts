import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { AadBackendAuthError } from '../../lib/core/errors.js';
import { MAX_TOKEN_LIFETIME_SECONDS, parseOAuthError, parseRetryAfter, parseTokenResponse } from '../../lib/grants/token-response.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/entra/${name}`, import.meta.url), 'utf8');
const json = 'application/json; charset=utf-8';
const noScrub = (text: string): string => text;

function malformedProblem(body: string, contentType = json): string {
  try {
    parseTokenResponse(body, contentType, 200);
  } catch (error) {
    expect(error).to.be.instanceOf(AadBackendAuthError);
    expect((error as AadBackendAuthError).code).to.equal('ERR_IDP_MALFORMED_RESPONSE');
    expect((error as AadBackendAuthError).status).to.equal(502);
    return (error as AadBackendAuthError).message;
  }
  expect.fail('expected a malformed-response error');
}

describe('token endpoint answers', () => {
  it('reads a v2 answer, where expires_in is a number', () => {
    const token = parseTokenResponse(fixture('v2-success.json'), json, 200);
    expect(token.expiresInMs).to.equal(3599_000);
    expect(token.refreshInMs).to.equal(undefined);
    expect(token.token).to.match(/^eyJ/);
  });

  it('reads a v1 answer, where the numbers are strings', () => {
    const token = parseTokenResponse(fixture('v1-success.json'), json, 200);
    expect(token.expiresInMs).to.equal(3599_000);
  });

  it('honours refresh_in when it is shorter than the lifetime', () => {
    const answer = { token_type: 'Bearer', expires_in: 3600, refresh_in: 1800, access_token: 'abc' };
    expect(parseTokenResponse(JSON.stringify(answer), json, 200).refreshInMs).to.equal(1800_000);
    const useless = { ...answer, refresh_in: 7200 };
    expect(parseTokenResponse(JSON.stringify(useless), json, 200).refreshInMs).to.equal(undefined);
  });

  it('compares token_type case-insensitively', () => {
    const answer = { token_type: 'bEaReR', expires_in: 60, access_token: 'abc' };
    expect(parseTokenResponse(JSON.stringify(answer), json, 200).token).to.equal('abc');
  });

  it(`clamps an absurd lifetime to ${MAX_TOKEN_LIFETIME_SECONDS} s`, () => {
    const answer = { token_type: 'Bearer', expires_in: 1e12, access_token: 'abc' };
    expect(parseTokenResponse(JSON.stringify(answer), json, 200).expiresInMs).to.equal(MAX_TOKEN_LIFETIME_SECONDS * 1000);
  });

  const bad: Record<string, string> = {
    'HTML': '<html><body>Sign in to the Wi-Fi</body></html>',
    'broken JSON': '{"access_token": "abc", ',
    'a JSON array': '[{"access_token":"abc"}]',
    'JSON null': 'null',
    'no access_token': JSON.stringify({ token_type: 'Bearer', expires_in: 60 }),
    'a MAC token': JSON.stringify({ token_type: 'MAC', expires_in: 60, access_token: 'abc' }),
    'no token_type': JSON.stringify({ expires_in: 60, access_token: 'abc' }),
    'a token with CR/LF': JSON.stringify({ token_type: 'Bearer', expires_in: 60, access_token: 'abc\r\nX-Evil: 1' }),
    'a token with a space': JSON.stringify({ token_type: 'Bearer', expires_in: 60, access_token: 'abc def' }),
    'a token that is a number': JSON.stringify({ token_type: 'Bearer', expires_in: 60, access_token: 12345 }),
    'an empty token': JSON.stringify({ token_type: 'Bearer', expires_in: 60, access_token: '' }),
    'expires_in missing': JSON.stringify({ token_type: 'Bearer', access_token: 'abc' }),
    'expires_in 0': JSON.stringify({ token_type: 'Bearer', expires_in: 0, access_token: 'abc' }),
    'expires_in negative': JSON.stringify({ token_type: 'Bearer', expires_in: -5, access_token: 'abc' }),
    'expires_in "-5"': JSON.stringify({ token_type: 'Bearer', expires_in: '-5', access_token: 'abc' }),
    'expires_in non-numeric': JSON.stringify({ token_type: 'Bearer', expires_in: 'soon', access_token: 'abc' }),
  };
  for (const [name, body] of Object.entries(bad)) {
    it(`treats ${name} as malformed`, () => {
      const message = malformedProblem(body, name === 'HTML' ? 'text/html' : json);
      expect(message).not.to.include('abc');
    });
  }

  it('treats an HTML body as malformed even when it claims to be JSON', () => {
    malformedProblem('<html></html>');
  });

  it('reads each Entra error shape with its AADSTS code and ids', () => {
    for (const [name, code] of [
      ['error-invalid-client.json', 'AADSTS7000215'],
      ['error-invalid-scope.json', 'AADSTS1002012'],
      ['error-unauthorized-client.json', 'AADSTS700016'],
      ['error-tenant-not-found.json', 'AADSTS90002'],
    ] as const) {
      const details = parseOAuthError(fixture(name), noScrub);
      expect(details?.aadsts, name).to.equal(code);
      expect(details?.correlationId, name).to.match(/^[0-9a-f-]{36}$/);
      expect(details?.traceId, name).to.match(/^[0-9a-f-]{36}$/);
    }
  });

  it('scrubs a secret echoed in an error description', () => {
    const body = JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS7000215: bad secret hunter2 given' });
    const details = parseOAuthError(body, (text) => text.split('hunter2').join('[REDACTED]'));
    expect(details?.description).to.equal('AADSTS7000215: bad secret [REDACTED] given');
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(parseRetryAfter('7', now)).to.equal(7);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).to.equal(30);
    expect(parseRetryAfter('Tue, 24 Nov 2026 09:00:00 GMT', now)).to.equal(0);
    expect(parseRetryAfter('soon', now)).to.equal(undefined);
    expect(parseRetryAfter(undefined, now)).to.equal(undefined);
  });
});
