import { context, metrics, trace, SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import request from 'supertest';
import { AadBackendAuthError, createTokenProvider } from '../../lib/index.js';
import { DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, startEntraEmulator, type EntraEmulator } from '../../lib/testing/index.js';
import { bearer, emulatorOptions, startStack, type Stack } from '../helpers/setup.js';

/** An in-memory reader: `collect()` on demand, cumulative, nothing exported anywhere. */
class InMemoryReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
  async metrics(): Promise<MetricData[]> {
    const { resourceMetrics, errors } = await this.collect();
    expect(errors).to.deep.equal([]);
    return resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'aad-backend-auth').flatMap((s) => s.metrics);
  }
}

const TARGET = `${DEFAULT_TENANT_ID} api://orders/.default`;

function points(all: MetricData[], name: string): DataPoint<unknown>[] {
  const metric = all.find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as DataPoint<unknown>[];
}

/** The counter's value for exactly these attributes (0 when absent). */
function counted(all: MetricData[], name: string, attributes: Attributes = {}): number {
  const point = points(all, name).find((p) => JSON.stringify(p.attributes) === JSON.stringify(attributes));
  return (point?.value as number | undefined) ?? 0;
}

function spansNamed(exporter: InMemorySpanExporter): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === 'aad_backend_auth.token_request');
}

describe('OpenTelemetry metrics and traces (the real SDK, in memory)', function () {
  this.timeout(30_000);
  let reader: InMemoryReader;
  let meterProvider: MeterProvider;
  let spans: InMemorySpanExporter;
  let tracerProvider: BasicTracerProvider;
  let contextManager: AsyncLocalStorageContextManager;
  let stack: Stack | undefined;
  let idp: EntraEmulator | undefined;
  /** Every raw token seen in a test, to prove no recorded value holds one. */
  const tokens: string[] = [];

  before(() => {
    // Ours alone, whatever an earlier file in the same run registered.
    metrics.disable();
    trace.disable();
    context.disable();
    reader = new InMemoryReader();
    meterProvider = new MeterProvider({ readers: [reader] });
    expect(metrics.setGlobalMeterProvider(meterProvider)).to.equal(true);
    spans = new InMemorySpanExporter();
    tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    expect(trace.setGlobalTracerProvider(tracerProvider)).to.equal(true);
    contextManager = new AsyncLocalStorageContextManager().enable();
    expect(context.setGlobalContextManager(contextManager)).to.equal(true);
  });

  after(async () => {
    // Everything recorded in this file, in one piece: no secret, no token.
    const recorded = JSON.stringify({
      metrics: await reader.metrics(),
      spans: spans.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links })),
    });
    expect(recorded).to.not.include(DEFAULT_CLIENT_SECRET);
    expect(tokens.length).to.be.greaterThan(2);
    for (const token of tokens) {
      expect(recorded).to.not.include(token);
      expect(recorded).to.not.include(token.split('.')[2]!);
    }
    metrics.disable();
    trace.disable();
    context.disable();
    await meterProvider.shutdown();
    await tracerProvider.shutdown();
  });

  // Metrics are cumulative for the whole file, so each test compares readings before and after.
  beforeEach(() => spans.reset());
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
    await idp?.close();
    idp = undefined;
  });

  it('counts cold requests, waits and cache hits, times the token request and traces it under the active span', async () => {
    const before = await reader.metrics();
    stack = await startStack();
    const cold = await Promise.all(Array.from({ length: 4 }, () => request(stack!.gateway.url).get('/api/orders')));
    expect(cold.map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);
    for (let i = 0; i < 3; i++) expect((await request(stack.gateway.url).get('/api/orders')).status).to.equal(200);
    tokens.push(...stack.backend.received.map((r) => bearer(r.headers.authorization)!));

    const after = await reader.metrics();
    const success = { outcome: 'success', 'aad_backend_auth.grant': 'client_credentials' };
    expect(counted(after, 'aad_backend_auth.token.requests', success) - counted(before, 'aad_backend_auth.token.requests', success)).to.equal(1);
    expect(counted(after, 'aad_backend_auth.token.waits') - counted(before, 'aad_backend_auth.token.waits')).to.equal(4);
    expect(counted(after, 'aad_backend_auth.cache.hits') - counted(before, 'aad_backend_auth.cache.hits')).to.equal(3);
    expect(stack.auth.tokenProvider.stats()).to.include({ tokenRequests: 1, waits: 4, cacheHits: 3 });

    const durationMetric = after.find((m) => m.descriptor.name === 'aad_backend_auth.token.request.duration')!;
    expect(durationMetric.descriptor.unit).to.equal('s');
    expect(durationMetric.dataPointType).to.equal(DataPointType.HISTOGRAM);
    const histogram = durationMetric.dataPoints.find((p) => JSON.stringify(p.attributes) === JSON.stringify(success))!.value as Histogram;
    expect(histogram.count).to.be.at.least(1);
    expect(histogram.sum).to.be.greaterThan(0).and.lessThan(5);
    for (const [name, unit] of [
      ['aad_backend_auth.token.requests', '{request}'],
      ['aad_backend_auth.cache.hits', '{request}'],
      ['aad_backend_auth.token.waits', '{request}'],
      ['aad_backend_auth.token.expires_in', 's'],
    ] as const) {
      expect(after.find((m) => m.descriptor.name === name)?.descriptor.unit, name).to.equal(unit);
    }

    // The gauge: one point for this target, about the emulator's default lifetime (3599 s).
    const gauge = after.find((m) => m.descriptor.name === 'aad_backend_auth.token.expires_in')!;
    expect(gauge.dataPointType).to.equal(DataPointType.GAUGE);
    const ours = gauge.dataPoints.filter((p) => p.attributes['aad_backend_auth.target'] === TARGET);
    expect(ours).to.have.length(1);
    expect(ours[0]!.value as number).to.be.within(3590, 3600);

    const [span, ...others] = spansNamed(spans);
    expect(others).to.have.length(0);
    expect(span!.kind).to.equal(SpanKind.CLIENT);
    expect(span!.attributes).to.deep.equal({
      'aad_backend_auth.target': TARGET,
      'aad_backend_auth.grant': 'client_credentials',
      'aad_backend_auth.attempts': 1,
      'server.address': '127.0.0.1',
    });
    expect(span!.status.code).to.equal(SpanStatusCode.UNSET);

    // Under the request that waited: a provider of its own, called inside an active span.
    spans.reset();
    const provider = createTokenProvider(emulatorOptions(stack.idp, { resource: 'api://inventory' }));
    const tracer = trace.getTracer('test');
    const parentId = await tracer.startActiveSpan('incoming request', async (parent) => {
      tokens.push((await provider.getToken()).token);
      parent.end();
      return parent.spanContext();
    });
    await provider.close();
    const child = spansNamed(spans)[0]!;
    expect(child.spanContext().traceId).to.equal(parentId.traceId);
    expect(child.parentSpanContext?.spanId).to.equal(parentId.spanId);
  });

  it('records each attempt of a retried request, with error.type and an error status on the failed one', async () => {
    stack = await startStack();
    stack.idp.fail({ kind: 'status', status: 503 }, 1);
    const before = await reader.metrics();
    expect((await request(stack.gateway.url).get('/api/orders')).status).to.equal(200);
    tokens.push(bearer(stack.backend.received[0]!.headers.authorization)!);
    const after = await reader.metrics();
    const failed = { outcome: 'failure', 'error.type': 'ERR_IDP_UNAVAILABLE', 'aad_backend_auth.grant': 'client_credentials' };
    expect(counted(after, 'aad_backend_auth.token.requests', failed) - counted(before, 'aad_backend_auth.token.requests', failed)).to.equal(1);

    const [first, second] = spansNamed(spans);
    expect(first!.attributes).to.include({ 'aad_backend_auth.attempts': 1, 'error.type': 'ERR_IDP_UNAVAILABLE' });
    expect(first!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'ERR_IDP_UNAVAILABLE' });
    expect(second!.attributes).to.include({ 'aad_backend_auth.attempts': 2 });
    expect(second!.attributes).to.not.have.property('error.type');
    expect(second!.status.code).to.equal(SpanStatusCode.UNSET);
  });

  it('counts an IdP refusal as a failure with its code; the answer is 502 and nothing is forwarded', async () => {
    stack = await startStack();
    stack.idp.fail({ kind: 'oauth-error', error: 'invalid_client' }, Infinity);
    const before = await reader.metrics();
    expect((await request(stack.gateway.url).get('/api/orders')).status).to.equal(502);
    expect(stack.backend.received).to.have.length(0);
    const after = await reader.metrics();
    const refused = { outcome: 'failure', 'error.type': 'ERR_IDP_REJECTED', 'aad_backend_auth.grant': 'client_credentials' };
    expect(counted(after, 'aad_backend_auth.token.requests', refused) - counted(before, 'aad_backend_auth.token.requests', refused)).to.equal(1);
    const [span] = spansNamed(spans);
    expect(span!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(span!.attributes['error.type']).to.equal('ERR_IDP_REJECTED');
  });

  it('traces a background refresh on its own, not under the request that started it; the gauge follows the new token', async () => {
    stack = await startStack({ emulator: { tokenLifetimeSeconds: 2 } });
    const provider = stack.auth.tokenProvider;
    tokens.push((await provider.getToken()).token);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the half-life: the next use refreshes
    spans.reset();
    const tracer = trace.getTracer('test');
    const parent = tracer.startActiveSpan('incoming request', (span) => {
      expect(provider.peek()).to.not.equal(undefined);
      tokens.push(provider.peek()!.token);
      const served = provider.getToken();
      span.end();
      return { served, id: span.spanContext() };
    });
    tokens.push((await parent.served).token);
    await waitFor(() => provider.stats().tokenRequests === 2);
    await waitFor(() => spansNamed(spans).length === 1);
    const refresh = spansNamed(spans)[0]!;
    expect(refresh.parentSpanContext).to.equal(undefined);
    expect(refresh.spanContext().traceId).to.not.equal(parent.id.traceId);
    tokens.push(provider.peek()!.token);

    const gauge = (await reader.metrics()).find((m) => m.descriptor.name === 'aad_backend_auth.token.expires_in')!;
    const ours = gauge.dataPoints.filter((p) => p.attributes['aad_backend_auth.target'] === TARGET);
    expect(ours).to.have.length(1);
    expect(ours[0]!.value as number).to.be.within(1, 2.1);
  });

  it("labels a credential's token requests with the credential grant, and no server.address", async () => {
    const raw = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJjcmVkZW50aWFsIn0.credential-token-signature';
    tokens.push(raw);
    const credential = { getToken: async () => ({ token: raw, expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const provider = createTokenProvider({ credential, tenantId: DEFAULT_TENANT_ID, resource: 'api://by-credential' });
    const before = await reader.metrics();
    expect((await provider.getToken()).token).to.equal(raw);
    const after = await reader.metrics();
    const success = { outcome: 'success', 'aad_backend_auth.grant': 'credential' };
    expect(counted(after, 'aad_backend_auth.token.requests', success) - counted(before, 'aad_backend_auth.token.requests', success)).to.equal(1);
    const [span] = spansNamed(spans);
    expect(span!.attributes).to.deep.equal({
      'aad_backend_auth.target': `${DEFAULT_TENANT_ID} api://by-credential/.default`,
      'aad_backend_auth.grant': 'credential',
      'aad_backend_auth.attempts': 1,
    });
    await provider.close();
  });

  it('stops observing a closed provider (a cumulative reader may keep its last value, but never a new one)', async () => {
    idp = await startEntraEmulator();
    const provider = createTokenProvider(emulatorOptions(idp, { resource: 'api://closing' }));
    tokens.push((await provider.getToken()).token);
    const label = `${DEFAULT_TENANT_ID} api://closing/.default`;
    const observed = async (): Promise<number[]> =>
      points(await reader.metrics(), 'aad_backend_auth.token.expires_in')
        .filter((p) => p.attributes['aad_backend_auth.target'] === label)
        .map((p) => p.value as number);
    const [first] = await observed();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const [second] = await observed();
    expect(second).to.be.lessThan(first!); // observed afresh at each collection
    await provider.close();
    const [atClose] = await observed();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const afterClose = await observed();
    expect(afterClose.length === 0 || afterClose[0] === atClose).to.equal(true);
  });
});

describe('ready() and health()', function () {
  this.timeout(30_000);
  let idp: EntraEmulator;
  beforeEach(async () => {
    idp = await startEntraEmulator({ tokenLifetimeSeconds: 2 });
  });
  afterEach(() => idp.close());

  it('is ok before any attempt; ready() fetches a token and warms the cache', async () => {
    const provider = createTokenProvider(emulatorOptions(idp));
    expect(provider.health()).to.deep.equal({ status: 'ok', targets: { ok: 1, degraded: 0, failing: 0 }, lastErrorCode: undefined, tokenExpiresOnTimestamp: undefined });
    expect(provider.peek()).to.equal(undefined);
    expect(await provider.ready()).to.equal(undefined);
    expect(provider.peek()).to.not.equal(undefined);
    const health = provider.health();
    expect(health.status).to.equal('ok');
    expect(health.tokenExpiresOnTimestamp).to.equal(provider.peek()!.expiresOnTimestamp);
    await provider.ready();
    expect(provider.stats().tokenRequests).to.equal(1);
    await provider.close();
    expect(provider.health()).to.include({ status: 'failing', lastErrorCode: 'ERR_CLOSED' });
  });

  it('rejects ready() with the AadBackendAuthError and reports failing when the IdP refuses', async () => {
    idp.fail({ kind: 'oauth-error', error: 'invalid_client' }, Infinity);
    const provider = createTokenProvider(emulatorOptions(idp));
    const error = await provider.ready().then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(AadBackendAuthError);
    expect((error as AadBackendAuthError).code).to.equal('ERR_IDP_REJECTED');
    expect(provider.health()).to.deep.equal({ status: 'failing', targets: { ok: 0, degraded: 0, failing: 1 }, lastErrorCode: 'ERR_IDP_REJECTED', tokenExpiresOnTimestamp: undefined });
    const health = JSON.stringify(provider.health());
    expect(health).to.not.include(DEFAULT_CLIENT_SECRET);
    await provider.close();
  });

  it('reports degraded while it serves a cached token and the refresh fails, and ok again after a new token', async () => {
    const provider = createTokenProvider(emulatorOptions(idp, { timeoutMs: 300 }));
    await provider.ready();
    idp.fail({ kind: 'status', status: 503 }, Infinity);
    await new Promise((resolve) => setTimeout(resolve, 1050));
    await provider.getToken(); // the cached token, and a background refresh that fails
    await waitFor(() => provider.stats().failures === 1);
    const degraded = provider.health();
    expect(degraded).to.include({ status: 'degraded', lastErrorCode: 'ERR_IDP_UNAVAILABLE' });
    expect(degraded.targets).to.deep.equal({ ok: 0, degraded: 1, failing: 0 });
    idp.heal();
    // Once the cached token is no longer usable, ready() fetches a new one.
    await new Promise((resolve) => setTimeout(resolve, 800));
    await provider.ready();
    expect(provider.health().status).to.equal('ok');
    await provider.close();
  });

  it('gives up after timeoutMs with ERR_IDP_UNAVAILABLE, while the token request carries on for the next probe', async () => {
    idp.fail({ kind: 'latency', ms: 400 }, 1);
    const provider = createTokenProvider(emulatorOptions(idp));
    const error = (await provider.ready({ timeoutMs: 50 }).catch((e: unknown) => e)) as AadBackendAuthError;
    expect(error).to.be.instanceOf(AadBackendAuthError);
    expect(error).to.include({ code: 'ERR_IDP_UNAVAILABLE', status: 503, transient: true });
    await waitFor(() => provider.peek() !== undefined);
    await provider.ready({ timeoutMs: 50 });
    expect(provider.stats().tokenRequests).to.equal(1);
    await provider.close();
  });

  it('needs a request with per-request targets, and summarises every target held', async () => {
    const provider = createTokenProvider(emulatorOptions(idp, { resource: (req) => `api://${String(req.headers['x-api'])}` }));
    const error = (await provider.ready().catch((e: unknown) => e)) as AadBackendAuthError;
    expect(error).to.include({ code: 'ERR_INVALID_OPTION' });
    expect(error.message).to.include('"req"');
    const orders = { headers: { 'x-api': 'orders' } } as never;
    await provider.ready({ req: orders });
    expect(provider.peek(orders)).to.not.equal(undefined);
    expect(provider.health().targets).to.deep.equal({ ok: 1, degraded: 0, failing: 0 });
    const badTimeout = (await provider.ready({ req: orders, timeoutMs: 0 }).catch((e: unknown) => e)) as AadBackendAuthError;
    expect(badTimeout).to.include({ code: 'ERR_INVALID_OPTION' });
    await provider.close();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
