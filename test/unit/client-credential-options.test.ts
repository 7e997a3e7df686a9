import { expect } from 'chai';
import { Agent } from 'node:https';
import { AadBackendAuthError, createTokenProvider, type TokenProviderOptions } from '../../lib/index.js';
import { basicAuthorization } from '../../lib/grants/client-authentication.js';
import { createOutboundAgents } from '../../lib/grants/outbound-agent.js';
import { makeCertificate, type TestCertificate } from '../helpers/certificates.js';
import { startupErrorOf } from '../helpers/startup-error.js';
import { saveEnv } from '../helpers/saved-env.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const base = { tenantId: TENANT, clientId: 'client-id', clientSecret: 'shh-secret', resource: 'api://orders' } as const;

const refusal = (options: Record<string, unknown>): AadBackendAuthError =>
  startupErrorOf(() => void createTokenProvider(options as unknown as TokenProviderOptions).close());

function accepted(options: Record<string, unknown>): void {
  void createTokenProvider(options as unknown as TokenProviderOptions).close();
}

describe('client credential options at start-up', () => {
  let certificate: TestCertificate;
  let stranger: TestCertificate;
  before(async () => {
    [certificate, stranger] = await Promise.all([makeCertificate('unit client'), makeCertificate('stranger')]);
  });

  describe('tokenParameters', () => {
    for (const name of ['grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'scope', 'assertion', 'Client_Secret']) {
      it(`refuses an override of ${name}`, () => {
        const error = refusal({ ...base, tokenParameters: { [name]: 'x' } });
        expect(error.message).to.include('"tokenParameters"').and.include(`"${name}"`);
      });
    }
    it('refuses resource with an Entra v1 tokenUrl, and accepts it elsewhere', () => {
      const v1 = { clientId: 'c', clientSecret: 's', resource: 'api://orders', tokenUrl: `https://login.microsoftonline.com/${TENANT}/oauth2/token` };
      expect(refusal({ ...v1, tokenParameters: { resource: 'https://other' } }).message).to.include('Entra v1');
      accepted({ clientId: 'c', clientSecret: 's', scope: 'read', tokenUrl: 'https://idp.example/oauth/token', tokenParameters: { resource: 'https://api.example' } });
    });
    it('refuses non-string values and non-objects', () => {
      expect(refusal({ ...base, tokenParameters: { audience: 1 } }).message).to.include('"audience"');
      refusal({ ...base, tokenParameters: 'audience=x' });
      refusal({ ...base, tokenParameters: [['audience', 'x']] });
    });
    it('accepts an audience', () => accepted({ ...base, tokenParameters: { audience: 'https://api.example' } }));
  });

  describe('credentials', () => {
    it('refuses clientAuthentication with clientCertificate or clientAssertion', () => {
      const { clientSecret: _, ...noSecret } = base;
      expect(refusal({ ...noSecret, clientAuthentication: 'client_secret_basic', clientCertificate: certificate }).message).to.include('"clientAuthentication"');
      expect(refusal({ ...noSecret, clientAuthentication: 'client_secret_post', clientAssertion: () => 'jwt' }).message).to.include('"clientAuthentication"');
    });
    it('refuses two credentials at once, and none at all', () => {
      expect(refusal({ ...base, clientAssertion: () => 'jwt' }).message).to.include('"clientAssertion"');
      const { clientSecret: _, ...noSecret } = base;
      expect(refusal(noSecret).message).to.include('"clientSecret" is required');
    });
    it('refuses an unknown clientAuthentication', () => {
      expect(refusal({ ...base, clientAuthentication: 'private_key_jwt' }).message).to.include('"clientAuthentication"');
    });
    it('checks a fixed certificate now: a key that does not match, a broken key, a non-RSA algorithm', () => {
      const { clientSecret: _, ...noSecret } = base;
      expect(refusal({ ...noSecret, clientCertificate: { privateKey: stranger.privateKey, certificate: certificate.certificate } }).message).to.include('does not belong');
      const broken = refusal({ ...noSecret, clientCertificate: { privateKey: '-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----', certificate: certificate.certificate } });
      expect(broken.message).to.include('"clientCertificate"').and.not.include('SECRETSECRET');
      refusal({ ...noSecret, clientCertificate: { ...certificate, algorithm: 'HS256' } });
      accepted({ ...noSecret, clientCertificate: certificate });
      accepted({ ...noSecret, clientCertificate: () => certificate });
    });
    it('refuses a clientAssertion that is not a function, and an empty clientSecret', () => {
      const { clientSecret: _, ...noSecret } = base;
      refusal({ ...noSecret, clientAssertion: 'a.jwt.value' });
      refusal({ ...base, clientSecret: '' });
    });
    it('refuses them all with credential', () => {
      const credential = { getToken: async () => null };
      for (const option of ['tokenParameters', 'clientCertificate', 'clientAssertion', 'clientAuthentication', 'proxy', 'ca']) {
        const error = refusal({ credential, resource: 'api://orders', [option]: option === 'tokenParameters' ? { audience: 'x' } : 'x' });
        expect(error.message).to.include(`"${option}"`);
      }
    });
  });

  describe('outbound options', () => {
    it('refuses a proxy that is not an http(s) URL, an agent with proxy or ca, and a ca that is not PEM', () => {
      expect(refusal({ ...base, proxy: 'socks5://proxy:1080' }).message).to.include('"proxy"');
      expect(refusal({ ...base, proxy: 'not a url' }).message).to.include('"proxy"');
      expect(refusal({ ...base, agent: new Agent(), proxy: 'http://proxy:3128' }).message).to.include('"agent"');
      expect(refusal({ ...base, agent: {} }).message).to.include('"agent"');
      expect(refusal({ ...base, ca: 'not a certificate' }).message).to.include('"ca"');
      accepted({ ...base, proxy: false });
      accepted({ ...base, proxy: 'http://user:pass@proxy.corp:3128', ca: certificate.certificate });
    });
  });
});

describe('RFC 6749 §2.3.1 Basic credentials', () => {
  it('form-encodes id and secret before base64', () => {
    const header = basicAuthorization('id:1', 'a:b%c~d e+f/');
    expect(Buffer.from(header.slice(6), 'base64').toString()).to.equal('id%3A1:a%3Ab%25c%7Ed+e%2Bf%2F');
  });
});

describe('outbound agent choice', () => {
  afterEach(saveEnv(['HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'HTTP_PROXY', 'http_proxy']));
  const proxyOf = (agent: unknown): string | undefined => (agent as { proxy?: URL }).proxy?.href;

  it('reads HTTPS_PROXY per request (not at creation), lower case winning, NO_PROXY honoured', () => {
    const agents = createOutboundAgents({ proxy: undefined, agent: undefined, ca: undefined });
    expect(proxyOf(agents.forUrl('https://login.example/t').httpsAgent)).to.equal(undefined);
    process.env.HTTPS_PROXY = 'http://upper.proxy:1';
    expect(proxyOf(agents.forUrl('https://login.example/t').httpsAgent)).to.equal('http://upper.proxy:1/');
    process.env.https_proxy = 'http://lower.proxy:2';
    expect(proxyOf(agents.forUrl('https://login.example/t').httpsAgent)).to.equal('http://lower.proxy:2/');
    process.env.NO_PROXY = '.example';
    expect(proxyOf(agents.forUrl('https://login.example/t').httpsAgent)).to.equal(undefined);
  });

  it('NO_PROXY from the environment follows curl: domain and subdomains, .domain, host:port, IPv6 literals, CIDR, lone *', () => {
    const agents = createOutboundAgents({ proxy: undefined, agent: undefined, ca: undefined });
    process.env.https_proxy = 'http://lower.proxy:2';
    const rows: [string, string, boolean][] = [
      ['example.com', 'https://login.example.com/t', true],
      ['example.com', 'https://example.com/t', true],
      ['.example.com', 'https://example.com/t', true],
      ['example.com', 'https://badexample.com/t', false],
      ['*.example.com', 'https://login.example.com/t', false],
      ['login.example.com:8443', 'https://login.example.com:8443/t', true],
      ['login.example.com:8443', 'https://login.example.com/t', false],
      ['fd00::1', 'https://[fd00::1]/t', true],
      ['[fd00::1]', 'https://[fd00::1]/t', true],
      ['10.0.0.0/8', 'https://10.20.30.40/t', true],
      ['10.0.0.0/8', 'https://11.0.0.1/t', false],
      ['a.test example.com', 'https://login.example.com/t', true],
      ['*', 'https://anything.test/t', true],
    ];
    for (const [noProxy, url, direct] of rows) {
      process.env.no_proxy = noProxy;
      expect(proxyOf(agents.forUrl(url).httpsAgent), `NO_PROXY=${noProxy} for ${url}`).to.equal(direct ? undefined : 'http://lower.proxy:2/');
    }
  });

  it('never proxies loopback, not even with an explicit proxy or agent', () => {
    process.env.https_proxy = 'http://lower.proxy:2';
    process.env.http_proxy = 'http://lower.proxy:2';
    const custom = new Agent();
    for (const settings of [{ proxy: undefined, agent: undefined }, { proxy: 'http://explicit:3', agent: undefined }, { proxy: undefined, agent: custom }]) {
      const agents = createOutboundAgents({ ...settings, ca: undefined });
      for (const url of ['http://127.0.0.1:1/t', 'https://localhost/t', 'http://[::1]:8/t', 'https://127.9.9.9/t']) {
        const chosen = agents.forUrl(url);
        expect(proxyOf(chosen.httpsAgent), url).to.equal(undefined);
        expect(chosen.httpsAgent, url).to.not.equal(custom);
      }
    }
  });

  it('an explicit proxy beats the environment, and proxy: false ignores it', () => {
    process.env.https_proxy = 'http://env.proxy:2';
    expect(proxyOf(createOutboundAgents({ proxy: 'http://explicit:3', agent: undefined, ca: undefined }).forUrl('https://login.example/t').httpsAgent)).to.equal('http://explicit:3/');
    expect(proxyOf(createOutboundAgents({ proxy: false, agent: undefined, ca: undefined }).forUrl('https://login.example/t').httpsAgent)).to.equal(undefined);
  });
});
