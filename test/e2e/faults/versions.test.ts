// Key rows of the fault matrix on Express 4 and 5, in front of http-proxy-middleware 3 and 4.
import { expect } from 'chai';
import { VERSION_MATRIX } from '../../helpers/gateway.js';
import { expectProblem, expectRecovery, startRig, useFaultMatrix } from '../../helpers/fault-rig.js';

const TIMEOUT_MS = 500;

describe('fault matrix: key rows on every Express and http-proxy-middleware major', () => {
  const env = useFaultMatrix();

  for (const versions of VERSION_MATRIX) {
    describe(`Express ${versions.express}, http-proxy-middleware ${versions.proxy}`, () => {
      it('5xx then hang: 503 with Retry-After within timeoutMs; recovers', async () => {
        env.rig = await startRig(env.idp, { ...versions, auth: { timeoutMs: TIMEOUT_MS } });
        env.idp.fail({ kind: 'status', status: 500 }, 2);
        env.idp.fail({ kind: 'hang' }, Infinity);
        const answer = await env.rig.get();
        expectProblem(answer, 503, 'ERR_IDP_UNAVAILABLE');
        expect(answer.ms).to.be.below(TIMEOUT_MS + 1000);
        expect(env.rig.backend.received).to.have.length(0);
        await expectRecovery(env.idp, env.rig);
      });

      it('OAuth rejection and an HTML page: 502 with their codes; recovers', async () => {
        env.rig = await startRig(env.idp, { ...versions, auth: { timeoutMs: TIMEOUT_MS } });
        env.idp.fail({ kind: 'oauth-error', error: 'invalid_client' });
        expectProblem(await env.rig.get(), 502, 'ERR_IDP_REJECTED');
        env.idp.fail({ kind: 'html' });
        expectProblem(await env.rig.get(), 502, 'ERR_IDP_MALFORMED_RESPONSE');
        expect(env.rig.backend.received).to.have.length(0);
        await expectRecovery(env.idp, env.rig);
      });

      it('a gzip-encoded token answer works', async () => {
        env.rig = await startRig(env.idp, versions);
        env.idp.fail({ kind: 'gzip' });
        const answer = await env.rig.get();
        expect(answer.status, answer.text).to.equal(200);
        expect(env.rig.backend.received).to.have.length(1);
      });
    });
  }
});
