import { expect } from 'chai';
import http from 'node:http';
import { createRemoteJWKSet, errors as joseErrors, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { verificationFailure } from '../../../lib/subjects/user-token/issuer-keys.js';
import { rememberingFailures } from '../../../lib/subjects/user-token/remembered-jwks.js';
import { close, listen } from '../../helpers/servers.js';

describe('a JWKS whose failed reads are remembered', () => {
  let server: http.Server;
  after(() => close(server));

  it('skips reads while a failure is remembered, yet keys it already holds still verify', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const keys = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'held', alg: 'RS256' }] });
    let status = 200;
    let reads = 0;
    server = http.createServer((_req, res) => {
      reads++;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? keys : '{}');
    });
    const url = await listen(server);
    // No cooldown: without the memory, every unknown kid would be a read.
    const remote = createRemoteJWKSet(new URL(`${url}/keys`), { cooldownDuration: 0 });
    const jwks = rememberingFailures(remote, 60_000, (error) => verificationFailure(error).code === 'ERR_IDP_UNAVAILABLE');
    const token = (kid: string): Promise<string> => new SignJWT({ sub: kid }).setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('1h').sign(privateKey);

    await jwtVerify(await token('held'), jwks);
    expect(reads).to.equal(1);
    status = 500;
    const failed = await jwtVerify(await token('rotated'), jwks).catch((e: unknown) => e);
    expect(verificationFailure(failed).code).to.equal('ERR_IDP_UNAVAILABLE');
    expect(reads).to.equal(2);
    for (let i = 0; i < 20; i++) {
      // An unknown kid is refused from the held keys (the token's fault), with no read.
      expect(await jwtVerify(await token(`rotated-${i}`), jwks).catch((e: unknown) => e)).to.be.instanceOf(joseErrors.JWKSNoMatchingKey);
      expect((await jwtVerify(await token('held'), jwks)).payload.sub).to.equal('held');
    }
    expect(reads).to.equal(2);
  });
});
