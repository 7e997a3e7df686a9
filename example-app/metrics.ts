/**
 * The example's `/metrics`: the OpenTelemetry SDK with a Prometheus reader, registered
 * globally BEFORE the middleware is created (a provider's meter is fixed when it is made).
 * In your own app, do this once at start-up, before `aadBackendAuth(...)`:
 *
 *   const exporter = new PrometheusExporter({ preventServerStart: true });
 *   metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
 *   app.get('/metrics', (req, res) => exporter.getMetricsRequestHandler(req, res));
 */
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntraEmulator } from '../lib/testing/index.js';

export interface ExampleMetrics {
  /** Answers `GET /metrics` in the Prometheus text format. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** Counts what the local emulator received, so `/metrics` shows both sides of each token request. */
  observeEmulator(emulator: EntraEmulator): void;
  release(): Promise<void>;
}

interface Shared {
  readonly exporter: PrometheusExporter;
  readonly provider: MeterProvider;
  readonly emulators: Set<EntraEmulator>;
  users: number;
}

/** Tests start several examples in one process, and the global provider can be set once: they share it. */
let shared: Shared | undefined;

function start(): Shared {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  // False when the app already registered one: that one then gets the middleware's metrics.
  metrics.setGlobalMeterProvider(provider);
  const emulators = new Set<EntraEmulator>();
  provider
    .getMeter('aad-backend-auth-example')
    .createObservableCounter('example.entra_emulator.token_requests', {
      unit: '{request}',
      description: 'Token requests the local Entra ID emulator received',
    })
    .addCallback((result) => {
      let count = 0;
      for (const emulator of emulators) count += emulator.tokenRequests.length;
      if (emulators.size > 0) result.observe(count);
    });
  return { exporter, provider, emulators, users: 0 };
}

export function acquireExampleMetrics(): ExampleMetrics {
  const metricsState = (shared ??= start());
  metricsState.users++;
  const mine = new Set<EntraEmulator>();
  let released = false;
  return {
    handler: (req, res) => metricsState.exporter.getMetricsRequestHandler(req, res),
    observeEmulator(emulator) {
      mine.add(emulator);
      metricsState.emulators.add(emulator);
    },
    async release() {
      if (released) return;
      released = true;
      for (const emulator of mine) metricsState.emulators.delete(emulator);
      if (--metricsState.users > 0) return;
      if (shared === metricsState) shared = undefined;
      metrics.disable();
      await metricsState.provider.shutdown();
    },
  };
}
