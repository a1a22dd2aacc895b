import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { MediaTypes, type Descriptor, type DiffID, type Digest } from '@ctr/image';
import { openStore, type Store, type UnpackLayer } from '@ctr/store';

export const exec = promisify(execFile);

/** A fresh directory for one test; /dev/shm because tests want speed more than durability. */
export async function tempDir(prefix: string): Promise<string> {
  const base = (await fs.stat('/dev/shm').catch(() => undefined)) ? '/dev/shm' : os.tmpdir();
  return fs.mkdtemp(path.join(base, `ctr-store-test-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

export async function newStore(prefix: string): Promise<{ store: Store; root: string }> {
  const root = await tempDir(prefix);
  return { store: await openStore({ root }), root };
}

export function bytes(text: string): Readable {
  return Readable.from([Buffer.from(text)]);
}

/** Every file under a directory, relative, sorted (to prove nothing was left behind). */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, entry.name);
      out.push(path.relative(dir, p));
      if (entry.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** A gzip layer tar holding `files` (path → content), made with GNU tar; returns blob and diffID. */
export async function makeLayer(work: string, files: Record<string, string>): Promise<{ blob: Buffer; diffId: DiffID }> {
  const src = await fs.mkdtemp(path.join(work, 'layer-'));
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(src, name)), { recursive: true });
    await fs.writeFile(path.join(src, name), content);
  }
  const { stdout } = await exec('tar', ['-C', src, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  await fs.rm(src, { recursive: true, force: true });
  const tar = stdout as Buffer;
  const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}` as DiffID;
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([tar]), createGzip(), async function (source: AsyncIterable<Buffer>) {
    for await (const c of source) chunks.push(c as Buffer);
  });
  return { blob: Buffer.concat(chunks), diffId };
}

/** Run a TypeScript file as a separate node process (sources loaded by the test register hook). */
export function spawnTs(file: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['-r', path.join(__dirname, 'fixtures', 'ts-register.js'), file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function waitExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout })));
}

export interface TestImage {
  target: Descriptor;
  config: Digest;
  layers: { blob: Buffer; digest: Digest; diffId: DiffID }[];
}

/** Store a small image's blobs (layers, config, manifest) as a pull would; no name yet. */
export async function writeImage(store: Store, work: string, layerFiles: Record<string, string>[]): Promise<TestImage> {
  const layers = [];
  for (const files of layerFiles) {
    const { blob, diffId } = await makeLayer(work, files);
    const { digest } = await store.content.write(Readable.from([blob]));
    layers.push({ blob, digest, diffId });
  }
  return writeImageOf(store, layers);
}

/** Store the config and manifest of an image made of layers already stored (shared with another image). */
export async function writeImageOf(store: Store, layers: TestImage['layers']): Promise<TestImage> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }));
  const configInfo = await store.content.write(Readable.from([config]));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: configInfo.digest, size: configInfo.size },
      layers: layers.map((l) => ({ mediaType: MediaTypes.ociLayerGzip, digest: l.digest, size: l.blob.length })),
    }),
  );
  const m = await store.content.write(Readable.from([manifest]));
  return { target: { mediaType: MediaTypes.ociManifest, digest: m.digest, size: m.size }, config: configInfo.digest, layers };
}

/** The layers of a TestImage as unpackLayers wants them. */
export function unpackable(image: TestImage): UnpackLayer[] {
  return image.layers.map((l) => ({ diffId: l.diffId, compression: 'gzip', read: async () => Readable.from([l.blob]) }));
}
