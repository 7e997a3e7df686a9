import type { FetchImplementation } from 'jose';
import type { OutboundAgents } from './outbound-agent.js';
import { createTokenHttp } from './token-request.js';

/** A key set with many x5c chains is larger than a token answer; nothing honest comes near this. */
const MAX_KEY_SET_BYTES = 256 * 1024;

/**
 * A fetch for jose's `createRemoteJWKSet` that leaves through the same agents as token
 * requests (proxy, CA, loopback direct), with no redirects and a bounded body. Only what
 * jose needs: a GET, a status, and a body when the status is 200.
 */
export function outboundFetch(agents: OutboundAgents): FetchImplementation {
  const http = createTokenHttp();
  return async (url, { headers, signal }) => {
    const { httpAgent, httpsAgent } = agents.forUrl(url);
    try {
      const response = await http.get<string>(url, {
        signal,
        headers: Object.fromEntries(headers.entries()),
        httpAgent,
        httpsAgent,
        maxContentLength: MAX_KEY_SET_BYTES,
      });
      const body = response.status === 200 && typeof response.data === 'string' ? response.data : null;
      return new Response(body, { status: response.status });
    } catch (error) {
      // jose maps a TimeoutError to JWKSTimeout; axios would report its own cancellation instead.
      if (signal.aborted) throw signal.reason;
      throw error;
    }
  };
}
