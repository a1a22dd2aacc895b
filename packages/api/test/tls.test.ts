import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, ApiServer } from '@ctr/api';
import { makeTlsCertificates, readTlsFiles } from '../../../test/support/tls-certs';
import { docker, startTestDaemon, type TestDaemon } from './fixture';

let t: TestDaemon;
let certs: string;
let server: ApiServer;

beforeAll(async () => {
  t = await startTestDaemon();
  certs = await mkdtemp(join(tmpdir(), 'ctr-api-tls-'));
  await makeTlsCertificates(certs);
  server = await ApiServer.listen({ engine: t.daemon.engine, hosts: ['tcp://127.0.0.1:0'], tls: await readTlsFiles(certs, 'server') });
});
afterAll(async () => {
  await server?.close();
  await t?.cleanup();
  if (certs) await rm(certs, { recursive: true, force: true });
});

test('a client with a certificate from the CA is served over TLS', async () => {
  const client = new ApiClient({ host: server.addresses[0]?.host as string, tls: await readTlsFiles(certs, 'client') });
  try {
    expect((await client.ping()).apiVersion).toBe('1.47');
  } finally {
    client.close();
  }
});

test('a client without a certificate is turned away', async () => {
  const client = new ApiClient({ host: server.addresses[0]?.host as string, tls: { ca: await readFile(join(certs, 'ca.pem')), cert: '', key: '' } });
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
