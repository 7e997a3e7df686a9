// aadOnBehalfOf reads issue 13's client-credential and outbound options with the same parser
// as aadBackendAuth: what it accepts, what it refuses at start-up, and what the key names.
import { expect } from 'chai';
import { Agent } from 'node:http';
import { AadBackendAuthError, aadOnBehalfOf, type AadOnBehalfOfOptions } from '../../../lib/index.js';
import { parseOnBehalfOfOptions } from '../../../lib/options/on-behalf-of-options.js';
import { makeCertificate, type TestCertificate } from '../../helpers/certificates.js';
import { startupErrorOf } from '../../helpers/startup-error.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const base: AadOnBehalfOfOptions = { tenantId: TENANT, clientId: 'bff-client', scope: 'api://orders/Orders.Read' };
const exchange: AadOnBehalfOfOptions = {
  clientId: 'bff-client',
  scope: 'orders:read',
  grant: 'token-exchange',
  tokenUrl: 'https://kc.example/realms/r/protocol/openid-connect/token',
  issuer: 'https://kc.example/realms/r',
};

const startupError = (options: unknown): AadBackendAuthError => startupErrorOf(() => aadOnBehalfOf(options as AadOnBehalfOfOptions));

describe('aadOnBehalfOf client credentials at start-up', () => {
  let certificate: TestCertificate;
  before(async () => {
    certificate = await makeCertificate('obo unit');
  });

  it('accepts a secret function, Basic, a certificate, a clientAssertion, tokenParameters, proxy and ca, for both grants', () => {
    for (const grant of [base, exchange]) {
      expect(aadOnBehalfOf({ ...grant, clientSecret: () => 's', clientAuthentication: 'client_secret_basic' })).to.be.a('function');
      expect(aadOnBehalfOf({ ...grant, clientCertificate: certificate, tokenParameters: { audience: 'orders' } })).to.be.a('function');
      expect(aadOnBehalfOf({ ...grant, clientAssertion: () => 'a.b.c', proxy: 'http://proxy.corp:3128', ca: certificate.certificate })).to.be.a('function');
      expect(aadOnBehalfOf({ ...grant, clientSecret: 's', agent: new Agent(), proxy: undefined })).to.be.a('function');
    }
  });

  it('names the missing credential, and refuses two of them', () => {
    const missing = startupError(base);
    expect(missing.message).to.match(/^aadOnBehalfOf: "clientSecret" is required/).and.include('"clientCertificate"').and.include('"clientAssertion"');
    expect(missing.message).to.not.include('"credential"');
    expect(startupError({ ...base, clientSecret: 's', clientAssertion: () => 'a' }).message).to.include('"clientAssertion" cannot be combined with "clientSecret"');
    expect(startupError({ ...base, clientSecret: 's', clientCertificate: certificate }).message).to.include('"clientCertificate"');
  });

  it('refuses clientAuthentication with clientCertificate or clientAssertion, and unknown methods', () => {
    expect(startupError({ ...base, clientCertificate: certificate, clientAuthentication: 'client_secret_basic' }).message).to.match(
      /^aadOnBehalfOf: "clientAuthentication" cannot be combined with "clientCertificate"/,
    );
    expect(startupError({ ...base, clientAssertion: () => 'a', clientAuthentication: 'client_secret_post' }).message).to.include('"clientAuthentication"');
    expect(startupError({ ...base, clientSecret: 's', clientAuthentication: 'private_key_jwt' }).message).to.include('"clientAuthentication"');
  });

  it('refuses a broken certificate, a non-function assertion and an empty secret without quoting them', () => {
    const broken = startupError({ ...base, clientCertificate: { privateKey: 'not a key', certificate: certificate.certificate } });
    expect(broken.message).to.include('"clientCertificate"').and.not.include('not a key');
    expect(startupError({ ...base, clientAssertion: 'a.b.c' }).message).to.include('"clientAssertion"');
    expect(startupError({ ...base, clientSecret: ' ' }).message).to.include('"clientSecret"');
  });

  for (const name of ['grant_type', 'client_id', 'client_secret', 'client_assertion_type', 'scope', 'assertion', 'requested_token_use', 'subject_token', 'Subject_Token_Type']) {
    it(`refuses tokenParameters that would override "${name}"`, () => {
      for (const grant of [{ ...base, clientSecret: 's' }, { ...exchange, clientSecret: 's' }]) {
        const error = startupError({ ...grant, tokenParameters: { [name]: 'x' } });
        expect(error.message).to.match(/^aadOnBehalfOf: "tokenParameters" must not set/).and.include(`"${name}"`);
      }
    });
  }

  it('refuses a bad proxy, an agent with proxy or ca, and a ca that is no certificate', () => {
    const secret = { ...base, clientSecret: 's' };
    expect(startupError({ ...secret, proxy: 'ftp://proxy.corp' }).message).to.include('"proxy"');
    expect(startupError({ ...secret, agent: new Agent(), proxy: 'http://proxy.corp:3128' }).message).to.include('"agent"');
    expect(startupError({ ...secret, agent: new Agent(), ca: certificate.certificate }).message).to.include('"agent"');
    expect(startupError({ ...secret, agent: {} }).message).to.include('"agent"');
    expect(startupError({ ...secret, ca: 'not a certificate' }).message).to.include('"ca"');
  });

  it('never puts the secret in an option error', () => {
    const error = startupError({ ...base, clientSecret: 'shh-obo-secret', clientAuthentication: 'nope' });
    expect(error.message).to.not.include('shh-obo-secret');
  });
});

describe('aadOnBehalfOf keys and outbound settings', () => {
  it('names tokenParameters in the key, after authority, client and grant, and nothing of them without', () => {
    const plain = parseOnBehalfOfOptions({ ...base, clientSecret: 's' }).targetFor('user.token', 1).key;
    const withAudience = parseOnBehalfOfOptions({ ...base, clientSecret: 's', tokenParameters: { audience: 'a b', resource: 'r' } }).targetFor('user.token', 1).key;
    expect(plain).to.match(/^https:\/\/login\.microsoftonline\.com\|bff-client\|on-behalf-of\|72f988bf/);
    expect(withAudience).to.match(/^https:\/\/login\.microsoftonline\.com\|bff-client\|on-behalf-of\|audience=a\+b&resource=r\|72f988bf/);
    const exchanged = parseOnBehalfOfOptions({ ...exchange, clientSecret: 's', tokenParameters: { audience: 'orders' } }).targetFor('user.token', 1).key;
    expect(exchanged.startsWith(`${exchange.tokenUrl}|bff-client|token-exchange|audience=orders||orders:read|user:`)).to.equal(true);
  });

  it('keys the same identity the same way whatever the client authentication: the client id names it', () => {
    const post = parseOnBehalfOfOptions({ ...base, clientSecret: 's' }).targetFor('user.token', 1).key;
    const basic = parseOnBehalfOfOptions({ ...base, clientSecret: () => 's', clientAuthentication: 'client_secret_basic' }).targetFor('user.token', 1).key;
    expect(basic).to.equal(post);
  });

  it('gives the user-token validator the same outbound agents as the exchange', () => {
    const { validator } = parseOnBehalfOfOptions({ ...base, clientSecret: 's', proxy: 'http://proxy.corp:3128' });
    expect(validator.agents).to.not.equal(undefined);
    const agents = validator.agents!.forUrl('https://login.microsoftonline.com/x/v2.0/.well-known/openid-configuration');
    expect(agents.httpsAgent.constructor.name).to.equal('TrustingProxyAgent');
    expect(validator.agents!.forUrl('http://127.0.0.1:1/x').httpsAgent.constructor.name).to.equal('Agent');
  });
});
