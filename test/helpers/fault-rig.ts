// One row of the fault matrix: a fresh middleware (own cache, own resource),
// a real backend and a real gateway, in front of a shared emulator.
import { expect } from 'chai';
import { aadBackendAuth, type AadBackendAuthMiddleware, type AadBackendAuthOptions } from '../../lib/index.js';
import { MemoryTokenCache } from '../../lib/provider/memory-cache.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { watchProcess } from './process-watch.js';
import { startGateway, type ExpressMajor, type Gateway, type ProxyMajor } from './gateway.js';
import { startBackend, type Backend } from './servers.js';

/** Short enough that hang and drip rows end quickly, long enough for a few retries. */
export const ROW_TIMEOUT_MS = 1000;

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** How long the gateway took to answer. */
  readonly ms: number;
  json(): Record<string, unknown>;
}

export interface Rig {
  readonly auth: AadBackendAuthMiddleware;
  readonly backend: Backend;
  readonly gateway: Gateway;
  /** Every line the middleware logged, prefixed with its level. */
  readonly logs: string[];
  /** The resource this row's tokens are for; unique per rig, so rows never share a token or a flight. */
  readonly resource: string;
  get(path?: string): Promise<Answer>;
  close(): Promise<void>;
}

export interface RigOptions {
  readonly auth?: Partial<AadBackendAuthOptions>;
  readonly express?: ExpressMajor;
  readonly proxy?: ProxyMajor;
}

let rigs = 0;

export async function startRig(idp: Pick<EntraEmulator, 'url'>, options: RigOptions = {}): Promise<Rig> {
  const logs: string[] = [];
  const resource = `api://fault-row-${++rigs}`;
  const auth = aadBackendAuth({
    tenantId: DEFAULT_TENANT_ID,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    authorityHost: idp.url,
    resource,
    cache: new MemoryTokenCache(),
    timeoutMs: ROW_TIMEOUT_MS,
    failureCooldownMs: 0,
    logger: {
      debug: (line) => logs.push(`debug: ${line}`),
      info: (line) => logs.push(`info: ${line}`),
      warn: (line) => logs.push(`warn: ${line}`),
      error: (line) => logs.push(`error: ${line}`),
    },
    ...options.auth,
  });
  const backend = await startBackend();
  const versions = { ...(options.express && { express: options.express }), ...(options.proxy && { proxy: options.proxy }) };
  const gateway = await startGateway([{ path: '/api', auth, target: backend.url }], versions);
  return {
    auth,
    backend,
    gateway,
    logs,
    resource,
    get: (path = '/api/data') => fetchAnswer(`${gateway.url}${path}`),
    async close() {
      await auth.tokenProvider.close();
      await gateway.close();
      await backend.close();
    },
  };
}

/** A GET with a generous client deadline, so a gateway that hangs fails the test with a message. */
export async function fetchAnswer(url: string): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, ms: Date.now() - started, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** The documented failure answer: problem+json with the code, and `Retry-After` on every 503. */
export function expectProblem(answer: Answer, status: 502 | 503, code: string): void {
  expect(answer.status, answer.text).to.equal(status);
  expect(answer.headers.get('content-type')).to.equal('application/problem+json');
  expect(answer.json()).to.include({ status, code });
  if (status === 503) expect(Number(answer.headers.get('retry-after'))).to.be.at.least(1);
  else expect(answer.headers.get('retry-after')).to.equal(null);
}

/** The raw token from an `Authorization: Bearer` header value. */
export function bearerOf(value: string | string[] | undefined): string {
  expect(value).to.be.a('string').that.match(/^Bearer /);
  return (value as string).slice('Bearer '.length);
}

/** Heals the IdP and proves the next request goes through with a token the IdP issued. */
export async function expectRecovery(idp: EntraEmulator, rig: Rig): Promise<void> {
  idp.heal();
  const before = rig.backend.received.length;
  const answer = await rig.get();
  expect(answer.status, answer.text).to.equal(200);
  expect(rig.backend.received).to.have.length(before + 1);
  const token = bearerOf(rig.backend.received.at(-1)!.headers.authorization);
  expect(idp.isIssued(token)?.audience).to.equal(rig.resource);
}

/** What a fault-matrix file shares between its rows: one emulator, and the rig of the row running. */
export interface FaultMatrix {
  readonly idp: EntraEmulator;
  rig: Rig | undefined;
}

/**
 * The mocha hooks of every fault-matrix file: one emulator per file, each row's rig closed after it,
 * and no unhandled rejection or uncaught exception allowed. `cleanUp` closes a row's own extra servers.
 */
export function useFaultMatrix(cleanUp?: () => Promise<void>): FaultMatrix {
  const watch = watchProcess();
  const matrix = { rig: undefined } as { idp: EntraEmulator; rig: Rig | undefined };
  before(async () => {
    watch.install();
    matrix.idp = await startEntraEmulator();
  });
  afterEach(async () => {
    await matrix.rig?.close();
    matrix.rig = undefined;
    await cleanUp?.();
    matrix.idp.reset();
    expect(await watch.take(), 'unhandled rejections or uncaught exceptions').to.deep.equal([]);
  });
  after(async () => {
    await matrix.idp.close();
    watch.uninstall();
  });
  return matrix;
}
