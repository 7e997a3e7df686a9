// Four BFF processes share one real redis-server: node-redis and ioredis, with the
// README's settings and with the clients' defaults, with pub/sub and with polling.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator, type EntraEmulatorOptions } from '../../../lib/testing/index.js';
import { hit, startFleetInstance, type FleetGatewayConfig, type FleetInstance } from '../../helpers/fleet.js';
import { connectRedisClient, type TestRedisClient } from '../../helpers/redis-clients.js';
import { requireRedisServer, startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { startBackend, type Backend } from '../../helpers/servers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(condition).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const VARIANTS: readonly Omit<FleetGatewayConfig, 'redisUrl' | 'backendUrl' | 'encryptionKey'>[] = [
  { client: 'redis', recommended: true, pubsub: true, express: 4, proxy: 3 },
  { client: 'redis', recommended: false, pubsub: false, express: 5, proxy: 4 },
  { client: 'ioredis', recommended: true, pubsub: true, express: 5, proxy: 3 },
  { client: 'ioredis', recommended: false, pubsub: false, express: 4, proxy: 4 },
];

describe('a fleet of 4 gateway processes sharing one Redis', function () {
  this.timeout(30_000);
  let server: RedisServer;
  let admin: TestRedisClient;
  let backend: Backend;
  let fleet: FleetInstance[];
  const emulators: EntraEmulator[] = [];

  const emulator = async (options: EntraEmulatorOptions = {}) => {
    const started = await startEntraEmulator(options);
    emulators.push(started);
    return started;
  };
  /** Adds `/<name>` to every live instance, as a route to a resource of its own (a key of its own). */
  const route = async (name: string, idp: EntraEmulator, extra: { timeoutMs?: number } = {}) => {
    const live = fleet.filter((instance) => instance.process.exitCode === null && instance.process.signalCode === null);
    const options = { store: 'redis', authorityHost: idp.url, tenantId: DEFAULT_TENANT_ID, clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET } as const;
    await Promise.all(live.map((instance) => instance.addRoute({ path: `/${name}`, resource: `api://${name}`, ...options, ...extra })));
    return `${idp.url}|${DEFAULT_CLIENT_ID}|${DEFAULT_TENANT_ID}|api://${name}/.default`;
  };
  /** The Authorization headers that reached the backend from `/<name>/<name>-<i>` (the proxy strips the mount path). */
  const tokensSeen = (name: string, instance?: number) =>
    backend.received.filter((r) => r.url.startsWith(`/${name}-${instance ?? ''}`)).map((r) => r.headers.authorization);

  before(async function () {
    this.timeout(90_000);
    server = await startRedisServer(requireRedisServer(this));
    admin = await connectRedisClient('redis', server.url);
    backend = await startBackend();
    // Idle keep-alive sockets from a burst must not be closed under a busy proxy's feet.
    backend.server.keepAliveTimeout = 120_000;
    const encryptionKey = randomBytes(32).toString('hex');
    fleet = await Promise.all(VARIANTS.map((variant) => startFleetInstance({ ...variant, redisUrl: server.url, backendUrl: backend.url, encryptionKey })));
  });
  after(async () => {
    await Promise.all((fleet ?? []).map((instance) => instance.kill()));
    await admin?.close();
    await Promise.all(emulators.map((e) => e.close()));
    await backend?.close();
    await server?.stop();
  });

  it('250 concurrent cold requests on each instance make exactly 1 token request, and Redis holds it encrypted', async () => {
    const idp = await emulator({ latencyMs: 200 });
    const key = await route('cold', idp);
    const statuses = await Promise.all(fleet.map((instance, i) => hit(`${instance.url}/cold/cold-${i}`, 250)));
    expect(statuses.flat().filter((s) => s !== 200)).to.deep.equal([]);
    expect(idp.tokenRequests).to.have.length(1);
    const token = idp.issued[0]!.token;
    const seen = tokensSeen('cold');
    expect(seen).to.have.length(1000);
    expect(new Set(seen)).to.deep.equal(new Set([`Bearer ${token}`]));
    const stored = String(await admin.sendCommand('GET', `aad-backend-auth:token:${key}`));
    expect(stored).to.match(/^aes256gcm:/);
    expect(stored).not.to.include(token);
    expect(stored).not.to.include(token.split('.')[1]!);
  });

  it('a token refreshed by one instance is used by the others, with one token request per refresh', async () => {
    const idp = await emulator({ tokenLifetimeSeconds: 4 }); // refresh after 2 s, used until 3.6 s
    await route('refresh', idp);
    const statuses = await Promise.all(fleet.map((instance, i) => hit(`${instance.url}/refresh/refresh-${i}`, 5)));
    expect(idp.tokenRequests).to.have.length(1);
    await sleep(Math.max(0, idp.issued[0]!.issuedAt + 2100 - Date.now()));
    // Each instance now starts a background refresh; only one reaches the IdP, and all keep serving meanwhile.
    statuses.push(...(await Promise.all(fleet.map((instance, i) => hit(`${instance.url}/refresh/refresh-${i}`, 5)))));
    await until(() => idp.issued.length >= 2, 1500, 'the refreshed token');
    const fresh = `Bearer ${idp.issued[1]!.token}`;
    await until(
      async () => {
        statuses.push(...(await Promise.all(fleet.map((instance, i) => hit(`${instance.url}/refresh/refresh-${i}`, 2)))));
        return fleet.every((_, i) => tokensSeen('refresh', i).at(-1) === fresh);
      },
      1200,
      'every instance to forward the refreshed token',
    );
    expect(statuses.flat().filter((s) => s !== 200)).to.deep.equal([]);
    expect(idp.tokenRequests, 'one initial request and one refresh for the whole fleet').to.have.length(2);
  });

  it('killing Redis under load fails no request; after a restart the fleet shares tokens again', async () => {
    const idp = await emulator();
    await route('load', idp);
    let loading = true;
    const statuses: number[] = [];
    const load = Promise.all(
      fleet.map(async (instance, i) => {
        while (loading) statuses.push(...(await hit(`${instance.url}/load/load-${i}`, 20)));
      }),
    );
    await sleep(300);
    await server.kill();
    await sleep(300);

    // A target no instance has yet: each fetches its own, with local single flight.
    const downIdp = await emulator();
    await route('while-down', downIdp);
    const whileDown = await Promise.all(fleet.map((instance, i) => hit(`${instance.url}/while-down/while-down-${i}`, 50)));
    expect(whileDown.flat().filter((s) => s !== 200)).to.deep.equal([]);
    expect(downIdp.tokenRequests.length).to.be.within(1, fleet.length);
    // Every instance must have used Redis while it was down, whatever its one flight happened to send.
    for (let i = 0; i < 3; i++) await Promise.all(fleet.map((f) => f.health()));

    await server.restart();
    await until(async () => (await Promise.all(fleet.map((f) => f.health()))).every((h) => h.healthy && h.connected), 10_000, 'the fleet to use Redis again');
    loading = false;
    await load;
    expect(statuses.length).to.be.above(100);
    expect(statuses.filter((s) => s !== 200)).to.deep.equal([]);
    expect(idp.tokenRequests, 'the load route kept its in-process token').to.have.length(1);

    const afterIdp = await emulator({ latencyMs: 100 });
    await route('after-restart', afterIdp);
    const after = await Promise.all(fleet.map((instance, i) => hit(`${instance.url}/after-restart/after-restart-${i}`, 100)));
    expect(after.flat().filter((s) => s !== 200)).to.deep.equal([]);
    expect(afterIdp.tokenRequests, 'converged: one token request for the fleet again').to.have.length(1);
    for (const instance of fleet) {
      // One line when Redis went away and one when it came back (a CPU-starved instance may add a pair of its own).
      const levels = instance.logs.map((l) => l.level);
      expect(levels.join(' ')).to.match(/^(warn info ?){1,2}$/);
      expect(instance.logs.some((l) => /unavailable/.test(l.message))).to.equal(true);
    }
  });

  it('when the lock holder dies mid-fetch, the others proceed once the lock expires, within timeoutMs', async () => {
    const timeoutMs = 4000; // the lock lives max(1000, timeoutMs / 2) = 2000 ms
    const idp = await emulator();
    idp.fail({ kind: 'hang' });
    const key = await route('holder-dies', idp, { timeoutMs });
    const [victim, ...others] = fleet;
    const victimRequest = hit(`${victim!.url}/holder-dies/holder-dies-0`, 1);
    const lockName = `aad-backend-auth:lock:${key}`;
    await until(async () => (await admin.sendCommand('EXISTS', lockName)) === 1, 3000, 'the victim to take the lock');
    await until(() => idp.tokenRequests.length === 1, 3000, 'the victim to be mid-fetch');
    const lockLeftMs = Number(await admin.sendCommand('PTTL', lockName));

    const started = Date.now();
    const waiting = Promise.all(others.map((instance, i) => hit(`${instance.url}/holder-dies/holder-dies-${i + 1}`, 50)));
    await sleep(100);
    await victim!.kill();
    const statuses = await waiting;
    const tookMs = Date.now() - started;

    expect(statuses.flat().filter((s) => s !== 200)).to.deep.equal([]);
    expect(tookMs, 'they waited for the lock to expire').to.be.at.least(lockLeftMs - 150);
    expect(tookMs, 'within timeoutMs').to.be.below(timeoutMs);
    expect(idp.tokenRequests, "the dead holder's request and one more").to.have.length(2);
    expect(await victimRequest).to.deep.equal([0]);
  });
});
