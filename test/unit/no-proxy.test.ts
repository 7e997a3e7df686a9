// NO_PROXY as curl reads it, one test per form (issue 17, item 8), and the proxy URL taken from
// the environment. Pure functions: the environment is a literal here.
import { expect } from 'chai';
import { isNoProxyHost, proxyFromEnvironment } from '../../lib/grants/no-proxy.js';

/** Whether `noProxy` exempts each `host[:port]` (port 443 unless given). */
function exempts(noProxy: string, ...hosts: string[]): boolean[] {
  return hosts.map((target) => {
    const withPort = /^(.*):(\d+)$/.exec(target);
    const [host, port] = withPort !== null && !target.endsWith(']') && (target.match(/:/g)?.length ?? 0) === 1 ? [withPort[1]!, Number(withPort[2])] : [target, 443];
    return isNoProxyHost(noProxy, host, port);
  });
}

describe('NO_PROXY matching (curl rules)', () => {
  it('an empty value exempts nothing', () => {
    expect(exempts('', 'example.com')).to.deep.equal([false]);
    expect(exempts(' , ', 'example.com')).to.deep.equal([false]);
  });

  it('entries are separated by commas, spaces or both', () => {
    expect(exempts('a.test,b.test c.test ,\td.test', 'a.test', 'b.test', 'c.test', 'd.test', 'e.test')).to.deep.equal([true, true, true, true, false]);
  });

  it('a lone * exempts every host', () => {
    expect(exempts('*', 'example.com', '10.1.2.3', '::1')).to.deep.equal([true, true, true]);
    expect(exempts(' * ', 'example.com')).to.deep.equal([true]);
  });

  it('no other wildcard: *.example.com and example.* match nothing', () => {
    expect(exempts('*.example.com', 'api.example.com', 'example.com')).to.deep.equal([false, false]);
    expect(exempts('example.*', 'example.com')).to.deep.equal([false]);
    expect(exempts('*,example.com', 'other.test')).to.deep.equal([false]);
  });

  it('example.com matches the domain and its subdomains, never a mere suffix', () => {
    expect(exempts('example.com', 'example.com', 'login.example.com', 'a.b.example.com', 'badexample.com', 'example.com.evil.test')).to.deep.equal([true, true, true, false, false]);
  });

  it('.example.com matches the domain itself and its subdomains', () => {
    expect(exempts('.example.com', 'example.com', 'login.example.com', 'badexample.com')).to.deep.equal([true, true, false]);
  });

  it('is case-insensitive and ignores a trailing dot on the host', () => {
    expect(exempts('Example.COM', 'LOGIN.example.com', 'example.com.')).to.deep.equal([true, true]);
  });

  it('host:port matches that port only', () => {
    expect(exempts('idp.test:8443', 'idp.test:8443', 'idp.test:443', 'idp.test')).to.deep.equal([true, false, false]);
    expect(isNoProxyHost('idp.test:443', 'idp.test', 443)).to.equal(true);
  });

  it('an IPv4 literal matches that address only, never as a suffix', () => {
    expect(exempts('10.0.0.1', '10.0.0.1', '110.0.0.1', '10.0.0.10')).to.deep.equal([true, false, false]);
    expect(exempts('10.0.0.1:8443', '10.0.0.1:8443', '10.0.0.1')).to.deep.equal([true, false]);
  });

  it('an IPv6 literal matches bare or in brackets, in any spelling, with or without a port', () => {
    for (const entry of ['::1', '[::1]', '0:0:0:0:0:0:0:1']) {
      expect(isNoProxyHost(entry, '[::1]', 443), entry).to.equal(true);
      expect(isNoProxyHost(entry, '::1', 443), entry).to.equal(true);
      expect(isNoProxyHost(entry, '[::2]', 443), entry).to.equal(false);
    }
    expect(isNoProxyHost('[fd00::1]:8443', '[fd00::1]', 8443)).to.equal(true);
    expect(isNoProxyHost('[fd00::1]:8443', '[fd00::1]', 443)).to.equal(false);
  });

  it('IPv4 CIDR ranges (and IPv6 ones) match addresses inside only', () => {
    expect(exempts('10.0.0.0/8', '10.1.2.3', '11.0.0.1')).to.deep.equal([true, false]);
    expect(exempts('192.168.1.0/24', '192.168.1.77', '192.168.2.1')).to.deep.equal([true, false]);
    expect(exempts('0.0.0.0/0', '203.0.113.9')).to.deep.equal([true]);
    expect(isNoProxyHost('fd00::/8', '[fd12::1]', 443)).to.equal(true);
    expect(isNoProxyHost('fd00::/8', '[fe80::1]', 443)).to.equal(false);
  });

  it('addresses and ranges never match host names, and names never match addresses', () => {
    expect(exempts('10.0.0.0/8', 'ten.example')).to.deep.equal([false]);
    expect(exempts('example.com', '10.0.0.1')).to.deep.equal([false]);
  });

  it('malformed entries match nothing and do not throw', () => {
    expect(exempts('10.0.0.0/33,10.0.0.0/x,1.2.3.4/8/9,[,]:80,:', '10.0.0.1', 'example.com')).to.deep.equal([false, false]);
  });
});

describe('the proxy from the environment', () => {
  const url = new URL('https://login.example.com/tenant/oauth2/v2.0/token');

  it('https_proxy, the lower-case variable first, then ALL_PROXY; nothing set means direct', () => {
    expect(proxyFromEnvironment(url, {})).to.equal(undefined);
    expect(proxyFromEnvironment(url, { HTTPS_PROXY: 'http://upper:1' })).to.equal('http://upper:1');
    expect(proxyFromEnvironment(url, { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2' })).to.equal('http://lower:2');
    expect(proxyFromEnvironment(url, { ALL_PROXY: 'http://all:3' })).to.equal('http://all:3');
    expect(proxyFromEnvironment(url, { HTTP_PROXY: 'http://plain:4' }), 'http_proxy is for http URLs').to.equal(undefined);
  });

  it('no_proxy, the lower-case variable first, exempts the host', () => {
    expect(proxyFromEnvironment(url, { https_proxy: 'http://p:1', NO_PROXY: 'example.com' })).to.equal(undefined);
    expect(proxyFromEnvironment(url, { https_proxy: 'http://p:1', no_proxy: 'other.test', NO_PROXY: 'example.com' })).to.equal('http://p:1');
    expect(proxyFromEnvironment(url, { https_proxy: 'http://p:1', no_proxy: 'login.example.com:443' })).to.equal(undefined);
  });

  it('a proxy without a scheme is an http proxy, as in curl', () => {
    expect(proxyFromEnvironment(url, { https_proxy: 'proxy.corp:3128' })).to.equal('http://proxy.corp:3128');
  });
});
