import { generate } from 'selfsigned';

/** A PEM key pair and self-signed certificate, as a client credential or a TLS server's. */
export interface TestCertificate {
  readonly privateKey: string;
  readonly certificate: string;
}

/** A fresh RSA certificate for `commonName`, valid for a day; `dnsNames` become its subjectAltNames (for TLS servers). */
export async function makeCertificate(commonName: string, dnsNames: readonly string[] = []): Promise<TestCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 24 * 60 * 60 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      ...(dnsNames.length === 0 ? [] : [{ name: 'subjectAltName' as const, altNames: dnsNames.map((value) => ({ type: 2 as const, value })) }]),
    ],
  });
  return { privateKey: pems.private, certificate: pems.cert };
}
