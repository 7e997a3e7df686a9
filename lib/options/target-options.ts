import type { IncomingMessage } from 'node:http';
import { AadBackendAuthError, invalidOption } from '../core/errors.js';
import { frozenCopy } from '../core/option-checks.js';
import { targetKey, type TokenSource, type TokenTarget } from '../grants/token-source.js';
import { normalizeTenant, resourceProblem, resourceToScope, scopeToResource, scopesProblem, tenantProblem, toScopeList } from '../core/validation.js';
import { capabilitiesKey, parseClientCapabilities } from '../grants/token-request-claims.js';
import { check } from './checks.js';
import type { TargetSelector } from '../provider/provider-settings.js';
import type { EndpointKind } from './source-options.js';


type Fail = (option: string, problem: string) => Error;

const invalidTarget: Fail = (name, problem) => new AadBackendAuthError('ERR_INVALID_TARGET', `The per-request "${name}" ${problem}`);

/** Builds the function (or fixed value) that gives each request its tenant and scopes. */
export function selectTarget(o: Record<string, unknown>, source: TokenSource, endpoint: EndpointKind): TargetSelector {
  const hasResource = o.resource !== undefined;
  if (hasResource === (o.scope !== undefined)) throw invalidOption('resource', 'or "scope" must be set, but not both');
  const option = hasResource ? 'resource' : 'scope';
  const tenantOption = endpoint === 'entra-v2' || typeof o.tenantId === 'string' ? o.tenantId : undefined;
  // Read once: an array the caller changes later must not change what is asked for.
  // Capabilities change what is issued: providers with and without them never share a token.
  const capabilities = capabilitiesKey(parseClientCapabilities(o.clientCapabilities));
  const fixedValue = Array.isArray(o[option]) ? frozenCopy(o[option] as unknown[]) : o[option];

  const build = (tenantId: unknown, value: unknown, fail: Fail): TokenTarget => {
    if (tenantId !== undefined) {
      const problem = tenantProblem(tenantId);
      if (problem !== undefined) throw fail('tenantId', problem);
    }
    let scopes: readonly string[];
    if (hasResource) {
      const problem = resourceProblem(value);
      if (problem !== undefined) throw fail('resource', problem);
      scopes = [resourceToScope(value as string)];
    } else {
      const list = toScopeList(value);
      const problem = list === undefined ? 'must be a string or an array of strings' : scopesProblem(list, endpoint === 'entra-v2');
      if (problem !== undefined) throw fail('scope', problem);
      scopes = frozenCopy(list!);
    }
    const resource = endpoint === 'entra-v1' ? (hasResource ? (value as string) : scopeToResource(scopes)) : undefined;
    if (endpoint === 'entra-v1' && resource === undefined) throw fail('scope', 'must be one "<resource>/.default" scope for an Entra v1 "tokenUrl" (or use "resource")');
    const tenant = tenantId === undefined ? undefined : normalizeTenant(tenantId as string);
    return { key: targetKey(source.id, tenant, scopes, resource) + capabilities, tenantId: tenant, scopes, resource };
  };

  const tenantFn = typeof tenantOption === 'function' ? (tenantOption as (req: IncomingMessage) => unknown) : undefined;
  const valueFn = typeof fixedValue === 'function' ? (fixedValue as (req: IncomingMessage) => unknown) : undefined;
  if (tenantFn === undefined && valueFn === undefined) return build(tenantOption, fixedValue, invalidOption);

  // Validate the fixed parts once, at start-up.
  if (tenantFn === undefined && tenantOption !== undefined) check('tenantId', tenantProblem(tenantOption));
  return (req) => {
    let tenantId: unknown;
    let value: unknown;
    try {
      tenantId = tenantFn === undefined ? tenantOption : tenantFn(req);
      value = valueFn === undefined ? fixedValue : valueFn(req);
    } catch {
      throw new AadBackendAuthError('ERR_INVALID_TARGET', 'A per-request "tenantId", "resource" or "scope" function threw');
    }
    // A tenant function must name a tenant: `undefined` (a missing header, say) must not fall through to no tenant at all.
    if (tenantFn !== undefined && tenantId === undefined) throw invalidTarget('tenantId', tenantProblem(undefined)!);
    return build(tenantId, value, invalidTarget);
  };
}
