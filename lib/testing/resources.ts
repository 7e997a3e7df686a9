import { stableGuid } from './tokens.js';
import type { EmulatorResource } from './types.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const API_GUID = /^api:\/\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** An API as the emulator issues tokens for it: its ids and its manifest's token version. */
export interface ApiRegistration {
  /** The App ID URI (the registered `audience`, or the identifier asked for when unregistered). */
  readonly audience: string;
  /** The API's application (client) id: `aud` of its v2 tokens. */
  readonly appId: string;
  /** The manifest's `accessTokenAcceptedVersion` (Entra's default, null, issues v1). */
  readonly version: 1 | 2;
  /** Whether the API configured the optional `idtyp` claim. */
  readonly idtyp: boolean;
  /** App roles granted per client id. */
  readonly appRoles: Readonly<Record<string, readonly string[]>>;
}

/** A registered app's own API (`api://<clientId>`): what `EmulatorClient.accessTokenVersion` describes. */
export interface ClientApi {
  readonly clientId: string;
  readonly version: 1 | 2;
}

/** The appId of an App ID URI Entra would have: the GUID of `api://<GUID>`, else a stable made-up GUID. */
export function defaultAppId(audience: string): string {
  return API_GUID.exec(audience)?.[1]?.toLowerCase() ?? (GUID.test(audience) ? audience.toLowerCase() : stableGuid(`app:${audience}`));
}

/** Checks one `resources` entry; returns its registration or throws a message naming the problem. */
export function registerResource(resource: EmulatorResource, fail: (rule: string) => never): ApiRegistration {
  if (typeof resource?.audience !== 'string' || resource.audience === '') fail('needs a non-empty "audience" in every entry');
  const { audience } = resource;
  if (audience.endsWith('/.default')) fail(`takes the audience without '/.default', got '${audience}'`);
  if (resource.appId !== undefined && (typeof resource.appId !== 'string' || !GUID.test(resource.appId))) {
    fail(`needs "appId" to be a GUID (the API's application id) for '${audience}'`);
  }
  if (resource.accessTokenVersion !== undefined && resource.accessTokenVersion !== 1 && resource.accessTokenVersion !== 2) {
    fail(`needs "accessTokenVersion" 1 or 2 for '${audience}'`);
  }
  if (resource.idtyp !== undefined && typeof resource.idtyp !== 'boolean') fail(`needs "idtyp" to be a boolean for '${audience}'`);
  for (const [clientId, roles] of Object.entries(resource.appRoles ?? {})) {
    if (!Array.isArray(roles) || roles.some((role) => typeof role !== 'string')) {
      fail(`needs an array of role names for client '${clientId}' of '${audience}'`);
    }
  }
  return {
    audience,
    appId: resource.appId?.toLowerCase() ?? defaultAppId(audience),
    version: resource.accessTokenVersion ?? 1,
    idtyp: resource.idtyp ?? false,
    appRoles: resource.appRoles ?? {},
  };
}

/**
 * Finds the API a scope or `resource` names, by App ID URI or by appId, as Entra does.
 * The version of every token comes from here: never from the endpoint.
 */
export class ApiDirectory {
  readonly #byId = new Map<string, ApiRegistration>();
  readonly #clientApis = new Map<string, ApiRegistration>();
  /** Whether `resources` was given: then other audiences are unknown (AADSTS500011). */
  readonly restricted: boolean;

  constructor(resources: readonly ApiRegistration[] | undefined, clientApis: readonly ClientApi[]) {
    this.restricted = resources !== undefined;
    for (const api of resources ?? []) {
      this.#byId.set(api.audience, api);
      this.#byId.set(api.appId, api);
    }
    for (const { clientId, version } of clientApis) {
      const api: ApiRegistration = { audience: `api://${clientId}`, appId: clientId, version, idtyp: false, appRoles: {} };
      this.#clientApis.set(api.audience, api);
      this.#clientApis.set(clientId, api);
    }
  }

  /** The registered resources (for `resources` lookups by tests). */
  get registered(): ApiRegistration[] {
    return [...new Set(this.#byId.values())];
  }

  /** The API `identifier` names, or `undefined` when `resources` is set and none matches. */
  find(identifier: string): ApiRegistration | undefined {
    const found = this.#byId.get(identifier) ?? this.#byId.get(identifier.toLowerCase());
    if (found !== undefined || this.restricted) return found;
    return this.describe(identifier);
  }

  /**
   * The API `identifier` names, known or not (user tokens need no registration): a
   * registered resource, a registered app's own API, or an unregistered API, which gets
   * Entra's default (v1) and a stable appId.
   */
  describe(identifier: string): ApiRegistration {
    return (
      this.#byId.get(identifier) ??
      this.#byId.get(identifier.toLowerCase()) ??
      this.#clientApis.get(identifier) ??
      { audience: identifier, appId: defaultAppId(identifier), version: 1, idtyp: false, appRoles: {} }
    );
  }
}
