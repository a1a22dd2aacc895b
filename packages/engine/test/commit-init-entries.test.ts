/**
 * What the runtime makes in a container's root to mount over (`/etc/hosts`, `/etc/resolv.conf`,
 * `/etc/hostname`, the `/etc` copied up to hold them, `/proc`, `/sys`, `/dev` and `/etc` where
 * an image lacks them) is docker's init layer: never in a commit's layer, never in `docker
 * diff` — while what the container itself changed there is (real runc, overlayfs).
 */
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { EMPTY_LAYER_DIFF_ID, TarReader, type Digest } from '@ctr/image';
import { openStore } from '@ctr/store';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let bare: string;

beforeAll(async () => {
  t = await testEngine();
  // An image of one static program: no /etc, /proc, /sys or /dev of its own.
  bare = await mkdtemp(join(tmpdir(), 'ctr-engine-bare-'));
  await mkdir(join(bare, 'bin'));
  await copyFile('/bin/busybox', join(bare, 'bin', 'busybox'));
  await symlink('busybox', join(bare, 'bin', 'sh'));
  await t.engine.importImage({ dir: bare }, { name: 'bare:1', config: { Cmd: ['/bin/sh'] } });
});

afterAll(async () => {
  await t?.cleanup();
  if (bare) await rm(bare, { recursive: true, force: true });
});

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs `script` in a container of `image` to its end; gives the container's ID. */
async function ran(script: string, image = 'busybox'): Promise<string> {
  const { id, exitCode } = await t.engine.run({ image, pull: 'never', network: 'none', cmd: ['sh', '-c', script] });
  expect(exitCode).toBe(0);
  return id;
}

/** The entries of the layer a commit of `container` adds, by name. */
async function committedLayer(container: string): Promise<string[]> {
  const { id } = await t.engine.commit(container);
  await t.engine.remove(container);
  const store = await openStore({ root: t.root });
  const manifest = JSON.parse((await readAll(await store.content.read((await t.engine.inspectImage(id)).Descriptor.digest))).toString()) as { layers: Array<{ digest: Digest }> };
  const top = manifest.layers[manifest.layers.length - 1] as { digest: Digest };
  const reader = new TarReader((await store.content.read(top.digest)).pipe(createGunzip()));
  const names: string[] = [];
  for (let entry = await reader.next(); entry; entry = await reader.next()) names.push(entry.header.name);
  return names.sort();
}

describe('commit', () => {
  test('of a container that changed nothing adds an empty layer, of 0 bytes in its history', async () => {
    const container = await ran('true');
    const { id } = await t.engine.commit(container);
    await t.engine.remove(container);
    expect((await t.engine.inspectImage(id)).RootFS.Layers.at(-1)).toBe(EMPTY_LAYER_DIFF_ID);
    expect((await t.engine.history(id))[0]?.Size).toBe(0);
  });

  test('leaves out the /etc copied up to hold the mounted files', async () => {
    expect(await committedLayer(await ran('echo x > /tmp/made'))).toEqual(['tmp/', 'tmp/made']);
  });

  test("keeps /etc with what the container made in it, but not the runtime's files", async () => {
    expect(await committedLayer(await ran('echo x > /etc/made'))).toEqual(['etc/', 'etc/made']);
  });

  test("keeps /etc when the container changed /etc's own mode", async () => {
    expect(await committedLayer(await ran('chmod 700 /etc'))).toEqual(['etc/']);
  });

  test('of an image without /etc, /proc, /sys and /dev leaves out the ones the runtime made', async () => {
    expect(await committedLayer(await ran('echo x > /made', 'bare:1'))).toEqual(['made']);
  });
});

describe('diff', () => {
  test("does not show the runtime's entries of a container that changed nothing", async () => {
    const container = await ran('true');
    expect(await t.engine.changes(container)).toEqual([]);
    await t.engine.remove(container);
  });

  test("shows /etc as changed when the container changed /etc's own mode", async () => {
    const container = await ran('chmod 700 /etc');
    expect(await t.engine.changes(container)).toEqual([{ Path: '/etc', Kind: 0 }]);
    await t.engine.remove(container);
  });

  test('of an image without /etc, /proc, /sys and /dev does not show the ones the runtime made', async () => {
    const container = await ran('echo x > /made', 'bare:1');
    expect(await t.engine.changes(container)).toEqual([{ Path: '/made', Kind: 1 }]);
    await t.engine.remove(container);
  });
});
