// Fault matrix, answer rows: 2xx answers that are not tokens, tokens that must never reach a header,
// bad expires_in, oversized and undecompressable bodies, redirects, and gzip (which must work).
import { expect } from 'chai';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../../lib/index.js';
import { type Fault } from '../../../lib/testing/index.js';
import { bearerOf, expectProblem, expectRecovery, startRig, useFaultMatrix } from '../../helpers/fault-rig.js';
import { endlessBody, gzipBomb, startHostileIdp, startRecordingServer, staticReply, type HostileIdp } from '../../helpers/hostile-servers.js';

/** A token answer with `fields` replaced (`undefined` removes a field). */
function tokenBody(fields: Record<string, unknown>): Fault {
  const body: Record<string, unknown> = { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: 'eyJhbGciOiJub25lIn0.e30.sig' };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete body[key];
    else body[key] = value;
  }
  return { kind: 'body', body };
}

describe('fault matrix: answers that are not tokens', () => {
  let hostile: HostileIdp | undefined;
  const env = useFaultMatrix(async () => {
    await hostile?.close();
    hostile = undefined;
  });

  /** The common shape of a row: 502 ERR_IDP_MALFORMED_RESPONSE, not retried, nothing forwarded, then recovery. */
  async function malformedRow(fault: Fault): Promise<void> {
    env.rig = await startRig(env.idp);
    env.idp.fail(fault, Infinity);
    const answer = await env.rig.get();
    expectProblem(answer, 502, 'ERR_IDP_MALFORMED_RESPONSE');
    expect(env.rig.backend.received).to.have.length(0);
    expect(env.idp.tokenRequests, 'a malformed answer is not retried').to.have.length(1);
    await expectRecovery(env.idp, env.rig);
  }

  describe('200 answers that are not tokens: 502', () => {
    const rows: [string, Fault][] = [
      ['an HTML captive portal', { kind: 'html' }],
      ['broken JSON', { kind: 'body', body: '{"token_type":"Bearer","access_token":"abc' }],
      ['a JSON array', { kind: 'body', body: [{ token_type: 'Bearer', expires_in: 3599, access_token: 'abc' }] }],
      ['JSON null', { kind: 'body', body: 'null' }],
      ['a JSON string', { kind: 'body', body: '"eyJhbGciOiJub25lIn0.e30.sig"' }],
      ['an empty body', { kind: 'body', body: '' }],
      ['no access_token', tokenBody({ access_token: undefined })],
      ['token_type MAC', tokenBody({ token_type: 'MAC' })],
      ['token_type pop', tokenBody({ token_type: 'pop' })],
      ['no token_type', tokenBody({ token_type: undefined })],
      ['a token in a 201 with a JSON array', { kind: 'body', status: 201, body: [] }],
    ];
    for (const [name, fault] of rows) it(name, () => malformedRow(fault));
  });

  for (const tokenType of ['bearer', 'BEARER', 'Bearer']) {
    it(`token_type "${tokenType}" is accepted (RFC 6749 compares it case-insensitively)`, async () => {
      env.rig = await startRig(env.idp);
      env.idp.fail(tokenBody({ token_type: tokenType, access_token: 'case.insensitive.token' }));
      const answer = await env.rig.get();
      expect(answer.status, answer.text).to.equal(200);
      expect(env.rig.backend.received[0]!.headers.authorization).to.equal('Bearer case.insensitive.token');
    });
  }

  describe('an access_token outside RFC 6750 b64token never reaches a header: 502', () => {
    const rows: [string, unknown][] = [
      ['CR LF and a header', 'abc\r\nX-Injected: yes'],
      ['a bare LF', 'abc\nX-Injected: yes'],
      ['a space', 'abc def'],
      ['a tab', 'abc\tdef'],
      ['a comma', 'abc,def'],
      ['a quote', 'abc"def'],
      ['a NUL', 'abc\u0000def'],
      ['non-ASCII', 'tökén'],
      ['a leading "="', '=abc'],
      ['an empty string', ''],
      ['a number', 12345],
      ['an object', { token: 'abc' }],
      ['more than 32 KiB', 'A'.repeat(33 * 1024)],
    ];
    for (const [name, token] of rows) {
      it(name, async () => {
        await malformedRow(tokenBody({ access_token: token }));
        for (const seen of env.rig!.backend.received) expect(seen.headers).to.not.have.property('x-injected');
      });
    }
  });

  describe('expires_in', () => {
    const bad: [string, unknown][] = [
      ['missing', undefined],
      ['0', 0],
      ['"0"', '0'],
      ['negative', -60],
      ['a negative string', '-60'],
      ['non-numeric', 'soon'],
      ['numeric then junk', '3600s'],
      ['null', null],
      ['a boolean', true],
      ['an empty string', ''],
    ];
    for (const [name, value] of bad) it(`${name}: 502`, () => malformedRow(tokenBody({ expires_in: value })));

    for (const [name, value] of [
      ['a v1 numeric string', '3599'],
      ['a number', 3599],
    ] as const) {
      it(`${name}: accepted`, async () => {
        env.rig = await startRig(env.idp);
        env.idp.fail(tokenBody({ expires_in: value }));
        const requestedAt = Date.now();
        expect((await env.rig.get()).status).to.equal(200);
        const expiresOn = env.rig.auth.tokenProvider.peek()!.expiresOnTimestamp;
        expect(expiresOn).to.be.within(requestedAt + 3599_000 - 1000, Date.now() + 3599_000);
      });
    }

    for (const [name, value] of [
      ['absurdly large', 1e12],
      ['absurdly large, as a v1 string', '99999999999'],
      ['just over 24 h', MAX_TOKEN_LIFETIME_SECONDS + 1],
    ] as const) {
      it(`${name}: clamped to MAX_TOKEN_LIFETIME_SECONDS (24 h)`, async () => {
        env.rig = await startRig(env.idp);
        env.idp.fail(tokenBody({ expires_in: value }));
        const requestedAt = Date.now();
        expect((await env.rig.get()).status).to.equal(200);
        const token = env.rig.auth.tokenProvider.peek()!;
        const max = MAX_TOKEN_LIFETIME_SECONDS * 1000;
        expect(MAX_TOKEN_LIFETIME_SECONDS).to.equal(24 * 60 * 60);
        expect(token.expiresOnTimestamp).to.be.within(requestedAt + max - 1000, Date.now() + max);
        expect(token.useUntilTimestamp).to.be.below(token.expiresOnTimestamp);
      });
    }
  });

  describe('oversized bodies: the read is bounded (64 KiB)', () => {
    it('a 5 MB token answer: 502 quickly, not retried', async () => {
      env.rig = await startRig(env.idp);
      env.idp.fail({ kind: 'huge', bytes: 5 * 1024 * 1024 }, Infinity);
      const answer = await env.rig.get();
      expectProblem(answer, 502, 'ERR_IDP_MALFORMED_RESPONSE');
      expect(answer.ms).to.be.below(1000);
      expect(env.idp.tokenRequests).to.have.length(1);
      expect(env.rig.backend.received).to.have.length(0);
      await expectRecovery(env.idp, env.rig);
    });

    it('an endless body: the client hangs up after a bounded read, 502 well before timeoutMs', async () => {
      const hangUps: number[] = [];
      hostile = await startHostileIdp(env.idp, endlessBody(hangUps));
      env.rig = await startRig(env.idp, { auth: { authorityHost: hostile.url, timeoutMs: 5000 } });
      const answer = await env.rig.get();
      expectProblem(answer, 502, 'ERR_IDP_MALFORMED_RESPONSE');
      expect(answer.ms).to.be.below(2000);
      await waitFor(() => hangUps.length === 1);
      // What the socket took before the hang-up: 64 KiB read, plus what loopback buffers hold.
      expect(hangUps[0]).to.be.below(16 * 1024 * 1024);
      hostile.heal();
      await expectRecovery(env.idp, env.rig);
    });

    it('a gzip bomb (8 KiB inflating to 8 MiB): 502, the inflated size is bounded too', async () => {
      const bomb = gzipBomb(8 * 1024 * 1024);
      expect(bomb.length).to.be.below(64 * 1024);
      hostile = await startHostileIdp(env.idp, staticReply(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, bomb));
      env.rig = await startRig(env.idp, { auth: { authorityHost: hostile.url } });
      const answer = await env.rig.get();
      expectProblem(answer, 502, 'ERR_IDP_MALFORMED_RESPONSE');
      expect(env.rig.backend.received).to.have.length(0);
      hostile.heal();
      await expectRecovery(env.idp, env.rig);
    });
  });

  describe('encodings', () => {
    it('a gzip-encoded token answer works: 200 with the issued token', async () => {
      env.rig = await startRig(env.idp);
      env.idp.fail({ kind: 'gzip' }, Infinity);
      const answer = await env.rig.get();
      expect(answer.status, answer.text).to.equal(200);
      expect(env.idp.tokenRequests[0]!.fault).to.deep.equal({ kind: 'gzip' });
      const token = bearerOf(env.rig.backend.received[0]!.headers.authorization);
      expect(env.idp.isIssued(token)?.audience).to.equal(env.rig.resource);
    });

    for (const encoding of ['gzip', 'deflate', 'br']) {
      it(`a body that claims ${encoding} but is not: 502`, () =>
        malformedRow({ kind: 'status', status: 200, body: 'this is not compressed at all', headers: { 'content-encoding': encoding } }));
    }
  });

  describe('redirects are never followed; the target never sees the secret', () => {
    for (const status of [301, 302, 307, 308] as const) {
      it(`${status}: 502, and the other server received nothing`, async () => {
        const target = await startRecordingServer();
        try {
          await malformedRow({ kind: 'redirect', status, location: `${target.url}/steal/oauth2/v2.0/token` });
          expect(target.calls).to.deep.equal([]);
        } finally {
          await target.close();
        }
      });
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
