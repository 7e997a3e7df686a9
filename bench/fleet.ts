// How many token requests a fleet makes, with and without a shared Redis.
// N gateway processes (test/fixtures/fleet-gateway.ts) serve steady traffic for a
// few token lifetimes; each configuration has its own emulated IdP, which counts.
//
//   npm run bench:fleet -- [--instances 1,4,8] [--lifetime 12] [--lifetimes 4] [--burst 100] [--out bench/fleet-results.md]
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startEntraEmulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, type EntraEmulator } from '../lib/testing/index.js';
import { hit, startFleetInstance, type FleetInstance } from '../test/helpers/fleet.js';
import { redisServerPath, startRedisServer } from '../test/helpers/redis-server.js';
import { startBackend } from '../test/helpers/servers.js';

const { values: args } = parseArgs({
  options: {
    instances: { type: 'string', default: '1,4,8' },
    lifetime: { type: 'string', default: '12' },
    lifetimes: { type: 'string', default: '4' },
    'refresh-window': { type: 'string', default: '2' },
    burst: { type: 'string', default: '100' },
    'interval-ms': { type: 'string', default: '100' },
    out: { type: 'string', default: 'bench/fleet-results.md' },
  },
});
const sizes = args.instances.split(',').map(Number);
const lifetimeSeconds = Number(args.lifetime);
const lifetimes = Number(args.lifetimes);
const refreshWindowMs = Number(args['refresh-window']) * 1000;
const burst = Number(args.burst);
const intervalMs = Number(args['interval-ms']);
const IDP_LATENCY_MS = 150;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Configuration {
  readonly instances: number;
  readonly store: 'memory' | 'redis';
  readonly name: string;
  readonly idp: EntraEmulator;
  readonly members: FleetInstance[];
  cold: number;
  steady: number;
  requests: number;
  failed: number;
}

const binary = redisServerPath();
if (binary === undefined) {
  console.error('bench:fleet needs redis-server (Debian package: redis-server)');
  process.exit(1);
}
const started = Date.now();
const redis = await startRedisServer(binary);
const backend = await startBackend();
backend.server.keepAliveTimeout = 300_000; // no idle-socket close racing a busy proxy
const encryptionKey = randomBytes(32).toString('hex');
console.log(`starting ${Math.max(...sizes)} gateway processes...`);
const fleet = await Promise.all(
  Array.from({ length: Math.max(...sizes) }, (_, i) =>
    startFleetInstance({
      client: i % 2 === 0 ? 'redis' : 'ioredis',
      recommended: true,
      pubsub: true,
      express: 4,
      proxy: 3,
      redisUrl: redis.url,
      backendUrl: backend.url,
      encryptionKey,
    }),
  ),
);

const configurations: Configuration[] = [];
for (const instances of sizes) {
  for (const store of ['memory', 'redis'] as const) {
    const idp = await startEntraEmulator({ tokenLifetimeSeconds: lifetimeSeconds, latencyMs: IDP_LATENCY_MS });
    const name = `${store}-${instances}`;
    const members = fleet.slice(0, instances);
    const route = { path: `/${name}`, store, authorityHost: idp.url, tenantId: DEFAULT_TENANT_ID, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET };
    await Promise.all(members.map((m) => m.addRoute({ ...route, resource: `api://${name}`, refreshWindowMs })));
    configurations.push({ instances, store, name, idp, members, cold: 0, steady: 0, requests: 0, failed: 0 });
  }
}

const record = (config: Configuration, statuses: number[]): void => {
  config.requests += statuses.length;
  config.failed += statuses.filter((s) => s !== 200).length;
};

// One configuration at a time: 8 processes bursting at once on a small host starve
// each other (and Redis) for seconds, which no fleet spread over machines sees.
console.log(`cold burst: ${burst} concurrent requests per instance`);
for (const config of configurations) {
  const statuses = await Promise.all(config.members.map((m, i) => hit(`${m.url}/${config.name}/${i}`, burst)));
  record(config, statuses.flat());
  config.cold = config.idp.tokenRequests.length;
}

// Steady traffic for every configuration at once: the counts are per IdP, so they do not mix.

const steadyMs = lifetimes * lifetimeSeconds * 1000;
console.log(`steady traffic for ${lifetimes} token lifetimes of ${lifetimeSeconds} s: one request per instance every ${intervalMs} ms`);
const end = Date.now() + steadyMs;
await Promise.all(
  configurations.flatMap((config) =>
    config.members.map(async (member, i) => {
      while (Date.now() < end) {
        record(config, await hit(`${member.url}/${config.name}/${i}`, 1));
        await sleep(intervalMs);
      }
    }),
  ),
);
for (const config of configurations) config.steady = config.idp.tokenRequests.length - config.cold;

await Promise.all(fleet.map((m) => m.kill()));
await Promise.all(configurations.map((c) => c.idp.close()));
await backend.close();
await redis.stop();

const perLifetime = (c: Configuration) => (c.steady / lifetimes).toFixed(2);
const header = [
  '| instances | token cache | cold burst: token requests | steady: token requests per token lifetime | steady: token requests in total | requests served | failed |',
  '|---:|---|---:|---:|---:|---:|---:|',
];
const rows = configurations.map(
  (c) => `| ${c.instances} | ${c.store === 'redis' ? 'Redis (shared)' : 'memory (per process)'} | ${c.cold} | ${perLifetime(c)} | ${c.steady} | ${c.requests} | ${c.failed} |`,
);
const table = [...header, ...rows].join('\n');
console.log(`\n${table}\n`);

const cpu = cpus()[0]?.model ?? 'unknown';
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const report = `# Fleet benchmark: token requests with and without Redis

Written by \`npm run bench:fleet\` (bench/fleet.ts) on ${new Date(started).toISOString()}, aad-backend-auth ${pkg.version}.
Command: \`npm run bench:fleet -- --instances ${args.instances} --lifetime ${lifetimeSeconds} --lifetimes ${lifetimes} --refresh-window ${args['refresh-window']} --burst ${burst}\`
Machine: ${cpus().length} × ${cpu}, Node ${process.version}; load average at the end ${loadavg().map((n) => n.toFixed(2)).join(' ')}; run took ${Math.round((Date.now() - started) / 1000)} s.

Each instance is a gateway process (Express 4, http-proxy-middleware 3, aadBackendAuth), half on node-redis and half on
ioredis, sharing one local redis-server (encryption and pub/sub on). Each configuration has its own emulated Entra ID
(token lifetime ${lifetimeSeconds} s, ${IDP_LATENCY_MS} ms latency, \`refreshWindowMs\` ${refreshWindowMs} ms, so a token is refreshed
${lifetimeSeconds - refreshWindowMs / 1000} s after it was issued, as a 60-minute token is 55 minutes in with the default 5-minute window).

- **Cold burst:** ${burst} concurrent requests on every instance of the configuration at once, with no token anywhere (one configuration at a time).
- **Steady:** then one request per instance every ${intervalMs} ms for ${lifetimes} token lifetimes (${steadyMs / 1000} s), all configurations at once; token requests counted at each IdP.

${table}

Without Redis every process fetches and refreshes its own token, so the IdP load grows with the fleet (N per burst,
about N × lifetime / refresh period in steady state). With Redis the fleet makes one request per burst and one per
refresh period, whatever its size. These are counts, not timings: machine load does not change them beyond a
refresh landing just inside or outside the measured window.
`;
writeFileSync(args.out, report);
console.log(`written to ${args.out}`);
