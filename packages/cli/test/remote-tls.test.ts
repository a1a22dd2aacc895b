import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '@ctr/api';
import { makeTlsCertificates, readTlsFiles } from '../../../test/support/tls-certs';
import { cleanEnv, ctr, startTestDaemon, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let certs: string;
let server: ApiServer;
let host: string;

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => cleanEnv({ CTR_CONFIG: join(certs, 'config'), ...extra });

beforeAll(async () => {
  t = await startTestDaemon();
  certs = await mkdtemp(join(tmpdir(), 'ctr-remote-tls-'));
  await makeTlsCertificates(certs);
  // A cert path with the CA only: a client that has no certificate to show.
  await mkdir(join(certs, 'ca-only'));
  await writeFile(join(certs, 'ca-only', 'ca.pem'), await readFile(join(certs, 'ca.pem')));
  server = await ApiServer.listen({ engine: t.daemon.engine, hosts: ['tcp://127.0.0.1:0'], tls: await readTlsFiles(certs, 'server') });
  host = server.addresses[0]?.host as string;
  await t.daemon.engine.createVolume({ name: 'behind-tls' });
});

afterAll(async () => {
  await server?.close();
  await t?.cleanup();
  if (certs) await rm(certs, { recursive: true, force: true });
});

test('-H tcp://… --tlsverify with the CA, a certificate and its key reaches the daemon', async () => {
  const flags = ['--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, 'cert.pem'), '--tlskey', join(certs, 'key.pem')];
  expect(await ctr(['-H', host, ...flags, 'volume', 'ls', '-q'], { env: env() })).toEqual({ code: 0, stdout: 'behind-tls\n', stderr: '' });
});

test('DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH do the same from the environment', async () => {
  const result = await ctr(['volume', 'ls', '-q'], { env: env({ DOCKER_HOST: host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }) });
  expect(result).toEqual({ code: 0, stdout: 'behind-tls\n', stderr: '' });
});

test('a client without a certificate is refused: one line, exit status 1', async () => {
  const result = await ctr(['-H', host, '--tlsverify', 'volume', 'ls'], { env: env({ CTR_CERT_PATH: join(certs, 'ca-only') }) });
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^error during connect: ${host.replace(/\./g, '\\.')}: .+\n$`));
});

test('a context keeps its own copies of the TLS files and reaches the daemon through them', async () => {
  const spec = `host=${host},ca=${join(certs, 'ca.pem')},cert=${join(certs, 'cert.pem')},key=${join(certs, 'key.pem')}`;
  expect(await ctr(['context', 'create', 'secure', '--docker', spec], { env: env() })).toEqual({ code: 0, stdout: 'secure\n', stderr: 'Successfully created context "secure"\n' });
  const inspected = JSON.parse((await ctr(['context', 'inspect', 'secure'], { env: env() })).stdout) as Array<{ TLSMaterial: unknown; Storage: { TLSPath: string } }>;
  expect(inspected[0]?.TLSMaterial).toEqual({ docker: ['ca.pem', 'cert.pem', 'key.pem'] });
  expect(await readFile(join(inspected[0]?.Storage.TLSPath as string, 'docker', 'ca.pem'), 'utf8')).toBe(await readFile(join(certs, 'ca.pem'), 'utf8'));
  expect(await ctr(['--context', 'secure', 'volume', 'ls', '-q'], { env: env() })).toEqual({ code: 0, stdout: 'behind-tls\n', stderr: '' });
});
