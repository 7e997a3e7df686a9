/** Load from the parent process: autocannon through its API, every response timed to the microsecond. */
import autocannon from 'autocannon';

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  /** Seconds of load (ignored when `amount` is set). */
  readonly duration?: number;
  /** Stop after this many requests. */
  readonly amount?: number;
  /** Keep each request's start time (epoch ms), for the refresh-boundary windows. */
  readonly recordStarts?: boolean;
  /** `Authorization` header values, one per request in turn (each user's token, say). */
  readonly authorizations?: readonly string[];
  /** Extra headers, one set per request in turn (each session's cookie, say). */
  readonly headers?: readonly Readonly<Record<string, string>>[];
}

export interface LoadResult {
  /** 2xx answers. */
  readonly ok: number;
  /** Non-2xx answers, connection errors and timeouts. */
  readonly failed: number;
  readonly elapsedMs: number;
  /** 2xx answers per second of wall time. */
  readonly rps: number;
  /** Latency of each 2xx answer, ms (autocannon's own histogram rounds to whole ms). */
  readonly latencies: number[];
  /** When each of those requests started (epoch ms), if `recordStarts`. */
  readonly starts: number[];
}

/** autocannon builds each request through `setupRequest`: this one hands out the next set of headers. */
function rotatingHeaders(values: readonly Readonly<Record<string, string>>[]): autocannon.Request[] {
  let turn = 0;
  return [
    {
      setupRequest: (request: autocannon.Request) => {
        request.headers = { ...request.headers, ...values[turn++ % values.length]! };
        return request;
      },
    },
  ];
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const starts: number[] = [];
  const startedAt = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        // autocannon stops on its sampling tick: 100 ms keeps short rounds short.
        sampleInt: 100,
        ...(options.amount === undefined ? { duration: options.duration ?? 1 } : { amount: options.amount }),
        timeout: 30,
        ...(options.authorizations === undefined ? {} : { requests: rotatingHeaders(options.authorizations.map((authorization) => ({ authorization }))) }),
        ...(options.headers === undefined ? {} : { requests: rotatingHeaders(options.headers) }),
      },
      (error: unknown, res) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode > 299) return;
      latencies.push(responseTime);
      if (options.recordStarts === true) starts.push(Date.now() - responseTime);
    });
  });
  const elapsedMs = performance.now() - startedAt;
  const ok = latencies.length;
  return { ok, failed: result.non2xx + result.errors, elapsedMs, rps: (ok * 1000) / elapsedMs, latencies, starts };
}
