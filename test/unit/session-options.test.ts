// aadUserToken's options and the anti-forgery rule: wrong options throw at start-up, naming the
// option; the pure checks refuse what a cross-site request can send.
import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { aadUserToken } from '../../lib/adapters/user-token.js';
import { headerRefusal, originRefusal, parseAntiForgery } from '../../lib/http/anti-forgery.js';
import { MemoryTokenCache } from '../../lib/provider/memory-cache.js';
import type { AadUserTokenOptions } from '../../lib/options/user-token-types.js';
import type { StoredToken, TokenCache } from '../../lib/core/types.js';
import { startupErrorOf } from '../helpers/startup-error.js';

const session = { get: () => undefined, set: () => undefined };
const base: AadUserTokenOptions = { tokenUrl: 'http://127.0.0.1:9/token', clientId: 'bff', clientSecret: 'secret-value', session };
const reqWith = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('aadUserToken options', () => {
  it('takes the minimal options, Entra endpoints and every client credential', () => {
    expect(aadUserToken(base)).to.be.a('function');
    expect(aadUserToken({ ...base, tokenUrl: undefined, tenantId: 'organizations', authorityHost: 'http://127.0.0.1:9' })).to.be.a('function');
    expect(aadUserToken({ ...base, clientSecret: () => 'rotating', clientAuthentication: 'client_secret_basic', scope: ['api://a/A.Read', 'offline_access'] })).to.be.a('function');
    expect(aadUserToken({ ...base, cache: new MemoryTokenCache(), maxUsers: 10, timeoutMs: 500, header: 'x-user-token', removeHeaders: ['cookie'] })).to.be.a('function');
  });

  const refusals: [string, Partial<AadUserTokenOptions> | Record<string, unknown>, RegExp][] = [
    ['no session', { session: undefined }, /"session" is required/],
    ['a session without set', { session: { get: () => undefined } }, /"session" must have get\(req\) and set/],
    ['no clientId', { clientId: undefined }, /"clientId" is required/],
    ['no credential', { clientSecret: undefined }, /"clientSecret" is required/],
    ['no endpoint', { tokenUrl: undefined }, /"tenantId" is required \(or set "tokenUrl"\)/],
    ['tokenUrl with tenantId', { tenantId: 'contoso.com' }, /"tenantId" cannot be combined with "tokenUrl"/],
    ['a plain-http tokenUrl off loopback', { tokenUrl: 'http://idp.example.com/token' }, /"tokenUrl" must use https/],
    ['an empty scope', { scope: ' ' }, /"scope" must be a non-empty string/],
    ['refresh_token in tokenParameters', { tokenParameters: { refresh_token: 'x' } }, /must not set "refresh_token"/],
    ['a typo', { sesion: session }, /"sesion" is not an option\. Did you mean "session"\?/],
    ['antiForgery of the wrong type', { antiForgery: 'yes' }, /"antiForgery" must be true, false/],
    ['an anti-forgery header a browser sends itself', { antiForgery: { header: 'Cookie' } }, /must not be "cookie"/],
    ['an empty anti-forgery value', { antiForgery: { value: '' } }, /"antiForgery.value" must be a non-empty string/],
    ['allowedOrigins with a path', { allowedOrigins: ['https://app.example.com/spa'] }, /"allowedOrigins" must hold origins/],
    ['allowedOrigins with anti-forgery off', { antiForgery: false, allowedOrigins: ['https://app.example.com'] }, /"allowedOrigins" is only used with "antiForgery" on/],
    ['maxUsers 0', { maxUsers: 0 }, /"maxUsers" must be an integer/],
  ];
  for (const [what, extra, message] of refusals) {
    it(`refuses ${what} at start-up`, () => {
      const error = startupErrorOf(() => aadUserToken({ ...base, ...extra } as AadUserTokenOptions));
      expect(error.message).to.match(message);
      expect(error.message).to.match(/^aadUserToken: /);
      expect(error.message).to.not.include('secret-value');
    });
  }

  it('refuses a cache that cannot promise encryption: user tokens never go to a shared cache in clear', () => {
    const custom: TokenCache = { get: () => undefined as StoredToken | undefined, set: () => undefined, delete: () => undefined };
    expect(startupErrorOf(() => aadUserToken({ ...base, cache: custom })).message).to.match(/"cache" must be a MemoryTokenCache or a RedisTokenCache/);
    const plain = Object.assign(custom, { encrypted: false, getRecord: async () => undefined, setRecord: async () => undefined });
    expect(startupErrorOf(() => aadUserToken({ ...base, cache: plain })).message).to.match(/without "encryptionKey"/);
  });
});

describe('the anti-forgery rule', () => {
  it('is x-csrf: 1 by default, off when false, and the default depends on the entry point', () => {
    expect(parseAntiForgery(undefined, undefined, true, 't')).to.deep.equal({ header: 'x-csrf', value: '1', allowedOrigins: undefined });
    expect(parseAntiForgery(undefined, undefined, false, 't')).to.equal(undefined);
    expect(parseAntiForgery(true, undefined, false, 't')).to.include({ header: 'x-csrf', value: '1' });
    expect(parseAntiForgery(false, undefined, true, 't')).to.equal(undefined);
    expect(parseAntiForgery({ header: 'X-Requested-With', value: 'XMLHttpRequest' }, 'https://App.Example.com', true, 't')).to.deep.equal({
      header: 'x-requested-with',
      value: 'XMLHttpRequest',
      allowedOrigins: new Set(['https://app.example.com']),
    });
  });

  it('wants exactly the value: not absent, not another, not repeated', () => {
    const rule = parseAntiForgery(undefined, undefined, true, 't')!;
    expect(headerRefusal(reqWith({ 'x-csrf': '1' }).headers, rule)).to.equal(undefined);
    for (const headers of [{}, { 'x-csrf': '' }, { 'x-csrf': '0' }, { 'x-csrf': '1, 1' }, { 'x-csrf': 'true' }, { 'x-xsrf': '1' }]) {
      expect(headerRefusal(reqWith(headers).headers, rule), JSON.stringify(headers)).to.include({ code: 'ERR_ANTIFORGERY', status: 403 });
    }
  });

  it('lets upgrades through only from an allowed origin', () => {
    const rule = parseAntiForgery(undefined, ['https://app.example.com', 'http://localhost:5173'], true, 't')!;
    expect(originRefusal(reqWith({ origin: 'https://app.example.com' }).headers, rule)).to.equal(undefined);
    expect(originRefusal(reqWith({ origin: 'http://localhost:5173' }).headers, rule)).to.equal(undefined);
    for (const origin of [undefined, 'null', 'https://evil.example.com', 'https://app.example.com.evil.test', 'http://app.example.com', 'http://localhost:5174']) {
      const headers: Record<string, string> = origin === undefined ? {} : { origin };
      expect(originRefusal(reqWith(headers).headers, rule), String(origin)).to.include({ code: 'ERR_ANTIFORGERY' });
    }
    const noOrigins = parseAntiForgery(undefined, undefined, true, 't')!;
    expect(originRefusal(reqWith({ origin: 'https://app.example.com' }).headers, noOrigins)).to.include({ code: 'ERR_ANTIFORGERY' });
  });
});
