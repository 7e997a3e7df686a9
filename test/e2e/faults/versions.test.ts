// Key rows of the fault matrix on Express 4 and 5, in front of http-proxy-middleware 3 and 4.
import { expect } from 'chai';
import { startEntraEmulator, type EntraEmulator } from '../../../lib/testing/index.js';
import { expectProblem, expectRecovery, startRig, type Rig } from '../../helpers/fault-rig.js';
import { watchProcess } from '../../helpers/process-watch.js';

const TIMEOUT_MS = 500;
const matrix = [
  { express: 4, proxy: 3 },
  { express: 4, proxy: 4 },
  { express: 5, proxy: 3 },
  { express: 5, proxy: 4 },
] as const;

describe('fault matrix: key rows on every Express and http-proxy-middleware major', () => {
  const watch = watchProcess();
  let idp: EntraEmulator;
  let rig: Rig | undefined;

  before(async () => {
    watch.install();
    idp = await startEntraEmulator();
  });
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    idp.reset();
    expect(await watch.take(), 'unhandled rejections or uncaught exceptions').to.deep.equal([]);
  });
  after(async () => {
    await idp.close();
    watch.uninstall();
  });

  for (const versions of matrix) {
    describe(`Express ${versions.express}, http-proxy-middleware ${versions.proxy}`, () => {
      it('5xx then hang: 503 with Retry-After within timeoutMs; recovers', async () => {
        rig = await startRig(idp, { ...versions, auth: { timeoutMs: TIMEOUT_MS } });
        idp.fail({ kind: 'status', status: 500 }, 2);
        idp.fail({ kind: 'hang' }, Infinity);
        const answer = await rig.get();
        expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
        expect(answer.ms).to.be.below(TIMEOUT_MS + 1000);
        expect(rig.backend.received).to.have.length(0);
        await expectRecovery(idp, rig);
      });

      it('OAuth rejection and an HTML page: 502 with their codes; recovers', async () => {
        rig = await startRig(idp, { ...versions, auth: { timeoutMs: TIMEOUT_MS } });
        idp.fail({ kind: 'oauth-error', error: 'invalid_client' });
        expectProblem(await rig.get(), 502, 'ERR_IDP_REJECTED');
        idp.fail({ kind: 'html' });
        expectProblem(await rig.get(), 502, 'ERR_IDP_MALFORMED_RESPONSE');
        expect(rig.backend.received).to.have.length(0);
        await expectRecovery(idp, rig);
      });

      it('a gzip-encoded token answer works', async () => {
        rig = await startRig(idp, versions);
        idp.fail({ kind: 'gzip' });
        const answer = await rig.get();
        expect(answer.status, answer.text).to.equal(200);
        expect(rig.backend.received).to.have.length(1);
      });
    });
  }
});
