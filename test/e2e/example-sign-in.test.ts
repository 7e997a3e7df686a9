import { expect } from 'chai';
import request from 'supertest';
import { startExample, type RunningExample } from '../../example-app/example.js';
import { DEMO_USERS } from '../../example-app/sign-in.js';

describe('example app: sign-in and /api/me on behalf of the user', () => {
  let example: RunningExample;
  before(async () => {
    example = await startExample({ mode: 'local', port: 0, host: '127.0.0.1' });
  });
  after(() => example.close());

  it('keeps the user token in the server-side session and calls the backend as that user', async () => {
    const agent = request.agent(example.url);
    const signIn = await agent.post('/_bff/session/sign-in/alice').set('content-type', 'application/json').send('{}');
    expect(signIn.status).to.equal(200);
    expect(signIn.text).to.not.include('eyJ');
    const cookie = String(signIn.headers['set-cookie']);
    expect(cookie).to.match(/^bff\.sid=/).and.to.include('HttpOnly').and.to.include('SameSite=Strict');
    expect(cookie).to.not.include('eyJ');
    const me = await agent.get('/api/me');
    expect(me.status).to.equal(200);
    expect(me.body.claims).to.include({ name: DEMO_USERS.alice.name, oid: DEMO_USERS.alice.oid, scp: 'Orders.Read' });
    expect(me.body.claims).to.not.have.property('roles');
    const whoami = await agent.get('/api/whoami');
    expect(whoami.body.claims.roles).to.deep.equal(['Orders.Read']);
  });

  it('answers 401 ERR_USER_TOKEN_MISSING without a session, and refuses a sign-in from a cross-site form', async () => {
    const me = await request(example.url).get('/api/me');
    expect(me.status).to.equal(401);
    expect(me.headers['www-authenticate']).to.equal('Bearer');
    expect(me.body).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    const form = await request(example.url).post('/_bff/session/sign-in/bob').type('form').send({ a: 1 });
    expect(form.status).to.equal(415);
  });
});
