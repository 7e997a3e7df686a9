import { expect } from 'chai';
import { withoutAccessToken } from '../../lib/http/url-token.js';

describe('withoutAccessToken', () => {
  it('leaves URLs without the parameter alone (undefined: nothing to change)', () => {
    for (const url of ['/a', '/a?x=1', '/a?accessible=1', '/a?x=%20', '/access_token?x=1']) expect(withoutAccessToken(url), url).to.equal(undefined);
  });

  it('removes every spelling of access_token and keeps the rest byte for byte, fragment included', () => {
    expect(withoutAccessToken('/hub?access_token=t&x=a%20b')).to.equal('/hub?x=a%20b');
    expect(withoutAccessToken('/hub?ACCESS_TOKEN=t')).to.equal('/hub');
    expect(withoutAccessToken('/hub?x=1&access%5Ftoken=t&y=2#f')).to.equal('/hub?x=1&y=2#f');
    expect(withoutAccessToken('/hub?access_token&x=1')).to.equal('/hub?x=1');
  });

  it('searches only the query, however often it is called (the regex keeps no state between URLs)', () => {
    expect(withoutAccessToken('/access?x=1')).to.equal(undefined);
    expect(withoutAccessToken('/x?access_token=t')).to.equal('/x');
    expect(withoutAccessToken('/x?access_token=t')).to.equal('/x');
  });
});
