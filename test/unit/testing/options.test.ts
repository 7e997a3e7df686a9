import { expect } from 'chai';
import { aadstsError, faultError, withCorrelationId } from '../../../lib/testing/errors.js';
import { FaultQueue } from '../../../lib/testing/faults.js';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_TENANT_ID,
  resolveOptions,
} from '../../../lib/testing/options.js';
import { isLoopbackHost } from '../../../lib/core/option-checks.js';
import { stableGuid } from '../../../lib/testing/tokens.js';
import { startEntraEmulator } from '../../../lib/testing/index.js';

describe('emulator options', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveOptions();
    expect(resolved).to.include({ port: 0, host: '127.0.0.1', https: false, tokenLifetimeSeconds: 3599, latencyMs: 0 });
    expect(resolved.refreshInSeconds).to.equal(undefined);
    expect(resolved.resources).to.equal(undefined);
    expect(resolved.tenantNames).to.deep.equal([DEFAULT_TENANT_ID]);
    expect(resolved.clients.get(DEFAULT_CLIENT_ID)).to.deep.equal({
      clientId: DEFAULT_CLIENT_ID,
      clientSecret: DEFAULT_CLIENT_SECRET,
      tenantId: undefined,
      accessTokenVersion: 2,
    });
  });

  it('treats options set to undefined as absent', () => {
    expect(resolveOptions({ port: undefined, host: undefined } as never).port).to.equal(0);
  });

  it('accepts only loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host), host).to.equal(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '']) expect(isLoopbackHost(host), host).to.equal(false);
    expect(() => resolveOptions({ host: '0.0.0.0' })).to.throw(TypeError, /"host" option must be a loopback address/);
  });

  it('rejects the startEntraEmulator promise for a bad option (nothing listens)', async () => {
    let caught: unknown;
    await startEntraEmulator({ host: '0.0.0.0' }).catch((error: unknown) => {
      caught = error;
    });
    expect(caught).to.be.instanceOf(TypeError);
  });

  it('names the bad numeric option', () => {
    expect(() => resolveOptions({ port: 70000 })).to.throw(/"port" option/);
    expect(() => resolveOptions({ port: 1.5 })).to.throw(/"port" option/);
    expect(() => resolveOptions({ tokenLifetimeSeconds: 0 })).to.throw(/"tokenLifetimeSeconds" option/);
    expect(() => resolveOptions({ refreshInSeconds: -1 })).to.throw(/"refreshInSeconds" option/);
    expect(() => resolveOptions({ latencyMs: Number.NaN })).to.throw(/"latencyMs" option/);
  });

  it('checks tenants, clients and resources', () => {
    expect(() => resolveOptions({ tenants: [] })).to.throw(/"tenants" option/);
    expect(() => resolveOptions({ tenants: ['common'] })).to.throw(/cannot hold 'common'/);
    expect(() => resolveOptions({ tenants: ['not a tenant'] })).to.throw(/"tenants" option/);
    expect(() => resolveOptions({ tenants: [DEFAULT_TENANT_ID, DEFAULT_TENANT_ID] })).to.throw(/twice/);
    expect(() => resolveOptions({ clients: [{ clientId: 'a', clientSecret: '' }] })).to.throw(/"clientSecret"/);
    expect(() => resolveOptions({ clients: [{ clientId: 'a', clientSecret: 's', tenantId: 'other.example.com' }] })).to.throw(
      /not in "tenants"/,
    );
    expect(() => resolveOptions({ resources: [{ audience: 'api://x/.default' }] })).to.throw(/without '\/.default'/);
  });

  it('gives a verified domain a stable GUID tenant id, and accepts it case-insensitively', () => {
    const first = resolveOptions({ tenants: ['Contoso.onmicrosoft.com'] });
    const second = resolveOptions({ tenants: ['contoso.onmicrosoft.com'] });
    const id = first.tenantIds.get('contoso.onmicrosoft.com');
    expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second.tenantIds.get('contoso.onmicrosoft.com')).to.equal(id);
    expect(first.tenantIds.get(id!)).to.equal(id);
  });

  it('resolves a client tenant given as a domain', () => {
    const resolved = resolveOptions({
      tenants: ['contoso.onmicrosoft.com'],
      clients: [{ clientId: 'a', clientSecret: 's', tenantId: 'contoso.onmicrosoft.com' }],
    });
    expect(resolved.clients.get('a')!.tenantId).to.equal(resolved.tenantIds.get('contoso.onmicrosoft.com'));
  });
});

describe('emulator building blocks', () => {
  it('stableGuid is deterministic and distinct per input', () => {
    expect(stableGuid('a')).to.equal(stableGuid('a'));
    expect(stableGuid('a')).to.not.equal(stableGuid('b'));
  });

  it('aadstsError formats the description like Entra', () => {
    const { status, body } = aadstsError(401, 'invalid_client', 7000215, 'Bad secret.');
    expect(status).to.equal(401);
    expect(body.error_description).to.match(
      /^AADSTS7000215: Bad secret\. Trace ID: [0-9a-f-]{36} Correlation ID: [0-9a-f-]{36} Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
    );
    expect(body.timestamp).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(body.error_codes).to.deep.equal([7000215]);
  });

  it('withCorrelationId swaps the id in the field and in the description', () => {
    const original = aadstsError(400, 'invalid_request', 90002, 'No tenant.');
    const changed = withCorrelationId(original, 'my-request');
    expect(changed.body.correlation_id).to.equal('my-request');
    expect(changed.body.error_description).to.contain('Correlation ID: my-request ');
    expect(withCorrelationId(original, undefined)).to.equal(original);
  });

  it('faultError defaults invalid_client to 401 and the rest to 400', () => {
    expect(faultError('invalid_client', undefined, 'c').status).to.equal(401);
    expect(faultError('invalid_scope', undefined, 'c').status).to.equal(400);
    expect(faultError('invalid_client', 400, 'c').status).to.equal(400);
  });

  it('FaultQueue hands faults out first in, first out, N times each', () => {
    const queue = new FaultQueue();
    queue.push({ kind: 'hang' }, 2);
    queue.push({ kind: 'reset' }, 1);
    expect([queue.take(false)?.kind, queue.take(false)?.kind, queue.take(false)?.kind, queue.take(false)]).to.deep.equal([
      'hang',
      'hang',
      'reset',
      undefined,
    ]);
    queue.push({ kind: 'html' }, Infinity);
    expect(queue.take(false)?.kind).to.equal('html');
    queue.clear();
    expect(queue.take(false)).to.equal(undefined);
  });

  it('FaultQueue: an app-only request passes delegated-only faults by, leaving them for the next delegated request', () => {
    const queue = new FaultQueue();
    queue.push({ kind: 'interaction-required' }, 1);
    queue.push({ kind: 'consent-required' }, 1);
    queue.push({ kind: 'reset' }, 1);
    expect(queue.take(false)?.kind).to.equal('reset');
    expect(queue.take(false)).to.equal(undefined);
    expect([queue.take(true)?.kind, queue.take(true)?.kind, queue.take(true)]).to.deep.equal(['interaction-required', 'consent-required', undefined]);
  });
});
