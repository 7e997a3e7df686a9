import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { withTimeout } from '../../lib/core/timing.js';

describe('withTimeout', function () {
  let server: ChildProcess;
  let socket: Socket;

  before(async () => {
    // The answering side lives in another process, so it answers while this one is busy.
    const code = "const s=require('net').createServer(c=>c.on('data',()=>c.write('pong'))).listen(0,'127.0.0.1',()=>console.log(s.address().port))";
    server = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [port] = (await once(server.stdout!, 'data')) as [Buffer];
    socket = connect(Number(String(port).trim()), '127.0.0.1');
    await once(socket, 'connect');
  });
  after(() => {
    socket?.destroy();
    server?.kill();
  });

  it('takes an answer that arrived in time, even when the event loop was stalled past the deadline', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = once(socket, 'data');
      socket.write('ping');
      const bounded = withTimeout(answer, 30);
      const busyUntil = Date.now() + 100;
      while (Date.now() < busyUntil); // a stall: the answer lands in the socket meanwhile
      outcomes.push(await bounded.then(() => 'answer', () => 'timeout'));
    }
    expect(outcomes).to.deep.equal(Array(6).fill('answer'));
  });

  it('still times out when no answer comes', async () => {
    const started = Date.now();
    const error = await withTimeout(new Promise(() => undefined), 30).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Error).with.property('message', 'timed out after 30 ms');
    expect(Date.now() - started).to.be.at.least(25);
  });

  it('guards any thenable, not only native promises (a store may return its own promise type)', async () => {
    const neverSettles: PromiseLike<string> = { then: () => neverSettles as never };
    const error = await Promise.race([
      withTimeout(neverSettles, 30).catch((e: unknown) => e),
      new Promise((resolve) => setTimeout(resolve, 1000, 'hung')),
    ]);
    expect(error).to.be.instanceOf(Error).with.property('message', 'timed out after 30 ms');
  });
});
