/**
 * CTR_EXTRA_CA_CERTS (where the `ctr` launcher moves NODE_EXTRA_CA_CERTS): registries whose
 * certificate a private CA signed are trusted when the variable names that CA, over a real
 * TLS connection to the Debian `docker-registry` on 127.0.0.1 standing in for Docker Hub
 * (through `dockerHubEndpoint`, so the client speaks https; a guard refuses anything else).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RegistryClient, type RegistryClientOptions } from '@ctr/registry';
import type { Descriptor } from '@ctr/image';
import { makeTlsCertificates } from '../../../test/support/tls-certs';
import { loopbackOnly, type LoopbackGuard } from './support/loopback-only';
import { layoutManifest, makeBusyboxLayout, skopeoCopy, startDockerRegistry, type DockerRegistry } from './support/processes';
import { startRegistry, type RunningRegistry } from './support/servers';

let work: string;
let guard: LoopbackGuard;
let secure: DockerRegistry;
let plain: RunningRegistry;
let busybox: Descriptor;
const clients: RegistryClient[] = [];

beforeAll(async () => {
  guard = loopbackOnly();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-extra-ca-'));
  await makeTlsCertificates(work);
  const layout = await makeBusyboxLayout(work);
  busybox = await layoutManifest(layout);
  secure = await startDockerRegistry(['  tls:', `    certificate: ${path.join(work, 'server-cert.pem')}`, `    key: ${path.join(work, 'server-key.pem')}`].join('\n'));
  await skopeoCopy(`oci:${layout}:latest`, `docker://${secure.host}/library/busybox:latest`);
  plain = await startRegistry();
});

afterEach(async () => {
  delete process.env.CTR_EXTRA_CA_CERTS;
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await plain?.stop();
  await secure?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
  guard?.restore();
  expect(guard.refused).toEqual([]);
});

/** A client for which `busybox` lives on the TLS registry. */
function client(options: RegistryClientOptions = {}): RegistryClient {
  const made = new RegistryClient({ credentials: {}, dockerHubEndpoint: `https://${secure.host}`, ...options });
  clients.push(made);
  return made;
}

test('with CTR_EXTRA_CA_CERTS naming the CA, a registry whose certificate it signed is trusted', async () => {
  process.env.CTR_EXTRA_CA_CERTS = path.join(work, 'ca.pem');
  expect(await client().resolve('busybox')).toMatchObject({ digest: busybox.digest, size: busybox.size });
});

test('without it, the same registry is refused with a certificate error naming the registry', async () => {
  const refused = client().resolve('busybox');
  await expect(refused).rejects.toMatchObject({
    code: 'Unavailable',
    message: expect.stringMatching(/cannot reach registry docker\.io: .*certificate/),
    hint: expect.stringContaining('add that CA to the PEM file NODE_EXTRA_CA_CERTS names'),
  });
});

test('CTR_EXTRA_CA_CERTS naming a missing file is an InvalidArgument naming the variable and the file', async () => {
  const missing = path.join(work, 'no-such-ca.pem');
  process.env.CTR_EXTRA_CA_CERTS = missing;
  const refused = client().resolve('busybox');
  await expect(refused).rejects.toMatchObject({ code: 'InvalidArgument', message: `cannot load extra CA certificates from CTR_EXTRA_CA_CERTS=${missing}: no such file` });
});

test('CTR_EXTRA_CA_CERTS naming a file without a certificate is an InvalidArgument too', async () => {
  process.env.CTR_EXTRA_CA_CERTS = path.join(work, 'server.ext');
  await expect(client().resolve('busybox')).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('no PEM certificate in it') });
});

test('plain HTTP never reads the file: with a missing one, a loopback registry is still asked (and answers)', async () => {
  process.env.CTR_EXTRA_CA_CERTS = path.join(work, 'no-such-ca.pem');
  await expect(client().resolve(`${plain.host}/library/busybox:latest`)).rejects.toMatchObject({ code: 'NotFound' });
});
