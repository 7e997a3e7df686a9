// The chaos soak, short: SOAK_SECONDS (default 10) of load while the IdP flaps. `npm run soak` runs 60 s.
import { expect } from 'chai';
import { formatFigures, runSoak, violations } from '../../soak/chaos.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 10);
const seed = process.env.SOAK_SEED === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(process.env.SOAK_SEED);

describe('chaos soak (short)', () => {
  it(`${seconds} s of steady load while the IdP flaps: every assertion holds (seed ${seed})`, async function () {
    this.timeout((seconds + 30) * 1000);
    const figures = await runSoak({ seconds, seed });
    const table = formatFigures(figures);
    console.log(`\n    chaos soak, seed ${seed} (replay with SOAK_SEED=${seed}):\n${table.replace(/^/gm, '    ')}\n`);
    expect(violations(figures), table).to.deep.equal([]);
    expect(Object.values(figures.phases).every((n) => n > 0), 'every IdP state was visited').to.equal(true);
  });
});
