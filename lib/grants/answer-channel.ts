import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, TLSSocket } from 'node:tls';

/**
 * Why an answer that arrived on `socket` for `url` cannot be the endpoint's own, or `undefined`
 * when it is. Read when the answer's head arrives, while the socket is surely open.
 *
 * An https answer counts only when it came over a TLS socket whose handshake verified the
 * certificate chain (`authorized`) and whose certificate names the endpoint's host. This holds
 * whatever agent carried it (ours, `proxy`, a user's `agent`): an agent that replays a proxy's
 * refusal of `CONNECT` does so on a plain socket, and an agent that speaks TLS to the proxy itself
 * gets the proxy's certificate, not the IdP's. http is accepted only for loopback endpoints, which
 * are always reached directly, so it is not checked here.
 */
export function answerChannelProblem(socket: unknown, url: URL): string | undefined {
  if (url.protocol !== 'https:') return undefined;
  if (!(socket instanceof TLSSocket) || socket.encrypted !== true) {
    return 'not over a TLS connection to it (a proxy refusing CONNECT, or an agent that does not speak TLS to the endpoint)';
  }
  if (socket.authorized !== true) return 'over a TLS connection whose certificate was not verified';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const certificate = socket.getPeerCertificate();
  if (certificate !== null && Object.keys(certificate).length > 0) {
    return checkServerIdentity(host, certificate) === undefined ? undefined : `over a TLS connection whose certificate does not name ${host}`;
  }
  // A resumed session shows no certificate: it continues the agent's own verified handshake
  // for the same server name, and a refused connection's session is evicted (see below).
  if (!socket.isSessionReused()) return 'over a TLS connection without a peer certificate';
  const servername: unknown = socket.servername;
  const name = typeof servername === 'string' ? servername.toLowerCase() : '';
  return name === host || (name === '' && isIP(host) !== 0) ? undefined : `over a resumed TLS session for ${name.slice(0, 100) || 'no name'}, not ${host}`;
}

/** What {@link observeChannel} saw of the answer: its status and {@link answerChannelProblem}. */
export interface SeenAnswer {
  readonly status: number;
  readonly problem: string | undefined;
}

/** An axios `transport` that judges, for each answer, the socket it arrived on. */
export interface ObservedChannel {
  readonly transport: { request(options: https.RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest };
  /** The last answer's head as seen, or `undefined` when none arrived. */
  answer(): SeenAnswer | undefined;
}

export function observeChannel(url: URL): ObservedChannel {
  let seen: SeenAnswer | undefined;
  return {
    transport: {
      request(options, callback) {
        const request = (options.protocol === 'https:' ? https : http).request(options, callback);
        request.once('response', (response: http.IncomingMessage) => {
          seen = { status: response.statusCode ?? 0, problem: answerChannelProblem(response.socket, url) };
          // Not one byte of the body is read, and destroying with an error makes Node's https
          // agent evict the TLS session, so that a retry cannot resume it without a certificate.
          if (seen.problem !== undefined) response.socket.destroy(new Error("the answer is not the endpoint's own"));
        });
        return request;
      },
    },
    answer: () => seen,
  };
}
