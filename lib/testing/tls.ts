/** A PEM key and certificate for the HTTPS server. */
export interface SelfSignedCertificate {
  key: string;
  cert: string;
}

type GenerateFn = typeof import('selfsigned').generate;

/** Load `selfsigned` only when HTTPS is asked for: it is an optional peer dependency. */
async function loadGenerate(): Promise<GenerateFn> {
  let mod: { generate?: GenerateFn; default?: { generate?: GenerateFn } };
  try {
    mod = (await import('selfsigned')) as typeof mod;
  } catch (error) {
    throw new Error(
      'startEntraEmulator({ https: true }) needs the optional peer dependency "selfsigned" to make its certificate. Install it with: npm install --save-dev selfsigned',
      { cause: error },
    );
  }
  const generate = mod.generate ?? mod.default?.generate;
  if (typeof generate !== 'function') {
    throw new Error('startEntraEmulator({ https: true }): the installed "selfsigned" has no generate() function; install selfsigned@5');
  }
  return generate;
}

/**
 * Make a self-signed certificate valid for `127.0.0.1`, `::1` and
 * `localhost`, for one day. The certificate is its own CA: trust it by
 * passing it as `ca`.
 */
export async function createSelfSignedCertificate(): Promise<SelfSignedCertificate> {
  const generate = await loadGenerate();
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 24 * 60 * 60 * 1000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
