import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** PEM material for one side of a TLS connection. */
export interface TlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * Writes into `dir` a throwaway CA (`ca.pem`, `ca-key.pem`), a server certificate for 127.0.0.1
 * (`server-cert.pem`, `server-key.pem`) and a client certificate (`client-cert.pem`,
 * `client-key.pem`, also as `cert.pem` and `key.pem`: the names docker reads in DOCKER_CERT_PATH).
 */
export async function makeTlsCertificates(dir: string): Promise<void> {
  const openssl = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=ctr-test-ca', '-keyout', 'ca-key.pem', '-out', 'ca.pem']);
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subject] of [['server', '/CN=127.0.0.1'], ['client', '/CN=client']] as const) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}-cert.pem`]);
  }
  await writeFile(join(dir, 'cert.pem'), await readFile(join(dir, 'client-cert.pem')));
  await writeFile(join(dir, 'key.pem'), await readFile(join(dir, 'client-key.pem')));
}

/** The CA and one side's certificate and key from a directory `makeTlsCertificates` filled. */
export async function readTlsFiles(dir: string, side: 'server' | 'client'): Promise<TlsFiles> {
  const read = (name: string): Promise<Buffer> => readFile(join(dir, name));
  return { ca: await read('ca.pem'), cert: await read(`${side}-cert.pem`), key: await read(`${side}-key.pem`) };
}
