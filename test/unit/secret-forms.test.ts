// The spellings of a secret that are scrubbed (issue 17, item 6), and the proxy credentials
// that are taken out of the proxy URL (item 7).
import { expect } from 'chai';
import { inspect } from 'node:util';
import { basicAuthorization } from '../../lib/grants/client-authentication.js';
import { splitProxyCredentials } from '../../lib/grants/outbound-agent.js';
import { basicForms, scrubber, secretForms } from '../../lib/grants/scrub.js';

describe('secret scrubbing in every spelling', () => {
  const secret = 'Q8~x+y z/w=v~Ab';

  it('covers raw, form-encoded, percent-encoded, lower-case escapes, + as space and JSON-escaped', () => {
    const forms = secretForms(secret);
    expect(forms).to.include.members([
      secret,
      'Q8%7Ex%2By+z%2Fw%3Dv%7EAb', // URLSearchParams
      'Q8~x%2By%20z%2Fw%3Dv~Ab', // encodeURIComponent
      'Q8%7ex%2by+z%2fw%3dv%7eAb',
      'Q8%7Ex%2By%20z%2Fw%3Dv%7EAb',
    ]);
    expect(secretForms('a"b\\c')).to.include('a\\"b\\\\c');
  });

  it('a scrubber built from them removes each form from echoed text', () => {
    const scrub = scrubber(secretForms(secret));
    for (const form of secretForms(secret)) expect(scrub(`before ${form} after`)).to.equal('before [REDACTED] after');
  });

  it('the Basic value and what it decodes to', () => {
    const authorization = basicAuthorization('client id', secret);
    const [encoded, decoded] = basicForms(authorization);
    expect(encoded).to.equal(authorization.slice('Basic '.length));
    expect(decoded).to.equal('client+id:Q8%7Ex%2By+z%2Fw%3Dv%7EAb');
  });

  it('leaves short needles alone, so ordinary text is not mangled', () => {
    expect(scrubber(['ab', 'abc'])('abcd')).to.equal('abcd');
  });
});

describe('proxy credentials out of the proxy URL', () => {
  it('takes user and password out, percent-decoded, as a Basic Proxy-Authorization value', () => {
    const { url, authorization } = splitProxyCredentials('http://gate%20way:p%40ss~w0rd%3Ax@proxy.corp:3128');
    expect(url).to.equal('http://proxy.corp:3128/');
    expect(Buffer.from(authorization!.replace(/^Basic /, ''), 'base64').toString('utf8')).to.equal('gate way:p@ss~w0rd:x');
  });

  it('a URL without credentials gets no header; a user alone gets an empty password', () => {
    expect(splitProxyCredentials('http://proxy.corp:3128')).to.deep.equal({ url: 'http://proxy.corp:3128/', authorization: undefined });
    expect(splitProxyCredentials('http://user@proxy.corp:3128').authorization).to.equal(`Basic ${Buffer.from('user:').toString('base64')}`);
  });

  it('the agent built for it shows neither password nor header in util.inspect', async () => {
    const { createOutboundAgents } = await import('../../lib/grants/outbound-agent.js');
    const agent = createOutboundAgents({ proxy: 'http://user:s3cret-pw@proxy.corp:3128', agent: undefined, ca: undefined }).forUrl('https://login.example/t').httpsAgent;
    const shown = inspect(agent, { depth: Infinity, showHidden: true });
    expect(shown).to.include('proxy.corp');
    expect(shown).to.not.include('s3cret-pw').and.not.include(Buffer.from('user:s3cret-pw').toString('base64'));
  });
});
