// createAuthFetch(aadUserToken(...)).for(req): calls from a route handler carry the session user's
// token, through the same session, refresh and anti-forgery rules as the middleware.
import { expect } from 'chai';
import http, { type IncomingMessage, type Server } from 'node:http';
import { createAuthFetch } from '../../lib/index.js';
import { aadUserToken } from '../../lib/adapters/user-token.js';
import { startRefreshIdp, type RefreshIdp } from '../helpers/refresh-idp.js';
import { close, listen } from '../helpers/servers.js';
import { testSessions } from '../helpers/session-store.js';

/** A backend that refuses the tokens in `refused` with a Bearer challenge, and records what it got. */
async function startBackend(): Promise<{ url: string; received: string[]; refused: Set<string>; server: Server }> {
  const received: string[] = [];
  const refused = new Set<string>();
  const server = http.createServer((req, res) => {
    const authorization = req.headers.authorization ?? '';
    received.push(authorization);
    if (refused.has(authorization.slice('Bearer '.length))) res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    else res.end('ok');
  });
  return { url: await listen(server), received, refused, server };
}

const requestOf = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

describe('createAuthFetch with aadUserToken: the session user, from your own code', function () {
  this.timeout(15_000);
  let idp: RefreshIdp;
  let backend: Awaited<ReturnType<typeof startBackend>>;

  beforeEach(async () => {
    idp = await startRefreshIdp();
    backend = await startBackend();
  });
  afterEach(async () => {
    await close(backend.server);
    await idp.close();
  });

  it("sends the session's own token; after a Bearer 401 to it, refreshes once with the refresh token, writes the session, and sends again", async () => {
    const sessions = testSessions();
    const signedIn = idp.signIn('alice');
    sessions.store.set('s1', signedIn);
    const auth = aadUserToken(idp.userTokenOptions(sessions));
    const authFetch = createAuthFetch(auth);
    const req = requestOf({ 'x-session': 's1', 'x-csrf': '1' });

    expect((await authFetch.for(req)(`${backend.url}/a`)).status).to.equal(200);
    expect(backend.received).to.deep.equal([`Bearer ${signedIn.accessToken}`]);
    expect(idp.calls).to.have.length(0);

    // The backend now refuses the session's own token (revoked by CAE, say): one refresh, one retry.
    backend.refused.add(signedIn.accessToken);
    const answer = await authFetch.for(req)(`${backend.url}/b`);
    expect(answer.status).to.equal(200);
    expect(idp.calls).to.have.length(1);
    const newest = idp.issued.at(-1)!.token;
    expect(backend.received.slice(1)).to.deep.equal([`Bearer ${signedIn.accessToken}`, `Bearer ${newest}`]);
    expect(sessions.calls.set).to.equal(1);
    expect(sessions.store.get('s1')).to.include({ accessToken: newest });
    expect(sessions.store.get('s1')!.refreshToken).to.not.equal(signedIn.refreshToken);
    await auth.tokenProvider.close();
  });

  it('applies the anti-forgery rule to the incoming request, and needs the request', async () => {
    const sessions = testSessions();
    sessions.store.set('s1', idp.signIn('bob'));
    const auth = aadUserToken(idp.userTokenOptions(sessions));
    const authFetch = createAuthFetch(auth);
    const forged = await authFetch.for(requestOf({ 'x-session': 's1' }))(`${backend.url}/a`).catch((error: unknown) => error);
    expect(forged).to.include({ code: 'ERR_ANTIFORGERY' });
    expect(sessions.calls.get).to.equal(0);
    const bare = await authFetch(`${backend.url}/a`).catch((error: unknown) => error);
    expect(bare).to.include({ code: 'ERR_USER_TOKEN_MISSING' });
    expect(backend.received).to.have.length(0);
    await auth.tokenProvider.close();
  });
});
