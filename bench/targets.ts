/** The issue's targets, judged from the numbers: met or not met, never rounded in B's favour. */
import type { HotPathTask } from './hot-summary.js';
import type { BenchResults } from './results.js';

export type Verdict = 'met' | 'not met' | 'not measured';

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly verdict: Verdict;
}

const f = (n: number, digits = 2): string => n.toFixed(digits);

export function checkTargets(r: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const tp = r.throughput;
  if (tp === undefined) {
    checks.push({ target: 'B/A throughput ≥ 0.97', measured: '—', verdict: 'not measured' });
    checks.push({ target: "B's p99 ≤ A's p99 + 0.2 ms", measured: '—', verdict: 'not measured' });
  } else {
    const ba = tp.ratios['B/A']!;
    const floor = tp.ratios["A'/A"]!;
    checks.push({
      target: 'B/A throughput ≥ 0.97',
      measured:
        `${f(ba.median)} (rounds ${f(ba.min)}–${f(ba.max)}; noise floor A'/A ${f(floor.median)}, ${f(floor.min)}–${f(floor.max)}). ` +
        `Of which carrying the token, T/A: ${f(tp.ratios['T/A']!.median)}; the middleware itself, B/T: ${f(tp.ratios['B/T']!.median)}`,
      verdict: ba.median >= 0.97 ? 'met' : 'not met',
    });
    const dp = tp.p99Deltas['B − A']!;
    const dFloor = tp.p99Deltas["A' − A"]!;
    checks.push({
      target: "B's p99 ≤ A's p99 + 0.2 ms",
      measured: `B − A ${f(dp.median)} ms (rounds ${f(dp.min)} to ${f(dp.max)}; noise floor A' − A ${f(dFloor.median)} ms; B − T ${f(tp.p99Deltas['B − T']!.median)} ms)`,
      verdict: dp.median <= 0.2 ? 'met' : 'not met',
    });
  }

  const counts: string[] = [];
  let allOne = true;
  let any = false;
  if (tp !== undefined) {
    any = true;
    counts.push(`steady load ${tp.gateways.B.tokenRequests.join(', ')} (one per gateway process)`);
    allOne &&= tp.gateways.B.tokenRequests.every((n) => n === 1);
  }
  if (r.burst !== undefined) {
    any = true;
    const b = r.burst.gateways.B!.tokenRequests;
    counts.push(`cold burst ${b.join(', ')}`);
    allOne &&= b.every((n) => n === 1);
  }
  if (r.memory !== undefined) {
    any = true;
    counts.push(`${r.memory.requests} requests ${r.memory.tokenRequests}`);
    allOne &&= r.memory.tokenRequests === 1;
  }
  checks.push({
    target: 'exactly 1 token request for B where tokens do not expire',
    measured: any ? counts.join('; ') : '—',
    verdict: any ? (allOne ? 'met' : 'not met') : 'not measured',
  });

  const refreshB = r.refresh?.runs.find((run) => run.gateway === 'B');
  if (refreshB === undefined) {
    checks.push({ target: 'no latency spike at the refresh boundary (B)', measured: '—', verdict: 'not measured' });
  } else {
    const worst = refreshB.windows.reduce((m, w) => Math.max(m, w.p99), 0);
    const waits = refreshB.provider?.waits ?? Number.NaN;
    checks.push({
      target: 'no latency spike at the refresh boundary (B)',
      measured:
        `p99 around refreshes ${f(refreshB.windowP99)} ms vs ${f(refreshB.controlP99)} ms in control windows between them (medians; worst refresh window ${f(worst)} ms); ` +
        `${waits} requests waited for a token during the load. D: ${f(r.refresh!.runs.find((run) => run.gateway === 'D')?.windowP99 ?? Number.NaN)} ms vs ${f(r.refresh!.runs.find((run) => run.gateway === 'D')?.controlP99 ?? Number.NaN)} ms`,
      verdict: !refreshB.spike && waits === 0 ? 'met' : 'not met',
    });
  }

  const hot = r.hot?.tasks.filter((t) => t.name.startsWith('aadBackendAuth') && t.aboveFloorNs !== undefined && !t.name.endsWith('(baseline)'));
  const hotTarget = 'hot path < 1 µs per call above the floor';
  if (hot === undefined || hot.length === 0) {
    checks.push({ target: hotTarget, measured: '—', verdict: 'not measured' });
  } else {
    checks.push({
      target: hotTarget,
      measured: hot.map((t) => `${t.name.replace('aadBackendAuth, ', '')}: ${aboveFloor(t)}`).join('; '),
      verdict: Math.max(...hot.map((t) => t.aboveFloorNs!)) < 1000 ? 'met' : 'not met',
    });
  }
  checks.push(...onBehalfOfTargets(r));
  checks.push(...sessionTargets(r));
  return checks;
}

/** What a hot-path task adds to its floor, and what it costs in all. */
function aboveFloor(t: HotPathTask): string {
  return `${f(t.aboveFloorNs!, 0)} ns above the floor (passes ${f(t.aboveFloorMinNs!, 0)} to ${f(t.aboveFloorMaxNs!, 0)}; ${f(t.medianNs, 0)} ns in all)`;
}

/** Issue 21: a warm cookie session costs under 1 µs and no IdP call; a cold herd redeems once per session. */
function sessionTargets(r: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const warm = r.hot?.tasks.filter((t) => t.name.startsWith('aadUserToken') && t.aboveFloorNs !== undefined) ?? [];
  const counts = r.hot?.session;
  const warmTarget = 'aadUserToken: warm session < 1 µs per call above the floor, no token request';
  if (warm.length === 0 || counts === undefined) {
    checks.push({ target: warmTarget, measured: '—', verdict: 'not measured' });
  } else {
    const slowest = Math.max(...warm.map((t) => t.aboveFloorNs!));
    const floor = r.hot?.tasks.find((t) => t.name === warm[0]!.floor);
    // The same calls on stand-in objects: the middleware's whole cost, with nothing of Express's in the way.
    const bare = r.hot?.tasks.filter((t) => t.name.startsWith('aadUserToken') && t.name.endsWith('on fake objects')) ?? [];
    checks.push({
      target: warmTarget,
      measured:
        `${warm.map((t) => `${t.name.replace('aadUserToken, ', '')}: ${aboveFloor(t)}`).join('; ')}` +
        `${floor === undefined ? '' : ` (the floor on the same cookie-session requests: ${f(floor.medianNs, 0)} ns)`}; ` +
        `${bare.length === 0 ? '' : `on fake objects, in all: ${bare.map((t) => `${f(t.medianNs, 0)} ns`).join(' and ')}; `}` +
        `${counts.tokenRequests} token requests, ${counts.refreshRedemptions} refresh redemptions, ${counts.sessionWrites} session writes in ${counts.calls} calls`,
      verdict: slowest < 1000 && counts.tokenRequests === 0 && counts.refreshRedemptions === 0 ? 'met' : 'not met',
    });
  }
  const herd = r.session;
  const target = 'aadUserToken cold herd: one refresh redemption per session, 0 families revoked, 0 failed';
  if (herd === undefined) {
    checks.push({ target, measured: '—', verdict: 'not measured' });
  } else {
    const runs = herd.runs.filter((run) => run.gateway === 'U');
    const a = herd.gateways.A;
    const u = herd.gateways.U!;
    const exact = runs.every(
      (run) => run.redemptions === herd.sessions && run.familiesRevoked === 0 && run.reuseDetected === 0 && run.failed === 0 && run.store?.writes === herd.sessions && run.store.clears === 0,
    );
    checks.push({
      target,
      measured:
        `${herd.sessions} sessions × ${herd.requestsPerSession} concurrent requests, per run: ${runs.map((run) => `${run.redemptions} redemptions, ${run.familiesRevoked} revoked, ${run.store?.writes} session writes, ${run.failed} failed`).join('; ')}. ` +
        `Herd latency p50 ${f(u.p50, 1)} ms, p99 ${f(u.p99, 1)} ms${a === undefined ? '' : ` (A, no auth, same requests: p50 ${f(a.p50, 1)} ms, p99 ${f(a.p99, 1)} ms)`}`,
      verdict: runs.length > 0 && exact ? 'met' : 'not met',
    });
  }
  return checks;
}

/** Issue 11: one exchange and one RS256 verification per user token, none per request once a user is warm. */
function onBehalfOfTargets(r: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const obo = r.obo;
  if (obo === undefined) {
    checks.push({ target: 'O: exactly 1 token request per user token', measured: '—', verdict: 'not measured' });
  } else {
    const exact = obo.processes.every(
      (p) => p.firstRequestsFailed === 0 && p.tokenRequests === obo.users && p.providerTokenRequests === obo.users && p.tokenRequestsAfterWarmUp === obo.users,
    );
    checks.push({
      target: `O: exactly 1 token request per user token (${obo.users} users)`,
      measured: `per process, emulator / provider: ${obo.processes.map((p) => `${p.tokenRequests} / ${p.providerTokenRequests}`).join('; ')} (after every user's first request: ${obo.processes.map((p) => p.tokenRequestsAfterWarmUp).join(', ')}; first requests failed: ${obo.processes.map((p) => p.firstRequestsFailed).join(', ')})`,
      verdict: exact ? 'met' : 'not met',
    });
  }
  const hot = r.hot?.obo;
  const warm = r.hot?.tasks.filter((t) => t.name.startsWith('aadOnBehalfOf')) ?? [];
  if (obo === undefined && hot === undefined) {
    checks.push({ target: 'O: no RS256 verification per request with a warm user', measured: '—', verdict: 'not measured' });
  } else {
    const parts: string[] = [];
    let met = true;
    if (obo !== undefined) {
      parts.push(`steady load: ${obo.processes.map((p) => p.verifications).join(', ')} verifications per process for ${obo.users} users`);
      met &&= obo.processes.every((p) => p.verifications === obo.users);
    }
    if (hot !== undefined) {
      parts.push(`hot path: ${hot.verifications} verifications and ${hot.tokenRequests} token requests in ${hot.calls} calls (${warm.map((t) => `${t.name.replace('aadOnBehalfOf, ', '')}: ${f(t.medianNs, 0)} ns`).join('; ')})`);
      met &&= hot.verifications === 0 && hot.tokenRequests === 0;
    }
    checks.push({ target: 'O: no RS256 verification per request with a warm user', measured: parts.join('; '), verdict: met ? 'met' : 'not met' });
  }
  return checks;
}
