// Fault matrix, OAuth rows: 400 and 401 with each OAuth error. Permanent until the configuration
// changes, so never retried; the operator's log line carries the AADSTS code and the correlation id.
import { expect } from 'chai';
import { startEntraEmulator, type EntraEmulator, type OAuthErrorCode } from '../../../lib/testing/index.js';
import { expectProblem, expectRecovery, startRig, type Rig } from '../../helpers/fault-rig.js';
import { watchProcess } from '../../helpers/process-watch.js';

const AADSTS: Record<OAuthErrorCode, number> = {
  invalid_client: 7000215,
  invalid_scope: 1002012,
  unauthorized_client: 700016,
  invalid_request: 90002,
  invalid_grant: 700024,
};
const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe('fault matrix: OAuth errors', () => {
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

  for (const [error, code] of Object.entries(AADSTS) as [OAuthErrorCode, number][]) {
    for (const status of [400, 401] as const) {
      it(`${status} ${error}: 502 ERR_IDP_REJECTED, not retried, AADSTS${code} and correlation id logged; recovers`, async () => {
        rig = await startRig(idp);
        const errors: unknown[] = [];
        rig.auth.tokenProvider.on('error', (err) => errors.push(err));
        idp.fail({ kind: 'oauth-error', error, status }, Infinity);
        const answer = await rig.get();
        expectProblem(answer, 502, 'ERR_IDP_REJECTED');
        // End users get a generic detail; the AADSTS text is for operators only.
        expect(answer.text).to.not.match(/AADSTS|correlation/i);
        expect(rig.backend.received).to.have.length(0);
        expect(idp.tokenRequests, 'a permanent error is not retried').to.have.length(1);

        const line = rig.logs.find((l) => l.startsWith('error: ') && l.includes('ERR_IDP_REJECTED'));
        expect(line, rig.logs.join('\n')).to.be.a('string');
        expect(line).to.include(`HTTP ${status} ${error}`).and.include(`AADSTS${code}`);
        expect(line).to.match(new RegExp(`correlation id ${GUID}`)).and.match(new RegExp(`trace id ${GUID}`));
        expect(errors).to.have.length(1);
        expect(errors[0]).to.include({ code: 'ERR_IDP_REJECTED', status: 502, idpStatus: status });
        expect((errors[0] as { oauth: unknown }).oauth).to.include({ error, aadsts: `AADSTS${code}` });

        await expectRecovery(idp, rig);
      });
    }
  }

  it('a 4xx without an OAuth body (a proxy page, say) is a 502 ERR_IDP_REJECTED too', async () => {
    rig = await startRig(idp);
    idp.fail({ kind: 'status', status: 403, body: '<html>Forbidden by the corporate proxy</html>' }, Infinity);
    expectProblem(await rig.get(), 502, 'ERR_IDP_REJECTED');
    expect(rig.backend.received).to.have.length(0);
    await expectRecovery(idp, rig);
  });

  it('a real rejection (wrong secret): 502, not retried, logged with its AADSTS code and without the secret', async () => {
    rig = await startRig(idp, { auth: { clientSecret: 'not-the-registered-secret' } });
    expectProblem(await rig.get(), 502, 'ERR_IDP_REJECTED');
    expect(idp.tokenRequests).to.have.length(1);
    expect(rig.logs.join('\n')).to.include('AADSTS7000215').and.not.include('not-the-registered-secret');
  });
});
