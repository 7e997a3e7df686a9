import { expect } from 'chai';
import { bearerChallenge, insufficientClaims, isBearerChallenge } from '../../lib/http/challenge.js';
import { isReplayableAxiosData, isReplayableFetchBody, isReplayableFetchCall } from '../../lib/adapters/clients/replayable-body.js';
import { summarizeRequest } from '../../lib/adapters/clients/redact-axios-error.js';
import { parseWwwAuthenticate } from '../../lib/http/challenge.js';
import { AadBackendAuthError } from '../../lib/core/errors.js';
import { capabilitiesKey, parseClientCapabilities, requestClaims } from '../../lib/grants/token-request-claims.js';
import { Readable } from 'node:stream';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

describe('WWW-Authenticate parsing', () => {
  it('reads the RFC 9110 example: two challenges, quoted values with escapes', () => {
    const challenges = parseWwwAuthenticate('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"');
    expect(challenges.map((c) => c.scheme)).to.deep.equal(['newauth', 'basic']);
    expect(Object.fromEntries(challenges[0]!.params)).to.deep.equal({ realm: 'apps', type: '1', title: 'Login to "apps"' });
    expect(challenges[1]!.params.get('realm')).to.equal('simple');
  });

  it('reads token68, a bare scheme, header lists and odd spacing', () => {
    const challenges = parseWwwAuthenticate(['Negotiate abc+/==', 'Bearer', '  Basic   realm = "x" ,Bearer error=invalid_token']);
    expect(challenges.map((c) => [c.scheme, c.token68])).to.deep.equal([
      ['negotiate', 'abc+/=='],
      ['bearer', undefined],
      ['basic', undefined],
      ['bearer', undefined],
    ]);
    expect(challenges[3]!.params.get('error')).to.equal('invalid_token');
  });

  it('stops at a malformed part and ignores what is not a header value', () => {
    expect(parseWwwAuthenticate('Bearer realm="unterminated').map((c) => c.scheme)).to.deep.equal(['bearer']);
    expect(parseWwwAuthenticate(undefined)).to.deep.equal([]);
    expect(parseWwwAuthenticate(42)).to.deep.equal([]);
    expect(parseWwwAuthenticate('=oops')).to.deep.equal([]);
  });

  it('finds a Bearer challenge in any case, and not inside a quoted value', () => {
    expect(isBearerChallenge('bEaReR realm="x"')).to.equal(true);
    expect(isBearerChallenge('Basic realm="Bearer"')).to.equal(false);
    expect(isBearerChallenge('Basic realm="a", Bearer')).to.equal(true);
    expect(isBearerChallenge(null)).to.equal(false);
    expect(bearerChallenge('Basic x, Bearer error="invalid_token"')?.params.get('error')).to.equal('invalid_token');
  });
});

describe('claims challenges (insufficient_claims)', () => {
  const claims = { access_token: { nbf: { essential: true, value: '1604106651' } } };

  it('decodes Entra\'s base64 claims into compact JSON', () => {
    expect(insufficientClaims(`Bearer realm="", error="insufficient_claims", claims="${b64(claims)}"`)).to.equal(JSON.stringify(claims));
    expect(insufficientClaims(`Bearer error=insufficient_claims, claims=${Buffer.from(JSON.stringify(claims)).toString('base64url')}`)).to.equal(JSON.stringify(claims));
  });

  it('ignores other errors, missing or broken claims, and non-objects', () => {
    expect(insufficientClaims(`Bearer error="invalid_token", claims="${b64(claims)}"`)).to.equal(undefined);
    expect(insufficientClaims('Bearer error="insufficient_claims"')).to.equal(undefined);
    expect(insufficientClaims('Bearer error="insufficient_claims", claims="not base64!"')).to.equal(undefined);
    expect(insufficientClaims(`Bearer error="insufficient_claims", claims="${Buffer.from('{broken').toString('base64')}"`)).to.equal(undefined);
    expect(insufficientClaims(`Bearer error="insufficient_claims", claims="${b64([1, 2])}"`)).to.equal(undefined);
    expect(insufficientClaims(`Basic error="insufficient_claims", claims="${b64(claims)}"`)).to.equal(undefined);
    expect(insufficientClaims(`Bearer error="insufficient_claims", claims="${'A'.repeat(9000)}"`)).to.equal(undefined);
  });
});

describe('client capabilities and request claims', () => {
  it('sends xms_cc exactly as Entra expects, and merges it into a challenge', () => {
    expect(requestClaims(['cp1'], undefined)).to.deep.equal({ claims: '{"access_token":{"xms_cc":{"values":["cp1"]}}}', challenge: undefined });
    const challenge = JSON.stringify({ access_token: { nbf: { essential: true, value: '1' } }, id_token: { x: 1 } });
    const merged = requestClaims(['cp1'], challenge)!;
    expect(JSON.parse(merged.claims)).to.deep.equal({ access_token: { nbf: { essential: true, value: '1' }, xms_cc: { values: ['cp1'] } }, id_token: { x: 1 } });
    expect(merged.challenge).to.equal(challenge);
    expect(requestClaims(undefined, challenge)).to.deep.equal({ claims: challenge, challenge });
    expect(requestClaims(undefined, undefined)).to.equal(undefined);
  });

  it('validates clientCapabilities, naming the option', () => {
    expect(parseClientCapabilities(['cp1', 'cp1'])).to.deep.equal(['cp1']);
    expect(parseClientCapabilities([])).to.equal(undefined);
    for (const bad of ['cp1', [''], ['c p'], [1], Array.from({ length: 17 }, (_, i) => `c${i}`)]) {
      expect(() => parseClientCapabilities(bad)).to.throw(AadBackendAuthError, /"clientCapabilities"/);
    }
  });

  it('names the capabilities in cache keys, in a stable order', () => {
    expect(capabilitiesKey(undefined)).to.equal('');
    expect(capabilitiesKey(['cp2', 'cp1'])).to.equal('|cc=cp1,cp2');
  });
});

describe('which bodies can be sent again', () => {
  it('fetch: none, strings, buffers, typed arrays, URLSearchParams, Blob and FormData; never a stream', () => {
    for (const body of [undefined, null, 'x', new ArrayBuffer(2), new Uint8Array(2), new DataView(new ArrayBuffer(1)), new URLSearchParams('a=1'), new Blob(['x']), new FormData()]) {
      expect(isReplayableFetchBody(body), String(body)).to.equal(true);
    }
    expect(isReplayableFetchBody(new ReadableStream())).to.equal(false);
    expect(isReplayableFetchBody(Readable.from(['x']))).to.equal(false);
    expect(isReplayableFetchBody({ a: 1 })).to.equal(false);
  });

  it('fetch: a Request input with a body is a stream; init.body decides when given', () => {
    expect(isReplayableFetchCall('http://x', undefined)).to.equal(true);
    expect(isReplayableFetchCall(new Request('http://x'), undefined)).to.equal(true);
    expect(isReplayableFetchCall(new Request('http://x', { method: 'POST', body: 'a' }), undefined)).to.equal(false);
    expect(isReplayableFetchCall(new Request('http://x', { method: 'POST', body: 'a' }), { body: 'b' })).to.equal(true);
    expect(isReplayableFetchCall('http://x', { body: new ReadableStream() })).to.equal(false);
  });

  it('axios: also plain objects and arrays (sent as JSON), never streams or class instances', () => {
    expect(isReplayableAxiosData({ a: 1 })).to.equal(true);
    expect(isReplayableAxiosData(Object.create(null))).to.equal(true);
    expect(isReplayableAxiosData([1, 2])).to.equal(true);
    expect(isReplayableAxiosData(Buffer.from('x'))).to.equal(true);
    expect(isReplayableAxiosData(Readable.from(['x']))).to.equal(false);
    expect(isReplayableAxiosData(new ReadableStream())).to.equal(false);
    expect(isReplayableAxiosData(new (class Payload {})())).to.equal(false);
  });
});

describe('request summaries for axios errors', () => {
  it('keeps method, host and path of a ClientRequest-like object and of a fetch Request, nothing else', () => {
    const clientRequest = { method: 'GET', host: '127.0.0.1', path: '/orders/7?secret=1', _header: 'GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n' };
    expect(summarizeRequest(clientRequest, 'get')).to.deep.equal({ method: 'GET', host: '127.0.0.1', path: '/orders/7' });
    expect(summarizeRequest(new Request('http://127.0.0.1:8080/a/b?c=1', { headers: { authorization: 'Bearer x' } }), 'get')).to.deep.equal({
      method: 'GET',
      host: '127.0.0.1:8080',
      path: '/a/b',
    });
    expect(summarizeRequest(undefined, 'get')).to.equal(undefined);
  });
});
