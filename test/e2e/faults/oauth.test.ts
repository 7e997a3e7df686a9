// Fault matrix, OAuth rows: 400 and 401 with each OAuth error. Permanent until the configuration
// changes, so never retried; the operator's log line carries the AADSTS code and the correlation id.
import { expect } from 'chai';
import { type OAuthErrorCode } from '../../../lib/testing/index.js';
import { expectProblem, expectRecovery, startRig, useFaultMatrix } from '../../helpers/fault-rig.js';

const AADSTS: Record<OAuthErrorCode, number> = {
  invalid_client: 7000215,
  invalid_scope: 1002012,
  unauthorized_client: 700016,
  invalid_request: 90002,
  invalid_grant: 700024,
};
const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe('fault matrix: OAuth errors', () => {
  const env = useFaultMatrix();

  for (const [error, code] of Object.entries(AADSTS) as [OAuthErrorCode, number][]) {
    for (const status of [400, 401] as const) {
      it(`${status} ${error}: 502 ERR_IDP_REJECTED, not retried, AADSTS${code} and correlation id logged; recovers`, async () => {
        env.rig = await startRig(env.idp);
        const errors: unknown[] = [];
        env.rig.auth.tokenProvider.on('error', (err) => errors.push(err));
        env.idp.fail({ kind: 'oauth-error', error, status }, Infinity);
        const answer = await env.rig.get();
        expectProblem(answer, 502, 'ERR_IDP_REJECTED');
        // End users get a generic detail; the AADSTS text is for operators only.
        expect(answer.text).to.not.match(/AADSTS|correlation/i);
        expect(env.rig.backend.received).to.have.length(0);
        expect(env.idp.tokenRequests, 'a permanent error is not retried').to.have.length(1);

        const line = env.rig.logs.find((l) => l.startsWith('error: ') && l.includes('ERR_IDP_REJECTED'));
        expect(line, env.rig.logs.join('\n')).to.be.a('string');
        expect(line).to.include(`HTTP ${status} ${error}`).and.include(`AADSTS${code}`);
        expect(line).to.match(new RegExp(`correlation id ${GUID}`)).and.match(new RegExp(`trace id ${GUID}`));
        expect(errors).to.have.length(1);
        expect(errors[0]).to.include({ code: 'ERR_IDP_REJECTED', status: 502, idpStatus: status });
        expect((errors[0] as { oauth: unknown }).oauth).to.include({ error, aadsts: `AADSTS${code}` });

        await expectRecovery(env.idp, env.rig);
      });
    }
  }

  it('a 4xx without an OAuth body (a proxy page, say) is a 502 ERR_IDP_REJECTED too', async () => {
    env.rig = await startRig(env.idp);
    env.idp.fail({ kind: 'status', status: 403, body: '<html>Forbidden by the corporate proxy</html>' }, Infinity);
    expectProblem(await env.rig.get(), 502, 'ERR_IDP_REJECTED');
    expect(env.rig.backend.received).to.have.length(0);
    await expectRecovery(env.idp, env.rig);
  });

  it('a real rejection (wrong secret): 502, not retried, logged with its AADSTS code and without the secret', async () => {
    env.rig = await startRig(env.idp, { auth: { clientSecret: 'not-the-registered-secret' } });
    expectProblem(await env.rig.get(), 502, 'ERR_IDP_REJECTED');
    expect(env.idp.tokenRequests).to.have.length(1);
    expect(env.rig.logs.join('\n')).to.include('AADSTS7000215').and.not.include('not-the-registered-secret');
  });
});
