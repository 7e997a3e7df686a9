// `npm run soak`: the chaos soak, 60 s by default (SOAK_SECONDS), seeded (SOAK_SEED) so a failure can be replayed.
import { formatFigures, runSoak, violations } from './chaos.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 60);
const seed = process.env.SOAK_SEED === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(process.env.SOAK_SEED);
if (!(seconds > 0) || !Number.isInteger(seed)) {
  console.error('SOAK_SECONDS must be a positive number and SOAK_SEED an integer');
  process.exit(2);
}
console.log(`chaos soak: ${seconds} s, seed ${seed} (replay with SOAK_SEED=${seed})`);
const figures = await runSoak({ seconds, seed });
console.log(formatFigures(figures));
const found = violations(figures);
if (found.length > 0) {
  console.error(`\nFAILED:\n- ${found.join('\n- ')}`);
  process.exit(1);
}
console.log('\nall soak assertions hold');
