import { expect } from 'chai';
import request from 'supertest';
import { startExample, type RunningExample } from '../../example-app/example.js';
import { allowedHostNames } from '../../example-app/host-guard.js';
import { signInAs } from '../helpers/example-sign-in.js';

const JSON_POST = { 'content-type': 'application/json' };

describe('example app: answers only to loopback Host names (DNS rebinding)', () => {
  let example: RunningExample;
  let port: string;
  const backendLog: string[] = [];
  before(async () => {
    example = await startExample(
      { mode: 'local', port: 0, host: '127.0.0.1', allowedHosts: ['bff.internal'] },
      { log: (source, line) => source === 'backend' && backendLog.push(line) },
    );
    port = new URL(example.url).port;
  });
  after(() => example.close());

  // A page on evil.example whose name now resolves to 127.0.0.1 is same-origin with
  // evil.example; only the Host header it sends tells the two apart.
  it('refuses Host: evil.example with 421 on /api/*, /_bff/*, the page and its assets, and forwards nothing', async () => {
    const paths = ['/api/whoami', '/api/me', '/_bff/status', '/_bff/summary', '/_bff/chart', '/_bff/session', '/auth/sign-in?user=alice', '/auth/callback?code=x&state=y', '/', '/app.js', '/metrics'];
    for (const host of ['evil.example', `evil.example:${port}`, `localhost.evil.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
      for (const path of paths) {
        const res = await request(example.url).get(path).set('Host', host);
        expect(res.status, `${host} ${path}`).to.equal(421);
        expect(res.headers['content-type']).to.equal('application/problem+json');
        expect(res.body).to.include({ status: 421, code: 'ERR_HOST_NOT_ALLOWED' });
        expect(res.text, 'no reflected Host').not.to.include('evil');
        // No sign-in starts: no transaction cookie, no redirect naming the rebound name as redirect URI.
        expect(res.headers['set-cookie'], `${host} ${path}`).to.equal(undefined);
        expect(res.headers['location']).to.equal(undefined);
      }
      expect((await request(example.url).post('/_bff/session/revoke').set('Host', host).set(JSON_POST).send('{}')).status).to.equal(421);
      expect((await request(example.url).post('/_bff/demo/idp-down').set('Host', host).set(JSON_POST).send('{}')).status).to.equal(421);
    }
    expect(backendLog, 'no request reached the backend').to.deep.equal([]);
    expect(example.emulator!.issued, 'no token was requested').to.deep.equal([]);
  });

  it('serves localhost, 127.0.0.1, [::1] (with or without a port, any case) and the names in allowedHosts', async () => {
    for (const host of [`localhost:${port}`, 'localhost', `127.0.0.1:${port}`, '127.0.0.1', `[::1]:${port}`, '[::1]', `LocalHost:${port}`, 'bff.internal', `bff.internal:8443`]) {
      const res = await request(example.url).get('/_bff/status').set('Host', host);
      expect(res.status, host).to.equal(200);
    }
    expect((await request(example.url).get('/api/whoami').set('Host', `localhost:${port}`)).status).to.equal(200);
    expect((await request(example.url).get('/').set('Host', `localhost:${port}`)).status).to.equal(200);
  });

  it('signs in on the name the browser used: the redirect URI follows the allowed Host, and the emulator has it registered', async () => {
    for (const name of ['localhost', '[::1]']) {
      const start = await request(example.url).get('/auth/sign-in?user=bob').set('Host', `${name}:${port}`);
      expect(start.status).to.equal(302);
      const authorize = new URL(start.headers['location'] as string);
      expect(authorize.searchParams.get('redirect_uri')).to.equal(`http://${name}:${port}/auth/callback`);
      const back = await fetch(authorize, { redirect: 'manual' });
      expect(back.status, name).to.equal(302);
      expect(back.headers.get('location')).to.match(new RegExp(`^http://${name.replace(/[[\]]/g, '\\$&')}:${port}/auth/callback\\?code=`));
    }
    // A name the BFF answers to on another port is not a registered redirect URI.
    const start = await request(example.url).get('/auth/sign-in?user=bob').set('Host', 'bff.internal:8443');
    expect((await fetch(start.headers['location'] as string, { redirect: 'manual' })).status).to.equal(400);
  });

  it('refuses malformed Host values and names that only look like an allowed one', async () => {
    for (const host of ['localhost.', 'localhost:', 'localhost:80:80', 'localhost:abc', '[::1', '::1', 'user@localhost', 'localhost/x', '0.0.0.0', '[::]', 'bff.internal.evil.example']) {
      const res = await request(example.url).get('/_bff/status').set('Host', host);
      expect(res.status, JSON.stringify(host)).to.be.oneOf([400, 421]);
    }
  });

  it('also answers to the HOST it listens on, but not to a wildcard address', async () => {
    const other = await startExample({ mode: 'local', port: 0, host: '127.0.0.2' });
    try {
      const otherPort = new URL(other.url).port;
      expect((await request(other.url).get('/_bff/status').set('Host', `127.0.0.2:${otherPort}`)).status).to.equal(200);
      expect((await request(other.url).get('/_bff/status').set('Host', 'bff.internal')).status).to.equal(421);
    } finally {
      await other.close();
    }
    // Listening on every interface adds no name: a browser sent to http://0.0.0.0:3000 is refused too.
    for (const wildcard of ['0.0.0.0', '::']) expect([...allowedHostNames(wildcard)]).to.deep.equal(['localhost', '127.0.0.1', '[::1]']);
    expect([...allowedHostNames('::1', ['Bff.Internal'])]).to.deep.equal(['localhost', '127.0.0.1', '[::1]', 'bff.internal']);
  });
});

describe('example app: sign-in sessions are bounded (LRU)', () => {
  let example: RunningExample;
  before(async () => {
    example = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' }, { maxSessions: 2 });
  });
  after(() => example.close());

  /** An agent holding the session cookie of a real sign-in. */
  const signIn = async (user: 'alice' | 'bob'): Promise<ReturnType<typeof request.agent>> => {
    const { cookie } = await signInAs(example.url, user);
    return request.agent(example.url).set('Cookie', cookie).set('x-csrf', '1');
  };
  const session = async (agent: ReturnType<typeof request.agent>): Promise<{ signedIn: boolean; name: string | null }> => {
    const { signedIn, name } = (await agent.get('/_bff/session')).body as { signedIn: boolean; name: string | null };
    return { signedIn, name };
  };

  it('keeps at most maxSessions sessions: the N+1th sign-in signs out the least recently used one', async () => {
    const first = await signIn('alice');
    const second = await signIn('bob');
    // `first` is used again, so `second` becomes the least recently used.
    expect(await session(first)).to.deep.equal({ signedIn: true, name: 'Alice Example' });
    const third = await signIn('alice');
    expect(await session(second)).to.deep.equal({ signedIn: false, name: null });
    expect((await second.get('/api/me')).status).to.equal(401);
    expect((await first.get('/api/me')).status).to.equal(200);
    expect((await third.get('/api/me')).status).to.equal(200);
    // Many more sign-ins never grow the store beyond 2: only the last two are signed in.
    const agents = [];
    for (let i = 0; i < 20; i++) agents.push(await signIn(i % 2 === 0 ? 'alice' : 'bob'));
    const signedIn = await Promise.all([first, third, ...agents].map(async (agent) => (await agent.get('/_bff/session')).body.signedIn as boolean));
    expect(signedIn.filter(Boolean)).to.have.length(2);
    expect(signedIn.slice(-2)).to.deep.equal([true, true]);
  });

  it('signing out frees the slot at once', async () => {
    const a = await signIn('alice');
    const b = await signIn('bob');
    expect((await a.post('/_bff/session/sign-out').set(JSON_POST).send('{}')).status).to.equal(200);
    const c = await signIn('bob');
    expect((await b.get('/_bff/session')).body.signedIn).to.equal(true);
    expect((await c.get('/_bff/session')).body.signedIn).to.equal(true);
  });
});
