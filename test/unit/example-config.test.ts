import { expect } from 'chai';
import { inspect } from 'node:util';
import { ConfigError, loadConfig } from '../../example-app/config.js';

const FULL = {
  AZURE_TENANT_ID: 'contoso.onmicrosoft.com',
  AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
  AZURE_CLIENT_SECRET: 'shhh-secret-value',
  BACKEND_URL: 'https://orders.example.com',
  BACKEND_RESOURCE: 'api://orders',
};

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('example-app config', () => {
  it('runs locally on 127.0.0.1:3000 with no Azure variables; PORT and HOST move it', () => {
    expect(loadConfig({})).to.deep.equal({ mode: 'local', port: 3000, host: '127.0.0.1' });
    expect(loadConfig({ PORT: '8080', HOST: '0.0.0.0', AZURE_CLIENT_ID: ' ' })).to.deep.equal({ mode: 'local', port: 8080, host: '0.0.0.0' });
  });

  it('uses real Entra ID with a client secret when all five variables are set', () => {
    const config = loadConfig({ ...FULL, AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us' });
    expect(config).to.deep.include({ mode: 'azure', backendUrl: FULL.BACKEND_URL, backendResource: 'api://orders', userScope: 'api://orders/.default' });
    expect(loadConfig({ ...FULL, BACKEND_USER_SCOPE: 'api://orders/Orders.Read' })).to.include({ userScope: 'api://orders/Orders.Read' });
    if (config.mode !== 'azure' || config.credential.kind !== 'client-secret') throw new Error('expected client-secret');
    expect(config.credential).to.include({ tenantId: FULL.AZURE_TENANT_ID, clientId: FULL.AZURE_CLIENT_ID, authorityHost: 'https://login.microsoftonline.us' });
    expect(config.credential.clientSecret).to.equal('shhh-secret-value');
    // The secret is there to use, never to print.
    expect(JSON.stringify(config)).not.to.include('shhh');
    expect(inspect(config, { depth: 5 })).not.to.include('shhh');
  });

  it('uses DefaultAzureCredential with AZURE_USE_DEFAULT_CREDENTIAL=1, which needs only the backend', () => {
    const config = loadConfig({ AZURE_USE_DEFAULT_CREDENTIAL: '1', BACKEND_URL: FULL.BACKEND_URL, BACKEND_RESOURCE: 'api://orders' });
    expect(config).to.deep.include({ mode: 'azure', credential: { kind: 'default-azure-credential' } });
    expect(loadConfig({ AZURE_USE_DEFAULT_CREDENTIAL: '0' })).to.include({ mode: 'local' });
  });

  it('names every missing variable, and what is set, in one line', () => {
    const { AZURE_CLIENT_SECRET: _omitted, BACKEND_URL: _too, ...half } = FULL;
    const message = errorOf(half).message;
    expect(message).to.equal(
      'Incomplete Entra ID configuration: AZURE_CLIENT_SECRET and BACKEND_URL are missing ' +
        '(AZURE_TENANT_ID, AZURE_CLIENT_ID and BACKEND_RESOURCE are set). Set all of them, or none to run locally with the emulator.',
    );
    expect(errorOf({ AZURE_USE_DEFAULT_CREDENTIAL: 'true' }).message).to.match(/^Incomplete Entra ID configuration: BACKEND_URL and BACKEND_RESOURCE are missing \(AZURE_USE_DEFAULT_CREDENTIAL=1 is set\)/);
    expect(errorOf({ AZURE_TENANT_ID: 'x' }).message).not.to.include('\n');
  });

  it('refuses bad values with the variable named, and never echoes the secret', () => {
    expect(errorOf({ PORT: '70000' }).message).to.equal('PORT must be a number from 0 to 65535, got "70000".');
    expect(errorOf({ AZURE_USE_DEFAULT_CREDENTIAL: 'maybe' }).message).to.equal('AZURE_USE_DEFAULT_CREDENTIAL must be 1 or 0, got "maybe".');
    expect(errorOf({ ...FULL, BACKEND_URL: 'orders.example.com' }).message).to.match(/^BACKEND_URL must be an absolute URL/);
    expect(errorOf({ ...FULL, BACKEND_URL: 'ftp://orders' }).message).to.match(/^BACKEND_URL must be an http or https URL/);
    expect(errorOf({ ...FULL, BACKEND_URL: 'x' }).message).not.to.include(FULL.AZURE_CLIENT_SECRET);
  });

  it('in Entra ID mode refuses a HOST beyond loopback unless ALLOW_REMOTE_HOST=1 says so', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) expect(loadConfig({ ...FULL, HOST: host })).to.include({ mode: 'azure', host });
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'my-laptop.lan']) {
      const message = errorOf({ ...FULL, HOST: host }).message;
      expect(message).to.equal(
        `HOST=${host} would let other machines call BACKEND_URL with your Entra ID app token through the BFF. ` +
          'Keep HOST on loopback (127.0.0.1), or set ALLOW_REMOTE_HOST=1 as well if that is what you want.',
      );
      expect(message).not.to.include('\n').and.not.include(FULL.AZURE_CLIENT_SECRET);
    }
    expect(loadConfig({ ...FULL, HOST: '0.0.0.0', ALLOW_REMOTE_HOST: '1' })).to.include({ mode: 'azure', host: '0.0.0.0' });
    expect(errorOf({ ...FULL, HOST: '0.0.0.0', ALLOW_REMOTE_HOST: '0' }).message).to.match(/^HOST=0\.0\.0\.0 would let other machines/);
    expect(errorOf({ ...FULL, ALLOW_REMOTE_HOST: 'sure' }).message).to.equal('ALLOW_REMOTE_HOST must be 1 or 0, got "sure".');
    // Local mode talks to the in-process emulator only: a container may still listen on 0.0.0.0.
    expect(loadConfig({ HOST: '0.0.0.0' })).to.include({ mode: 'local', host: '0.0.0.0' });
  });

  it('in Entra ID mode refuses a BACKEND_URL that is not https, loopback aside', () => {
    for (const url of ['http://orders.example.com', 'http://10.0.0.5:8080/api', 'http://localhost.evil.example']) {
      expect(errorOf({ ...FULL, BACKEND_URL: url }).message).to.equal(
        `BACKEND_URL must be https (http only for localhost, 127.0.0.1 or [::1]): the app token must not cross the network in clear, got "${url}".`,
      );
    }
    for (const url of ['http://127.0.0.1:4000', 'http://localhost:4000', 'http://[::1]:4000', 'https://orders.example.com']) {
      expect(loadConfig({ ...FULL, BACKEND_URL: url })).to.include({ backendUrl: url });
    }
  });

  it('reads ALLOWED_HOSTS, the extra Host names the BFF answers to, and refuses a malformed one', () => {
    expect(loadConfig({ ALLOWED_HOSTS: 'bff.internal, 10.0.0.5 ,[fd00::1]' })).to.deep.equal({
      mode: 'local',
      port: 3000,
      host: '127.0.0.1',
      allowedHosts: ['bff.internal', '10.0.0.5', '[fd00::1]'],
    });
    expect(errorOf({ ALLOWED_HOSTS: 'bff.internal:3000' }).message).to.equal(
      'ALLOWED_HOSTS must list host names or IP addresses without ports or paths, separated by commas, got "bff.internal:3000".',
    );
    expect(errorOf({ ALLOWED_HOSTS: '*' }).message).to.match(/^ALLOWED_HOSTS must list host names/);
  });
});
