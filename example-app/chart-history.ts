/**
 * What the page's live chart draws, kept by the BFF so a page opened late still sees
 * the last minutes: every second, the cached token's remaining lifetime and the
 * requests per second; a mark for each new token (refresh) and each failure.
 * Nothing in it is secret: times, counts and error codes.
 */
import type { RequestHandler } from 'express';
import type { AadBackendAuthError, TokenEvent, TokenProvider } from '../lib/index.js';

export interface ChartSample {
  readonly at: number;
  /** Seconds until the cached token expires; null when none is held. */
  readonly secondsLeft: number | null;
  /** Requests the middleware served (cache hits + waits) per second since the last sample. */
  readonly requestsPerSecond: number;
}

export interface ChartMark {
  readonly at: number;
  readonly kind: 'refresh' | 'failure';
  /** For a failure: the error code. */
  readonly code?: string;
}

export interface ChartHistory {
  readonly handler: RequestHandler;
  /** Takes a sample now (the timer does it every `sampleMs`). */
  sample(): void;
  close(): void;
}

export function createChartHistory(provider: TokenProvider, { sampleMs = 1000, keepMs = 5 * 60_000 } = {}): ChartHistory {
  const samples: ChartSample[] = [];
  const marks: ChartMark[] = [];
  let last = { at: Date.now(), requests: 0 };
  const trim = (now: number): void => {
    while (samples.length > 0 && samples[0]!.at < now - keepMs) samples.shift();
    while (marks.length > 0 && marks[0]!.at < now - keepMs) marks.shift();
  };
  const sample = (): void => {
    const now = Date.now();
    const stats = provider.stats();
    const requests = stats.cacheHits + stats.waits;
    const seconds = Math.max(0.001, (now - last.at) / 1000);
    const expiresOn = stats.tokenExpiresOnTimestamp;
    samples.push({
      at: now,
      secondsLeft: expiresOn === undefined ? null : Math.max(0, Math.round((expiresOn - now) / 100) / 10),
      requestsPerSecond: Math.round(((requests - last.requests) / seconds) * 10) / 10,
    });
    last = { at: now, requests };
    trim(now);
  };
  const onToken = (_event: TokenEvent): void => {
    marks.push({ at: Date.now(), kind: 'refresh' });
    sample();
  };
  const onError = (error: AadBackendAuthError): void => {
    marks.push({ at: Date.now(), kind: 'failure', code: error.code });
  };
  provider.on('token', onToken).on('error', onError);
  const timer = setInterval(sample, sampleMs);
  timer.unref();
  sample();

  return {
    handler: (_req, res) => {
      res.set('Cache-Control', 'no-store').json({ now: Date.now(), keepMs, samples, marks });
    },
    sample,
    close() {
      clearInterval(timer);
      provider.off('token', onToken).off('error', onError);
    },
  };
}
