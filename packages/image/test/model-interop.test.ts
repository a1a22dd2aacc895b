import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  Annotations,
  appendLayer,
  createImageConfig,
  createIndex,
  createManifest,
  digestHex,
  digestOf,
  historyEntry,
  MediaTypes,
  parseImageConfig,
  parseIndex,
  parseManifest,
  schemaProblems,
  serializeImageConfig,
  serializeIndex,
  serializeManifest,
  withContainerConfig,
  type Descriptor,
  type DiffID,
} from '@ctr/image';

/**
 * The model against tools ctr did not write: documents umoci makes must parse and
 * validate here, and documents made here must be read by skopeo and umoci.
 */

const run = promisify(execFile);

async function tool(command: string, args: string[]): Promise<string> {
  return (await run(command, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

async function blob(layout: string, descriptor: Descriptor): Promise<Buffer> {
  return readFile(join(layout, 'blobs', 'sha256', digestHex(descriptor.digest)));
}

/** A one-file uncompressed tar, made by GNU tar so the layer is not ours either. */
async function layerTar(dir: string): Promise<Buffer> {
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src', 'hello.txt'), 'hello from the model test\n');
  await tool('tar', ['--format=posix', '-C', join(dir, 'src'), '-cf', join(dir, 'layer.tar'), 'hello.txt']);
  return readFile(join(dir, 'layer.tar'));
}

describe('image documents interoperate with umoci and skopeo', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-model-interop-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('an image umoci made parses into the values umoci was given and satisfies the OCI schemas', async () => {
    const layout = join(dir, 'layout');
    await tool('umoci', ['init', '--layout', layout]);
    await tool('umoci', ['new', '--image', `${layout}:t`]);
    await mkdir(join(dir, 'payload'));
    await writeFile(join(dir, 'payload', 'file'), 'payload\n');
    await tool('umoci', ['insert', '--rootless', '--image', `${layout}:t`, join(dir, 'payload'), '/data']);
    await tool('umoci', [
      'config', '--image', `${layout}:t`,
      '--config.cmd', 'sh', '--config.env', 'GREETING=hi', '--config.exposedports', '8080/tcp',
      '--config.label', 'org.example=yes', '--config.volume', '/data', '--config.workingdir', '/srv',
      '--config.user', '1000', '--config.stopsignal', 'SIGINT', '--author', 'umoci test',
    ]);

    const indexBytes = await readFile(join(layout, 'index.json'));
    const index = parseIndex(indexBytes);
    expect(schemaProblems('index', indexBytes)).toEqual([]);
    const entry = index.manifests.find((m) => m.annotations?.[Annotations.refName] === 't');
    if (entry === undefined) throw new Error('umoci wrote no entry for tag t');

    const manifestBytes = await blob(layout, entry);
    expect(digestOf(manifestBytes)).toBe(entry.digest);
    const manifest = parseManifest(manifestBytes, entry.mediaType);
    expect(schemaProblems('manifest', manifestBytes)).toEqual([]);
    expect(manifest.layers).toHaveLength(1);

    const configBytes = await blob(layout, manifest.config);
    expect(schemaProblems('config', configBytes)).toEqual([]);
    const config = parseImageConfig(configBytes);
    expect(config.author).toBe('umoci test');
    expect(config.rootfs.diff_ids).toHaveLength(1);
    expect(config.config).toMatchObject({
      Cmd: ['sh'],
      ExposedPorts: { '8080/tcp': {} },
      Labels: { 'org.example': 'yes' },
      Volumes: { '/data': {} },
      WorkingDir: '/srv',
      User: '1000',
      StopSignal: 'SIGINT',
    });
    expect(config.config?.Env).toContain('GREETING=hi');
  });

  test('an image made with createImageConfig/createManifest/createIndex is read by skopeo and unpacked by umoci', async () => {
    const layout = join(dir, 'made');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    const put = async (bytes: Buffer): Promise<void> => writeFile(join(layout, 'blobs', 'sha256', digestHex(digestOf(bytes))), bytes);

    const tar = await layerTar(dir);
    const layer: Descriptor = { mediaType: MediaTypes.ociLayer, digest: digestOf(tar), size: tar.length };
    const diffId = digestOf(tar) as string as DiffID;
    const config = withContainerConfig(
      appendLayer(
        createImageConfig({ platform: { os: 'linux', architecture: 'x86_64' }, created: new Date('2024-01-01T00:00:00Z') }),
        diffId,
        historyEntry('/bin/sh -c #(nop) COPY file:hello in / ', { created: '2024-01-01T00:00:00Z' }),
      ),
      { Cmd: ['/bin/sh'], Env: ['PATH=/bin', 'MADE_BY=ctr'], Labels: { made: 'ctr' } },
    );
    const configDoc = serializeImageConfig(config);
    const manifestDoc = serializeManifest(createManifest({ config: configDoc.descriptor, layers: [layer] }));
    const indexDoc = serializeIndex(createIndex({
      manifests: [{ ...manifestDoc.descriptor, annotations: { [Annotations.refName]: 'v1' } }],
    }));
    await put(tar);
    await put(configDoc.bytes);
    await put(manifestDoc.bytes);
    await writeFile(join(layout, 'index.json'), indexDoc.bytes);
    await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');

    const info = JSON.parse(await tool('skopeo', ['inspect', `oci:${layout}:v1`])) as Record<string, unknown>;
    expect(info).toMatchObject({
      Digest: manifestDoc.descriptor.digest,
      Architecture: 'amd64',
      Os: 'linux',
      Layers: [layer.digest],
      Env: ['PATH=/bin', 'MADE_BY=ctr'],
      Labels: { made: 'ctr' },
    });
    const rawConfig = await tool('skopeo', ['inspect', '--raw', '--config', `oci:${layout}:v1`]);
    expect(digestOf(Buffer.from(rawConfig))).toBe(configDoc.descriptor.digest);

    await tool('skopeo', ['copy', '--quiet', `oci:${layout}:v1`, `oci:${join(dir, 'copy')}:v1`]);
    await tool('umoci', ['unpack', '--rootless', '--image', `${join(dir, 'copy')}:v1`, join(dir, 'bundle')]);
    expect(await readFile(join(dir, 'bundle', 'rootfs', 'hello.txt'), 'utf8')).toBe('hello from the model test\n');
  });
});
