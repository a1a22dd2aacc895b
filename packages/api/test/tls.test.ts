import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, ApiServer } from '@ctr/api';
import { docker, startTestDaemon, type TestDaemon } from './fixture';

let t: TestDaemon;
let certs: string;
let server: ApiServer;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: certs, stdio: 'ignore' });
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, as `docker --tlsverify` expects them. */
async function makeCertificates(): Promise<void> {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=ctr-test-ca', '-keyout', 'ca-key.pem', '-out', 'ca.pem']);
  await writeFile(join(certs, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(certs, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subject] of [['server', '/CN=127.0.0.1'], ['client', '/CN=client']] as const) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}-cert.pem`]);
  }
  // The docker CLI's file names in DOCKER_CERT_PATH.
  await writeFile(join(certs, 'cert.pem'), await readFile(join(certs, 'client-cert.pem')));
  await writeFile(join(certs, 'key.pem'), await readFile(join(certs, 'client-key.pem')));
}

beforeAll(async () => {
  t = await startTestDaemon();
  certs = await mkdtemp(join(tmpdir(), 'ctr-api-tls-'));
  await makeCertificates();
  const read = (name: string): Promise<Buffer> => readFile(join(certs, name));
  server = await ApiServer.listen({
    engine: t.daemon.engine,
    hosts: ['tcp://127.0.0.1:0'],
    tls: { ca: await read('ca.pem'), cert: await read('server-cert.pem'), key: await read('server-key.pem') },
  });
});
afterAll(async () => {
  await server?.close();
  await t?.cleanup();
  if (certs) await rm(certs, { recursive: true, force: true });
});

test('a client with a certificate from the CA is served over TLS', async () => {
  const read = (name: string): Promise<Buffer> => readFile(join(certs, name));
  const client = new ApiClient({
    host: server.addresses[0]?.host as string,
    tls: { ca: await read('ca.pem'), cert: await read('client-cert.pem'), key: await read('client-key.pem') },
  });
  try {
    expect((await client.ping()).apiVersion).toBe('1.47');
  } finally {
    client.close();
  }
});

test('a client without a certificate is turned away', async () => {
  const read = (name: string): Promise<Buffer> => readFile(join(certs, name));
  const client = new ApiClient({ host: server.addresses[0]?.host as string, tls: { ca: await read('ca.pem'), cert: '', key: '' } });
  await expect(client.ping()).rejects.toMatchObject({ code: 'Unavailable' });
  client.close();
});

test('docker --tlsverify talks to ctrd over TCP', async () => {
  const host = server.addresses[0]?.host as string;
  const run = await docker({ ...t.env, DOCKER_HOST: host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }, ['version', '--format', '{{.Server.APIVersion}}']);
  expect(run).toMatchObject({ code: 0, stdout: '1.47\n' });
  const plain = await docker({ ...t.env, DOCKER_HOST: host }, ['version', '--format', '{{.Server.APIVersion}}']);
  expect(plain.code).not.toBe(0);
});
