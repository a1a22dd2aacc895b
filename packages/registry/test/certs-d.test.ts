/**
 * Per-registry certificates where docker keeps them, `/etc/docker/certs.d/<host:port>/` (here
 * under CTR_CERTS_D): `*.crt` CAs trusted for that registry, `name.cert` + `name.key` a client
 * certificate presented to it — as dockerd's ReadCertsDirectory reads them, for registries
 * spoken to over verified TLS. The registries are the Debian `docker-registry` over TLS on
 * 127.0.0.1, standing in for Docker Hub (`dockerHubEndpoint`, always verified); a guard
 * refuses any other connection.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Descriptor } from '@ctr/image';
import { dockerPullError, RegistryClient } from '@ctr/registry';
import { makeTlsCertificates } from '../../../test/support/tls-certs';
import { loopbackOnly, type LoopbackGuard } from './support/loopback-only';
import { layoutManifest, makeBusyboxLayout, skopeoCopy, startDockerRegistry, type DockerRegistry } from './support/processes';

let work: string;
let guard: LoopbackGuard;
let secure: DockerRegistry;
let mutual: DockerRegistry;
let busybox: Descriptor;
const clients: RegistryClient[] = [];

beforeAll(async () => {
  guard = loopbackOnly();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-certs-d-'));
  await makeTlsCertificates(work);
  const layout = await makeBusyboxLayout(work);
  busybox = await layoutManifest(layout);
  const tls = [`  tls:`, `    certificate: ${path.join(work, 'server-cert.pem')}`, `    key: ${path.join(work, 'server-key.pem')}`];
  secure = await startDockerRegistry(tls.join('\n'));
  mutual = await startDockerRegistry([...tls, '    clientcas:', `      - ${path.join(work, 'ca.pem')}`].join('\n'));
  for (const registry of [secure, mutual]) {
    const certs = ['--dest-cert-dir', await certsFor(registry, { ca: true, client: true })];
    await skopeoCopy(`oci:${layout}:latest`, `docker://${registry.host}/library/busybox:latest`, certs);
    await fs.rm(path.join(work, 'certs.d'), { recursive: true, force: true });
  }
});

beforeEach(() => {
  process.env.CTR_CERTS_D = path.join(work, 'certs.d');
});

afterEach(async () => {
  delete process.env.CTR_CERTS_D;
  await fs.rm(path.join(work, 'certs.d'), { recursive: true, force: true });
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await secure?.stop();
  await mutual?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
  guard?.restore();
  expect(guard.refused).toEqual([]);
});

/** Fill `<certs.d>/<host:port>/` with the CA (as `caName`) and the client certificate, as asked; the directory. */
async function certsFor(registry: DockerRegistry, what: { ca?: boolean; caName?: string; client?: boolean; cert?: boolean; key?: boolean }): Promise<string> {
  const dir = path.join(work, 'certs.d', registry.host);
  await fs.mkdir(dir, { recursive: true });
  if (what.ca) await fs.copyFile(path.join(work, 'ca.pem'), path.join(dir, what.caName ?? 'ca.crt'));
  if (what.client || what.cert) await fs.copyFile(path.join(work, 'client-cert.pem'), path.join(dir, 'client.cert'));
  if (what.client || what.key) await fs.copyFile(path.join(work, 'client-key.pem'), path.join(dir, 'client.key'));
  return dir;
}

/** A client for which `busybox` lives on `registry`. */
function client(registry: DockerRegistry): RegistryClient {
  const made = new RegistryClient({ credentials: {}, dockerHubEndpoint: `https://${registry.host}` });
  clients.push(made);
  return made;
}

test('a CA as ca.crt in the registry\'s certs.d directory makes its certificate trusted', async () => {
  await certsFor(secure, { ca: true });
  expect(await client(secure).resolve('busybox')).toMatchObject({ digest: busybox.digest, size: busybox.size });
});

test('any *.crt in the directory is a CA, whatever its name', async () => {
  await certsFor(secure, { ca: true, caName: 'private-root.crt' });
  expect(await client(secure).resolve('busybox')).toMatchObject({ digest: busybox.digest });
});

test('the directory of another registry does not count', async () => {
  await certsFor(mutual, { ca: true });
  await expect(client(secure).resolve('busybox')).rejects.toMatchObject({ code: 'Unavailable' });
});

test('without a CA for it, the registry is refused with a hint naming the certs.d file', async () => {
  await expect(client(secure).resolve('busybox')).rejects.toMatchObject({
    code: 'Unavailable',
    hint: expect.stringContaining(`${path.join(work, 'certs.d')}/docker.io/ca.crt`),
  });
});

test('through the daemon\'s API the refusal reads as dockerd\'s: x509: certificate signed by unknown authority', async () => {
  const refused = await client(secure).resolve('busybox').catch((error: unknown) => error);
  expect(dockerPullError(refused, 'busybox')).toMatchObject({
    details: expect.objectContaining({ httpStatus: 500 }),
    message: `Head "https://${secure.host}/v2/library/busybox/manifests/latest": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
  });
});

test('a client certificate (client.cert with client.key) is presented to a registry that asks for one', async () => {
  await certsFor(mutual, { ca: true, client: true });
  expect(await client(mutual).resolve('busybox')).toMatchObject({ digest: busybox.digest });
});

test('without the client certificate, that registry turns the connection away', async () => {
  await certsFor(mutual, { ca: true });
  await expect(client(mutual).resolve('busybox')).rejects.toMatchObject({ code: 'Unavailable' });
});

test('a client certificate without its key is an InvalidArgument in dockerd\'s words', async () => {
  await certsFor(mutual, { ca: true, cert: true });
  await expect(client(mutual).resolve('busybox')).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'missing key client.key for client certificate client.cert. CA certificates must use the extension .crt',
  });
});

test('a key without its client certificate is an InvalidArgument in dockerd\'s words', async () => {
  await certsFor(mutual, { ca: true, key: true });
  await expect(client(mutual).resolve('busybox')).rejects.toMatchObject({ code: 'InvalidArgument', message: 'missing client certificate client.cert for key client.key' });
});
