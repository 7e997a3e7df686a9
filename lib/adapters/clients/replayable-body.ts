/**
 * Which request bodies can be sent twice. A retry after a 401 sends the same body
 * again, which a stream cannot do: it has been read.
 */

/** Bodies `fetch` reads afresh on every call. */
export function isReplayableFetchBody(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  return (
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

/** What a `fetch(input, init)` call sends can be sent again: a replayable `init.body`, or a `Request` without a body. */
export function isReplayableFetchCall(input: unknown, init: { readonly body?: unknown } | undefined): boolean {
  if (init !== undefined && init.body !== undefined) return isReplayableFetchBody(init.body);
  // A Request's body is a stream, used up by the first call.
  return !(input instanceof Request) || input.body === null;
}

/** Data axios serialises afresh on every call: the fetch bodies, and plain objects and arrays (sent as JSON). */
export function isReplayableAxiosData(data: unknown): boolean {
  if (isReplayableFetchBody(data)) return true;
  if (typeof data !== 'object' || data === null) return false;
  if (Array.isArray(data)) return true;
  const prototype: unknown = Object.getPrototypeOf(data);
  return prototype === Object.prototype || prototype === null;
}
