import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PEM certificate and key on disk. */
export interface CertFiles {
  cert: string;
  key: string;
}

const keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = '7';

/**
 * A throw-away certificate authority for a local test cluster (openssl, ECDSA P-256, valid a week), written as
 * `<name>.crt` and `<name>.key` under `dir`.
 */
export async function createCa(dir: string, name: string): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await run('openssl', [
    'req',
    '-x509',
    ...keyArgs,
    '-keyout',
    files.key,
    '-out',
    files.cert,
    '-days',
    DAYS,
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return files;
}

/**
 * A certificate signed by `ca` for both server and client authentication: `commonName` is the user name an API
 * server sees for a client certificate; `dns` and `ips` are the names it serves.
 */
export async function issueCert(
  ca: CertFiles,
  dir: string,
  name: string,
  subject: { commonName: string; dns?: string[]; ips?: string[] },
): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const request = join(dir, `${name}.csr`);
  const extensions = join(dir, `${name}.ext`);
  const altNames = [
    ...(subject.dns ?? []).map((d) => `DNS:${d}`),
    ...(subject.ips ?? []).map((ip) => `IP:${ip}`),
  ];
  await writeFile(
    extensions,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      ...(altNames.length > 0 ? [`subjectAltName=${altNames.join(',')}`] : []),
      '',
    ].join('\n'),
  );
  await run('openssl', [
    'req',
    ...keyArgs,
    '-keyout',
    files.key,
    '-out',
    request,
    '-subj',
    `/CN=${subject.commonName}`,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    request,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    files.cert,
    '-days',
    DAYS,
    '-extfile',
    extensions,
  ]);
  return files;
}
