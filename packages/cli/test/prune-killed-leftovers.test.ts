/**
 * The space a killed `ctr pull` held comes back with the prunes a Docker user runs, as
 * dockerd clears its downloads: `ctr image prune` and `ctr system prune` remove the partial
 * download of a pull whose process is gone, and count it in "Total reclaimed space";
 * `ctr builder prune` keeps a fresh one, for the next pull of the image to resume. A pull that
 * is still running keeps its download through any prune.
 *
 * The pulls are real ctr processes against ctr's registry on 127.0.0.1, whose store sends
 * the first MiB and a half of the image's big layer and then nothing: each pull waits there
 * until the test SIGKILLs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { encodeTarHeader, MediaTypes, MemoryContentStore, TAR_END, tarPadding, writeLayer, type Descriptor, type Digest, type ReadOptions } from '@ctr/image';
import { lockOwner } from '@ctr/store';
import { RegistryClient } from '@ctr/registry';
import { startRegistry, type RunningRegistry } from '../../registry/test/support/servers';
import { humanSize } from '../src/format';
import { ctrOn, type CtrOn } from './local-ctr';

const SENT = 1536 * 1024;

/** A registry store that sends only the first `SENT` bytes of one blob, then holds the download open. */
class StallingStore extends MemoryContentStore {
  stall: Digest | undefined;

  override async read(digest: Digest, options: ReadOptions = {}): Promise<Readable> {
    const whole = await super.read(digest, options);
    if (digest !== this.stall) return whole;
    const first: Buffer[] = [];
    let taken = 0;
    for await (const chunk of whole) {
      first.push((chunk as Buffer).subarray(0, SENT - taken));
      taken += (chunk as Buffer).length;
      if (taken >= SENT) break;
    }
    const stalled = new Readable({ read: () => undefined });
    stalled.push(Buffer.concat(first));
    return stalled;
  }
}

let registry: RunningRegistry;
let image: string;
const dirs: string[] = [];
const pulls: ChildProcess[] = [];

/**
 * An image of a 4 MiB layer (random, so gzip leaves it that size) and a small one over it,
 * pushed as `leftovers/app:v1`. The big layer comes first so that a stalled pull has no layer
 * it could unpack: what it leaves is its downloads and blobs alone.
 */
async function pushImage(): Promise<Digest> {
  const local = new MemoryContentStore();
  const layerOf = async (name: string, data: Buffer): Promise<{ descriptor: Descriptor; diffId: string }> => {
    const tar = Buffer.concat([encodeTarHeader({ name, type: 'file', mode: 0o644, size: data.length }), data, tarPadding(data.length), TAR_END]);
    return writeLayer(local, Readable.from([tar]), { level: 1 });
  };
  const layers = [await layerOf('big', randomBytes(4 << 20)), await layerOf('small', Buffer.from('small file\n'))];
  const json = async (mediaType: string, value: unknown): Promise<Descriptor> => {
    const info = await local.write(Readable.from([Buffer.from(JSON.stringify(value))]));
    return { mediaType, ...info };
  };
  const config = await json(MediaTypes.ociConfig, { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) }, config: {} });
  const manifest = await json(MediaTypes.ociManifest, { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: layers.map((l) => l.descriptor) });
  const pusher = new RegistryClient({ credentials: {} });
  try {
    await pusher.push(image, { store: local, manifest });
  } finally {
    await pusher.close();
  }
  return (layers[0] as { descriptor: Descriptor }).descriptor.digest;
}

beforeAll(async () => {
  const store = new StallingStore();
  registry = await startRegistry({ store });
  image = `${registry.host}/leftovers/app:v1`;
  store.stall = await pushImage();
});

afterAll(async () => {
  await registry?.stop();
});

afterEach(async () => {
  for (const pull of pulls.splice(0)) await stop(pull);
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** ctr on a fresh root, and that root's ingest directory. */
async function freshRoot(): Promise<{ ctr: CtrOn; ingest: string; blobs: string }> {
  const root = await mkdtemp(join(tmpdir(), 'ctr-cli-leftovers-'));
  const runRoot = await mkdtemp(join(tmpdir(), 'ctr-cli-leftovers-run-'));
  dirs.push(root, runRoot);
  return { ctr: ctrOn(root, runRoot), ingest: join(root, 'content', 'ingest'), blobs: join(root, 'content', 'blobs') };
}

/**
 * Start `ctr pull` of the image; resolved once its big layer's download is on disk, stalled,
 * with the name of that download (the small layer's may still be in the ingest beside it).
 */
async function stalledPull(ctr: CtrOn, ingest: string): Promise<{ pull: ChildProcess; download: string }> {
  const [bin, ...args] = ctr.argv('pull', image);
  const pull = spawn(bin as string, args, { env: process.env, stdio: 'ignore' });
  pulls.push(pull);
  // The first MiB reaches the disk in one write (the ingest writes a MiB at a time).
  for (;;) {
    if (pull.exitCode !== null) throw new Error(`ctr pull ended (${pull.exitCode}) before it stalled`);
    const downloads = await readdir(ingest).catch(() => []);
    const sizes = await Promise.all(downloads.map((d) => stat(join(ingest, d, 'data')).then((s) => s.size, () => 0)));
    const stalled = sizes.findIndex((size) => size >= 1 << 20);
    if (stalled >= 0) return { pull, download: downloads[stalled] as string };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stop(pull: ChildProcess): Promise<void> {
  if (pull.exitCode !== null || pull.signalCode !== null) return;
  const gone = new Promise((resolve) => pull.once('exit', resolve));
  pull.kill('SIGKILL');
  await gone;
}

/** Bytes on disk under `dir` (files' blocks), as the store counts what it removes. */
async function blocks(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = join(dir, entry.name);
    total += entry.isDirectory() ? await blocks(full) : (await stat(full).catch(() => ({ blocks: 0 }))).blocks * 512;
  }
  return total;
}

/** Bytes of the blobs the killed pull stored (its manifest, config and small layer): gc counts a blob by its size. */
async function blobBytes(dir: string): Promise<number> {
  let total = 0;
  // The store keeps blobs by algorithm: blobs/sha256/<hex>.
  for (const name of await readdir(join(dir, 'sha256')).catch(() => [])) if (/^[0-9a-f]{64}$/.test(name)) total += (await stat(join(dir, 'sha256', name))).size;
  return total;
}

describe('a killed ctr pull', () => {
  test.each([['image'], ['system']])('leaves a partial download that `ctr %s prune -f` removes and counts in the space reclaimed', async (kind) => {
    const { ctr, ingest, blobs } = await freshRoot();
    await stop((await stalledPull(ctr, ingest)).pull);
    const download = await blocks(ingest);
    expect(download).toBeGreaterThanOrEqual(1 << 20);
    // The blobs the pull had finished go too: no image names them, and its lease ended with it.
    const expected = download + (await blobBytes(blobs));

    const pruned = await ctr.run(kind, 'prune', '-f');
    expect(pruned).toMatchObject({ code: 0, stderr: '' });
    expect(pruned.stdout).toContain(`Total reclaimed space: ${humanSize(expected)}\n`);
    expect(await readdir(ingest)).toEqual([]);
  });

  test('leaves a fresh partial download that `ctr builder prune -f` keeps for the next pull to resume', async () => {
    const { ctr, ingest } = await freshRoot();
    const { pull, download } = await stalledPull(ctr, ingest);
    await stop(pull);
    // Only the stalled download: the small layer's ingest may be a finished write's empty directory, which any engine sweeps.
    const before = (await stat(join(ingest, download, 'data'))).size;

    expect(await ctr.run('builder', 'prune', '-f')).toMatchObject({ code: 0, stderr: '' });
    expect((await stat(join(ingest, download, 'data'))).size).toBe(before);
  });
});

describe('a ctr pull still running', () => {
  test('keeps its partial download, and its hold on it, through `ctr system prune -f`', async () => {
    const { ctr, ingest } = await freshRoot();
    const { pull, download } = await stalledPull(ctr, ingest);

    expect(await ctr.run('system', 'prune', '-f')).toMatchObject({ code: 0, stderr: '' });
    expect(await readdir(ingest)).toContain(download);
    expect(await lockOwner(join(ingest, download, 'lock'))).toBe(pull.pid);
    expect(pull.exitCode).toBeNull();
  });
});
