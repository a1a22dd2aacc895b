/**
 * Loopback and insecure registries as Docker reaches them: HTTPS first without verifying the
 * certificate, plain HTTP when TLS fails, the answer remembered per client. Against the real
 * RegistryServer on 127.0.0.1, served over TLS with a self-signed certificate and over HTTP.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { MemoryContentStore } from '@ctr/image';
import { RegistryClient, RegistryServer, type RegistryClientOptions } from '@ctr/registry';
import { makeTlsCertificates } from '../../../test/support/tls-certs';
import { makeImage, readAll, type TestImage } from './support/images';
import { loopbackOnly, type LoopbackGuard } from './support/loopback-only';
import { startRegistry, type RunningRegistry } from './support/servers';
import { freePort } from '../../../test/support/free-port';

let work: string;
let guard: LoopbackGuard;
let secure: RegistryServer;
let plain: RunningRegistry;
let local: MemoryContentStore;
let image: TestImage;
const clients: RegistryClient[] = [];

/** Ports that TLS connections were opened to, in this process. */
const tlsAttempts: number[] = [];
const tlsConnect = tls.connect;

beforeAll(async () => {
  guard = loopbackOnly();
  const guarded = tls.connect;
  (tls as { connect: unknown }).connect = (...args: unknown[]) => {
    const port = (args[0] as { port?: unknown } | undefined)?.port;
    if (port !== undefined) tlsAttempts.push(Number(port));
    return (guarded as (...a: unknown[]) => tls.TLSSocket)(...args);
  };
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-insecure-https-first-'));
  await makeTlsCertificates(work);
  // The server's CA is in no trust store: only skipping verification lets a client in.
  secure = new RegistryServer({
    store: new MemoryContentStore(),
    root: path.join(work, 'tls-registry'),
    tls: { cert: await fs.readFile(path.join(work, 'server-cert.pem')), key: await fs.readFile(path.join(work, 'server-key.pem')) },
    auth: { type: 'basic', users: { alice: 'wonderland' } },
  });
  await secure.listen();
  plain = await startRegistry();
  local = new MemoryContentStore();
  image = await makeImage(local, [4000]);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  tlsAttempts.length = 0;
});

afterAll(async () => {
  (tls as { connect: unknown }).connect = tlsConnect;
  await secure?.close();
  await plain?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
  guard?.restore();
  expect(guard.refused).toEqual([]);
});

function client(options: RegistryClientOptions = {}): RegistryClient {
  const made = new RegistryClient({ credentials: { username: 'alice', password: 'wonderland' }, ...options });
  clients.push(made);
  return made;
}

function tlsAttemptsAt(host: string): number {
  return tlsAttempts.filter((port) => `127.0.0.1:${port}` === host).length;
}

async function pullBack(from: RegistryClient, reference: string): Promise<void> {
  const target = new MemoryContentStore();
  const pulled = await from.pull(reference, { store: target });
  expect(pulled.manifest.digest).toBe(image.manifest.digest);
  for (const [digest, bytes] of image.blobs) expect(await readAll(await target.read(digest))).toEqual(bytes);
}

test('a loopback registry served over TLS with an unverified certificate is pushed to and pulled from over HTTPS', async () => {
  const reference = `${secure.host}/tls/app:v1`;
  await client().push(reference, { store: local, manifest: image.manifest });
  await pullBack(client(), reference);
  expect(await client().listTags(`${secure.host}/tls/app`)).toEqual(['v1']);
});

test('a loopback registry served over plain HTTP is pushed to and pulled from after the TLS attempt fails', async () => {
  const reference = `${plain.host}/plain/app:v1`;
  await client().push(reference, { store: local, manifest: image.manifest });
  await pullBack(client(), reference);
});

test('login checks a TLS loopback registry over HTTPS, and a refusal names the https origin', async () => {
  await expect(client().ping(secure.host)).resolves.toBeUndefined();
  await expect(client({ credentials: { username: 'alice', password: 'wrong' } }).ping(secure.host)).rejects.toMatchObject({
    code: 'Unauthorized',
    message: `login attempt to https://${secure.host}/v2/ failed with status: 401 Unauthorized`,
  });
});

test('the TLS attempt at a plain-HTTP registry is made once per client, not per request', async () => {
  const one = client();
  await one.push(`${plain.host}/once/app:v1`, { store: local, manifest: image.manifest });
  await one.resolve(`${plain.host}/once/app:v1`);
  await one.listTags(`${plain.host}/once/app`);
  await one.pull(`${plain.host}/once/app:v1`, { store: new MemoryContentStore() });
  await one.ping(plain.host);
  expect(tlsAttemptsAt(plain.host)).toBe(1);

  await client().resolve(`${plain.host}/once/app:v1`);
  expect(tlsAttemptsAt(plain.host)).toBe(2);
});

test('a registry neither loopback nor insecure keeps verifying certificates, even on 127.0.0.1', async () => {
  const hub = client({ dockerHubEndpoint: `https://${secure.host}` });
  await expect(hub.resolve('library/busybox:latest')).rejects.toMatchObject({
    code: 'Unavailable',
    message: expect.stringMatching(/cannot reach registry docker\.io: .*certificate/),
  });
});

test('a loopback registry answering neither over HTTPS nor over HTTP is Unavailable, naming both attempts', async () => {
  const host = `127.0.0.1:${await freePort()}`;
  await expect(client().pull(`${host}/gone/app:v1`, { store: new MemoryContentStore() })).rejects.toMatchObject({
    code: 'Unavailable',
    message: `manifest for ${host}/gone/app:v1: cannot reach registry ${host}: connection refused (tried https://${host}/v2/, then http://${host}/v2/)`,
  });
  await expect(client().push(`${host}/gone/app:v1`, { store: local, manifest: image.manifest })).rejects.toMatchObject({
    code: 'Unavailable',
    message: expect.stringContaining(`cannot reach registry ${host}: connection refused (tried https://${host}/v2/, then http://${host}/v2/)`),
  });
});
