import { AadBackendAuthError } from '../core/errors.js';
import type { Awaitable } from '../core/types.js';
import { JWT_BEARER_ASSERTION_TYPE, prepareCertificate, signClientAssertion, type PreparedCertificate } from './client-assertion.js';
import { basicForms, formEncode, scrubber, secretForms } from './scrub.js';
import { createFormPoster, type ReadAnswer, type RefineRejection } from './token-request.js';
import type { OutboundAgents } from './outbound-agent.js';
import type { FetchedToken } from './token-source.js';

/** How the client proves who it is; every value is read again for each token request. */
export type ClientCredential =
  | { readonly method: 'client_secret_post' | 'client_secret_basic'; readonly secret: () => Awaitable<unknown> }
  | { readonly method: 'private_key_jwt'; readonly certificate: () => Awaitable<unknown> }
  | { readonly method: 'client_assertion'; readonly assertion: () => Awaitable<unknown> };

/** What a grant adds to one token request beyond its form. */
export interface GrantRequestOptions {
  /** Values of the grant's form that must never show (the user's token of on-behalf-of), scrubbed like the credential. */
  readonly secrets?: readonly string[] | undefined;
  /** The grant's own mapping of 4xx answers, read before the generic one. */
  readonly refine?: RefineRejection | undefined;
  /** The grant's reading of a token answer's other members (a rotated `refresh_token`). */
  readonly readAnswer?: ReadAnswer | undefined;
}

/**
 * Sends a grant's form to a token endpoint with the client's authentication, and
 * interprets the answer. Reusable by any grant (client credentials, on-behalf-of).
 */
export interface TokenRequester {
  /**
   * `form` holds the grant's own fields (grant_type, scope, ...); `client_id` and the
   * credential are added here, on a copy. Rejects only with an `AadBackendAuthError`.
   */
  postTokenRequest(form: URLSearchParams, endpoint: string, signal: AbortSignal, grant?: GrantRequestOptions): Promise<FetchedToken>;
}

/** What one read of the credential gave: how to apply it, what to scrub, and how to tell a rotation. */
interface Material {
  /** Equal for the same secret, certificate or assertion; compared only, never shown. */
  readonly identity: string;
  apply(form: URLSearchParams, headers: Record<string, string>, endpoint: string): Promise<void>;
  readonly secrets: readonly string[];
}

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
export function basicAuthorization(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`, 'utf8').toString('base64')}`;
}

function unavailable(what: string): AadBackendAuthError {
  // The thrown error is not kept: a vault client's message may quote anything.
  return new AadBackendAuthError('ERR_SECRET_UNAVAILABLE', `The ${what} could not be read for the token request`);
}

/** Waits for a user function, but never past the request's deadline. */
async function read(what: string, fn: () => Awaitable<unknown>, signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) throw unavailable(what);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(unavailable(`${what} (timed out)`));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([Promise.resolve().then(fn), aborted]);
  } catch (error) {
    throw error instanceof AadBackendAuthError ? error : unavailable(what);
  } finally {
    signal.removeEventListener('abort', onAbort!);
    aborted.catch(() => {});
  }
}

function nonEmpty(what: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw unavailable(`${what} (not a non-empty string)`);
  return value;
}

async function readMaterial(credential: ClientCredential, clientId: string, signal: AbortSignal, cache: Map<unknown, PreparedCertificate>): Promise<Material> {
  switch (credential.method) {
    case 'client_secret_post': {
      const secret = nonEmpty('clientSecret', await read('clientSecret', credential.secret, signal));
      return {
        identity: secret,
        secrets: secretForms(secret),
        apply: async (form) => {
          form.set('client_id', clientId);
          form.set('client_secret', secret);
        },
      };
    }
    case 'client_secret_basic': {
      const secret = nonEmpty('clientSecret', await read('clientSecret', credential.secret, signal));
      const authorization = basicAuthorization(clientId, secret);
      return {
        identity: secret,
        secrets: [...secretForms(secret), ...basicForms(authorization)],
        apply: async (_form, headers) => {
          headers.authorization = authorization;
        },
      };
    }
    case 'private_key_jwt': {
      const value = await read('clientCertificate', credential.certificate, signal);
      let prepared = cache.get(value);
      if (prepared === undefined) {
        const result = prepareCertificate(value);
        if (typeof result === 'string') throw unavailable(`clientCertificate (it ${result})`);
        prepared = result;
        // One entry: the last value the function gave, so a function returning the same object signs without re-parsing.
        cache.clear();
        cache.set(value, prepared);
      }
      const certificate = prepared;
      const secrets: string[] = [];
      return {
        identity: certificate.thumbprintS256,
        secrets,
        apply: async (form, _headers, endpoint) => {
          const assertion = await signClientAssertion(certificate, clientId, endpoint);
          secrets.push(assertion, assertion.slice(assertion.lastIndexOf('.') + 1));
          form.set('client_id', clientId);
          form.set('client_assertion_type', JWT_BEARER_ASSERTION_TYPE);
          form.set('client_assertion', assertion);
        },
      };
    }
    case 'client_assertion': {
      const assertion = nonEmpty('clientAssertion', await read('clientAssertion', credential.assertion, signal)).trim();
      return {
        identity: assertion,
        secrets: [assertion, assertion.slice(assertion.lastIndexOf('.') + 1)],
        apply: async (form) => {
          form.set('client_id', clientId);
          form.set('client_assertion_type', JWT_BEARER_ASSERTION_TYPE);
          form.set('client_assertion', assertion);
        },
      };
    }
  }
}

/** `invalid_client` (Entra: AADSTS7000215 wrong secret, 7000222 expired secret, 700027 bad assertion) may mean a rotation. */
function mayBeRotation(error: unknown): boolean {
  return error instanceof AadBackendAuthError && error.code === 'ERR_IDP_REJECTED' && error.oauth?.error === 'invalid_client';
}

/**
 * Builds the {@link TokenRequester} for one client. The credential is read for
 * every token request; when the IdP answers `invalid_client`, it is read once
 * more at once, and the request is retried if the value changed, so that a
 * rotation never costs an outage.
 */
export function createTokenRequester(clientId: string, credential: ClientCredential, agents: OutboundAgents): TokenRequester {
  const post = createFormPoster(agents);
  const certificates = new Map<unknown, PreparedCertificate>();

  async function attempt(material: Material, form: URLSearchParams, endpoint: string, signal: AbortSignal, grant: GrantRequestOptions | undefined): Promise<FetchedToken> {
    const body = new URLSearchParams(form);
    const headers: Record<string, string> = {};
    await material.apply(body, headers, endpoint);
    const secrets = grant?.secrets === undefined ? material.secrets : [...material.secrets, ...grant.secrets];
    return post(endpoint, body, headers, signal, scrubber(secrets), grant?.refine, grant?.readAnswer);
  }

  return {
    async postTokenRequest(form, endpoint, signal, grant) {
      const first = await readMaterial(credential, clientId, signal, certificates);
      try {
        return await attempt(first, form, endpoint, signal, grant);
      } catch (error) {
        if (!mayBeRotation(error)) throw error;
        const second = await readMaterial(credential, clientId, signal, certificates);
        if (second.identity === first.identity) throw error;
        return attempt(second, form, endpoint, signal, grant);
      }
    },
  };
}
