/**
 * `ctr manifest`, as docker 28's `docker manifest`: lists made locally from manifests already
 * in a registry (stored under the config directory in docker's layout, which the docker CLI
 * reads), annotated, then pushed; against real registries on 127.0.0.1 (the Debian
 * docker-registry, and ctr's own server for the push). The images are busybox imported for
 * linux/amd64 and linux/arm64 and pushed to `src/app`.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createBusyboxRootfs, digestOf, MediaTypes, MemoryContentStore, type Descriptor } from '@ctr/image';
import { runProcess } from '../../../test/support/run-process';
import { startBothRegistries, type BothRegistries } from '../../registry/test/support/both-registries';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
let servers: BothRegistries;
let config: string;
/** The pushed images' manifest digests, by registry host then platform. */
const pushed = new Map<string, { amd64: string; arm64: string }>();

const debian = (): string => servers.distribution.host;

beforeAll(async () => {
  [ctr, servers] = await Promise.all([localCtr('manifest'), startBothRegistries('ctr-cli-manifest-')]);
  config = await mkdtemp(join(tmpdir(), 'ctr-cli-manifest-config-'));
  const rootfs = await mkdtemp(join(tmpdir(), 'ctr-cli-manifest-rootfs-'));
  try {
    await createBusyboxRootfs(rootfs);
    for (const arch of ['amd64', 'arm64'] as const) {
      const imported = await ctr.run('import', '-c', 'CMD ["sh"]', '--platform', `linux/${arch}`, rootfs, `app:${arch}`);
      if (imported.code !== 0) throw new Error(`ctr import: ${imported.stderr}`);
    }
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
  for (const host of [servers.distribution.host, servers.ctrRegistry.host]) {
    const digests = { amd64: '', arm64: '' };
    for (const arch of ['amd64', 'arm64'] as const) {
      await ctr.run('tag', `app:${arch}`, `${host}/src/app:${arch}`);
      const push = await ctr.run('push', `${host}/src/app:${arch}`);
      if (push.code !== 0) throw new Error(`ctr push: ${push.stderr}`);
      digests[arch] = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1] as string;
    }
    pushed.set(host, digests);
  }
}, 120_000);

afterAll(async () => {
  await servers?.close();
  await ctr?.cleanup();
  if (config) await rm(config, { recursive: true, force: true });
});

/** `ctr manifest args…` with the test's config directory. */
const manifest = (...args: string[]): Promise<CtrResult> => ctr.runWith({ env: { ...process.env, CTR_CONFIG: config } }, 'manifest', ...args);

/** A list of the two pushed images of `host`, created as `list`. */
async function created(host: string, list: string): Promise<void> {
  const result = await manifest('create', list, `${host}/src/app:amd64`, `${host}/src/app:arm64`);
  expect(result).toMatchObject({ code: 0, stdout: `Created manifest list ${list}\n` });
}

/** A Docker v2 (schema 2) manifest for linux/s390x with one layer, pushed as `ref`. */
async function pushDockerV2(ref: string): Promise<Descriptor> {
  const store = new MemoryContentStore();
  const put = async (bytes: Buffer, mediaType: string): Promise<Descriptor> => ({ mediaType, ...(await store.write(Readable.from([bytes]))) });
  const tar = Buffer.alloc(1024);
  const layer = await put(gzipSync(tar), MediaTypes.dockerLayerGzip);
  const image = await put(Buffer.from(JSON.stringify({ architecture: 's390x', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [digestOf(tar)] } })), MediaTypes.dockerConfig);
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: image, layers: [layer] }, null, 3));
  const descriptor = await put(manifestBytes, MediaTypes.dockerManifest);
  await servers.registryClient.push(ref, { store, manifest: descriptor });
  return descriptor;
}

describe('create', () => {
  test('stores the list in docker\'s layout under the config directory, and says so', async () => {
    const list = `${debian()}/lists/create:v1`;
    await created(debian(), list);
    const file = join(config, 'manifests', `${debian().replace(':', '-')}_lists_create-v1`, `${debian().replace(':', '-')}_src_app-arm64`);
    const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(stored)).toEqual(['Ref', 'Descriptor', 'Raw', 'OCIManifest']);
    expect(stored.Ref).toBe(`${debian()}/src/app:arm64`);
    expect(stored.Descriptor).toEqual({ mediaType: MediaTypes.ociManifest, digest: pushed.get(debian())!.arm64, size: expect.any(Number), platform: { architecture: 'arm64', os: 'linux' } });
  });

  test('the docker CLI reads a list ctr created as ctr does', async () => {
    const list = `${debian()}/lists/shared:v1`;
    await created(debian(), list);
    const byDocker = await runProcess('docker', ['manifest', 'inspect', '-v', list], { env: { ...process.env, DOCKER_CONFIG: config } });
    expect(byDocker.code).toBe(0);
    expect((await manifest('inspect', '-v', list)).stdout).toBe(byDocker.stdout);
  });

  test('ctr reads and pushes a list the docker CLI created', async () => {
    const list = `${debian()}/lists/by-docker:v1`;
    const env = { ...process.env, DOCKER_CONFIG: config };
    const byDocker = await runProcess('docker', ['manifest', 'create', '--insecure', list, `${debian()}/src/app:amd64`, `${debian()}/src/app:arm64`], { env });
    expect(byDocker).toMatchObject({ code: 0, stdout: `Created manifest list ${list}\n` });
    const inspectedByDocker = await runProcess('docker', ['manifest', 'inspect', list], { env });
    expect((await manifest('inspect', list)).stdout).toBe(inspectedByDocker.stdout);
    const push = await manifest('push', list);
    expect(push.code).toBe(0);
    expect(push.stdout.split('\n').at(-2)).toBe((await servers.registryClient.fetchManifest(list)).descriptor.digest);
  });

  test('over an existing list is refused in docker\'s words without --amend, and adds to it with', async () => {
    const list = `${debian()}/lists/amend:v1`;
    expect(await manifest('create', list, `${debian()}/src/app:amd64`)).toMatchObject({ code: 0 });
    expect(await manifest('create', list, `${debian()}/src/app:arm64`)).toMatchObject({ code: 1, stdout: '', stderr: 'refusing to amend an existing manifest list with no --amend flag\n' });
    expect(await manifest('create', '--amend', list, `${debian()}/src/app:arm64`)).toMatchObject({ code: 0, stdout: `Created manifest list ${list}\n` });
    const index = JSON.parse((await manifest('inspect', list)).stdout) as { manifests: { platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
  });

  test('refuses a manifest list as one of its manifests, in docker\'s words', async () => {
    const source = `${debian()}/lists/source:v1`;
    await created(debian(), source);
    expect((await manifest('push', source)).code).toBe(0);
    expect(await manifest('create', `${debian()}/lists/of-a-list:v1`, source)).toMatchObject({ code: 1, stderr: `${source} is a manifest list\n` });
  });
});

describe('inspect', () => {
  test('of a local list prints the OCI index of its manifests as docker lays it out, platforms from their configs', async () => {
    const list = `${debian()}/lists/inspect:v1`;
    await created(debian(), list);
    const result = await manifest('inspect', list);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('{\n   "schemaVersion": 2,\n   "mediaType": "application/vnd.oci.image.index.v1+json",\n')).toBe(true);
    const index = JSON.parse(result.stdout) as { manifests: { digest: string; platform: object }[] };
    const { amd64, arm64 } = pushed.get(debian())!;
    expect(index.manifests.map((m) => [m.digest, m.platform])).toEqual([
      [amd64, { architecture: 'amd64', os: 'linux' }],
      [arm64, { architecture: 'arm64', os: 'linux' }],
    ]);
  });

  test('of a list\'s manifest prints the manifest tab-indented; -v docker\'s Ref, Descriptor, Raw and OCIManifest', async () => {
    const list = `${debian()}/lists/inspect-one:v1`;
    await created(debian(), list);
    const plain = await manifest('inspect', list, `${debian()}/src/app:amd64`);
    const fetched = await servers.registryClient.fetchManifest(`${debian()}/src/app:amd64`);
    expect(plain).toMatchObject({ code: 0, stdout: `${JSON.stringify(JSON.parse(fetched.bytes.toString('utf8')), null, '\t')}\n` });
    const verbose = JSON.parse((await manifest('inspect', '-v', list, `${debian()}/src/app:amd64`)).stdout) as Record<string, unknown>;
    expect(Object.keys(verbose)).toEqual(['Ref', 'Descriptor', 'Raw', 'OCIManifest']);
    expect(Buffer.from(verbose.Raw as string, 'base64')).toEqual(fetched.bytes);
    expect(verbose.OCIManifest).toEqual(JSON.parse(fetched.bytes.toString('utf8')));
  });

  test('of a manifest the registry does not have is docker\'s "no such manifest"', async () => {
    const missing = `${debian()}/src/app:missing`;
    expect(await manifest('inspect', missing)).toMatchObject({ code: 1, stdout: '', stderr: `no such manifest: ${missing}\n` });
    expect(await manifest('inspect', `${debian()}/nowhere/app`)).toMatchObject({ code: 1, stderr: `no such manifest: ${debian()}/nowhere/app:latest\n` });
  });

  test('of a local list with no entries asks the registry, as docker does', async () => {
    const list = `${debian()}/lists/inspect-empty:v1`;
    await mkdir(join(config, 'manifests', `${debian().replace(':', '-')}_lists_inspect-empty-v1`), { recursive: true });
    expect(await manifest('inspect', list)).toMatchObject({ code: 1, stdout: '', stderr: `no such manifest: ${list}\n` });
  });

  test('of a local list it cannot read is that error, not the registry\'s answer', async () => {
    const list = `${debian()}/lists/inspect-corrupt:v1`;
    const dir = join(config, 'manifests', `${debian().replace(':', '-')}_lists_inspect-corrupt-v1`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'entry'), 'not json');
    expect(await manifest('inspect', list)).toMatchObject({ code: 1, stdout: '', stderr: `invalid manifest file ${join(dir, 'entry')}: not an image manifest docker's CLI or ctr wrote\n` });
  });

  test('of a manifest a local list does not hold names it', async () => {
    const list = `${debian()}/lists/inspect-missing:v1`;
    await created(debian(), list);
    expect(await manifest('inspect', list, `${debian()}/src/app:other`)).toMatchObject({ code: 1, stderr: `No such manifest: ${debian()}/src/app:other\n` });
  });
});

describe('annotate', () => {
  test('sets the entry\'s platform: variant, OS version, OS features each once', async () => {
    const list = `${debian()}/lists/annotate:v1`;
    await created(debian(), list);
    const annotated = await manifest('annotate', list, `${debian()}/src/app:arm64`, '--variant', 'v8', '--os-version', '1.0', '--os-features', 'a,b', '--os-features', 'a');
    expect(annotated).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const index = JSON.parse((await manifest('inspect', list)).stdout) as { manifests: { platform: object }[] };
    expect(index.manifests[1]?.platform).toEqual({ architecture: 'arm64', os: 'linux', 'os.version': '1.0', 'os.features': ['a', 'b'], variant: 'v8' });
  });

  test('refuses an os/arch docker does not know, naming what was given, and leaves the entry', async () => {
    const list = `${debian()}/lists/annotate-bad:v1`;
    await created(debian(), list);
    expect(await manifest('annotate', list, `${debian()}/src/app:arm64`, '--os', 'plan10')).toMatchObject({ code: 1, stderr: 'manifest entry for image has unsupported os/arch combination: plan10/\n' });
    const index = JSON.parse((await manifest('inspect', list)).stdout) as { manifests: { platform: object }[] };
    expect(index.manifests[1]?.platform).toEqual({ architecture: 'arm64', os: 'linux' });
  });

  test('of a manifest the list does not hold is refused in docker\'s words', async () => {
    const list = `${debian()}/lists/annotate-missing:v1`;
    await created(debian(), list);
    expect(await manifest('annotate', list, `${debian()}/src/app:other`, '--arch', 'amd64')).toMatchObject({ code: 1, stderr: `manifest for image ${debian()}/src/app:other does not exist in ${list}\n` });
  });
});

describe.each([
  ['the Debian docker-registry', (): string => servers.distribution.host],
  ['ctr\'s registry server', (): string => servers.ctrRegistry.host],
])('push to %s', (_name, registryHost) => {
  test('mounts the manifests into the list\'s repository, pushes the index and prints its digest; --purge forgets the list', async () => {
    const host = registryHost();
    const list = `${host}/multi/app:v1`;
    await created(host, list);
    expect((await manifest('annotate', list, `${host}/src/app:arm64`, '--variant', 'v8')).code).toBe(0);
    const result = await manifest('push', '--purge', list);
    const { amd64, arm64 } = pushed.get(host)!;
    const index = await servers.registryClient.fetchManifest(list);
    expect(result).toMatchObject({
      code: 0,
      stderr: '',
      stdout: [`Pushed ref ${host}/multi/app@${amd64} with digest: ${amd64}`, `Pushed ref ${host}/multi/app@${arm64} with digest: ${arm64}`, index.descriptor.digest, ''].join('\n'),
    });
    expect(index.descriptor.mediaType).toBe(MediaTypes.ociIndex);
    expect(await manifest('rm', list)).toMatchObject({ code: 1, stderr: `No such manifest: ${list}\n` });
    // Now from the registry: the pushed index, both platforms.
    const inspected = JSON.parse((await manifest('inspect', list)).stdout) as { manifests: { digest: string; platform: object }[] };
    expect(inspected.manifests.map((m) => [m.digest, m.platform])).toEqual([
      [amd64, { architecture: 'amd64', os: 'linux' }],
      [arm64, { architecture: 'arm64', os: 'linux', variant: 'v8' }],
    ]);
  });

  test('of the list then gives each platform its own image to `ctr pull --platform`', async () => {
    const host = registryHost();
    const list = `${host}/multi/pull:v1`;
    await created(host, list);
    expect((await manifest('push', list)).code).toBe(0);
    for (const arch of ['arm64', 'amd64']) {
      expect((await ctr.run('pull', '-q', '--platform', `linux/${arch}`, list)).code).toBe(0);
      expect((await ctr.run('image', 'inspect', '--format', '{{.Architecture}}', list)).stdout).toBe(`${arch}\n`);
    }
  });
});

describe('push', () => {
  test('of Docker v2 manifests sends a Docker manifest list', async () => {
    const host = debian();
    const image = await pushDockerV2(`${host}/v2/app:s390x`);
    const list = `${host}/v2/app:list`;
    expect((await manifest('create', list, `${host}/v2/app:s390x`)).code).toBe(0);
    const result = await manifest('push', list);
    const index = await servers.registryClient.fetchManifest(list);
    // The image is in the list's repository already: nothing to mount, only the list's digest.
    expect(result).toMatchObject({ code: 0, stdout: `${index.descriptor.digest}\n` });
    expect(index.descriptor.mediaType).toBe(MediaTypes.dockerManifestList);
    expect(JSON.parse(index.bytes.toString('utf8'))).toEqual({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifestList,
      manifests: [{ mediaType: MediaTypes.dockerManifest, size: image.size, digest: image.digest, platform: { architecture: 's390x', os: 'linux' } }],
    });
  });

  test('of a manifest from another registry is refused in docker\'s words, as is inspecting the list', async () => {
    const list = `${debian()}/lists/cross:v1`;
    expect((await manifest('create', list, `${servers.ctrRegistry.host}/src/app:amd64`)).code).toBe(0);
    const refusal = `cannot use source images from a different registry than the target image: ${servers.ctrRegistry.host} != ${debian()}`;
    expect(await manifest('push', list)).toMatchObject({ code: 1, stdout: '', stderr: `${refusal}\n` });
    expect(await manifest('inspect', list)).toMatchObject({ code: 1, stderr: `failed to assemble ManifestDescriptor: ${refusal}\n` });
  });

  test('of a list there is not is docker\'s "No such manifest"', async () => {
    expect(await manifest('push', `${debian()}/lists/none:v1`)).toMatchObject({ code: 1, stderr: `No such manifest: ${debian()}/lists/none:v1\n` });
  });
});

describe('rm', () => {
  test('removes each list; the ones there are not are said, one a line, after the others are gone', async () => {
    const list = `${debian()}/lists/rm:v1`;
    await created(debian(), list);
    const result = await manifest('rm', `${debian()}/lists/rm-none:v1`, list, `${debian()}/lists/rm-none:v2`);
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: `No such manifest: ${debian()}/lists/rm-none:v1\nNo such manifest: ${debian()}/lists/rm-none:v2\n` });
    expect(existsSync(join(config, 'manifests', `${debian().replace(':', '-')}_lists_rm-v1`))).toBe(false);
  });
});
