// How the HTTP middleware learns a backend's status: on Node's diagnostics channel for servers seen
// publishing there, with res.on('finish') for anything else. Real servers on loopback.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { aadBackendAuth } from '../../lib/index.js';
import { ResponseWatch } from '../../lib/http/response-watch.js';
import { startEntraEmulator } from '../../lib/testing/index.js';
import { startGateway } from '../helpers/gateway.js';
import { INVALID_TOKEN, startScriptedBackend } from '../helpers/scripted-backend.js';
import { close, listen } from '../helpers/servers.js';
import { emulatorOptions } from '../helpers/setup.js';

interface Seen {
  readonly id: number;
  readonly status: number;
}

describe('ResponseWatch: each watched response is reported once, with its status', () => {
  const reported: Seen[] = [];
  /** How many 'finish' listeners `watch` added, per request. */
  const added: number[] = [];
  let watch: ResponseWatch<number>;
  let server: http.Server;
  let url: string;
  let next = 0;

  beforeEach(async () => {
    reported.length = 0;
    added.length = 0;
    watch = new ResponseWatch<number>((res, id) => reported.push({ id, status: res.statusCode }));
    server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
      const before = res.listenerCount('finish');
      watch.watch(req, res, ++next);
      added.push(res.listenerCount('finish') - before);
      res.statusCode = req.url === '/refused' ? 401 : 200;
      res.end();
    });
    url = await listen(server);
  });
  afterEach(async () => {
    watch.close();
    await close(server);
  });

  const get = async (path: string): Promise<number> => (await fetch(`${url}${path}`)).status;

  it('the first response of a server with res.on; once the server is seen publishing, the rest on the channel', async () => {
    const first = next + 1;
    expect(await get('/ok')).to.equal(200);
    expect(await get('/refused')).to.equal(401);
    expect(await get('/ok')).to.equal(200);
    expect(added).to.deep.equal([1, 0, 0]);
    expect(reported).to.deep.equal([
      { id: first, status: 200 },
      { id: first + 1, status: 401 },
      { id: first + 2, status: 200 },
    ]);
  });

  it('after close(), responses are watched with res.on again and still reported', async () => {
    await get('/ok');
    await get('/ok');
    watch.close();
    expect(await get('/refused')).to.equal(401);
    expect(added).to.deep.equal([1, 0, 1]);
    expect(reported.map((r) => r.status)).to.deep.equal([200, 200, 401]);
  });

  it('a response that is not a node:http server\'s (a test double) is watched with res.on', () => {
    const res = Object.assign(new EventEmitter(), { statusCode: 503 }) as unknown as ServerResponse;
    const req = { socket: undefined } as unknown as IncomingMessage;
    watch.watch(req, res, 7);
    res.emit('finish');
    expect(reported).to.deep.equal([{ id: 7, status: 503 }]);
  });

  it('a callback that throws, on res.on or on the channel, does not reach the process', async () => {
    const throwing = new ResponseWatch<number>(() => {
      throw new Error('the owner failed');
    });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    const other = http.createServer((req, res) => {
      throwing.watch(req, res, 1);
      res.end();
    });
    const otherUrl = await listen(other);
    try {
      for (let i = 0; i < 3; i++) expect((await fetch(otherUrl)).status).to.equal(200);
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught).to.deep.equal([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      throwing.close();
      await close(other);
    }
  });
});

describe('aadBackendAuth: a backend 401 evicts the token on any request, not only the server\'s first', () => {
  it('after ten answered requests, a 401 still evicts the token: the next request gets a new one', async () => {
    const idp = await startEntraEmulator();
    let refuse = false;
    const backend = await startScriptedBackend(() => (refuse ? INVALID_TOKEN : undefined));
    const auth = aadBackendAuth(emulatorOptions(idp, {}));
    const gateway = await startGateway([{ path: '/api', auth, target: backend.url }]);
    try {
      for (let i = 0; i < 10; i++) expect((await fetch(`${gateway.url}/api/x`)).status).to.equal(200);
      expect(idp.tokenRequests).to.have.length(1);
      refuse = true;
      expect((await fetch(`${gateway.url}/api/x`)).status).to.equal(401);
      refuse = false;
      expect((await fetch(`${gateway.url}/api/x`)).status).to.equal(200);
      expect(idp.tokenRequests).to.have.length(2);
      const tokens = backend.received.map((r) => r.token);
      expect(tokens[11]).to.not.equal(tokens[10]);
    } finally {
      await auth.tokenProvider.close();
      await gateway.close();
      await backend.close();
      await idp.close();
    }
  });
});
