/**
 * `onSize`: a layer's size as an unpacked layer's is measured (moby's directory.Size, ctr's
 * `layerSize`), told once its tar has ended, so a commit knows it without unpacking: a file's
 * length, a symlink's target's, a hard link once, directories and whiteouts nothing.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createLayerFromDirectory, createLayerFromOverlay } from '../src';
import { scratch, type Scratch } from './tar-fixtures';

let s: Scratch;
beforeEach(async () => {
  s = await scratch('ctr-layer-create-size-');
});
afterEach(async () => {
  await s.remove();
});

/** The sizes `onSize` told, once the whole tar was read: one. */
async function toldSize(make: (onSize: (size: number) => void) => Readable): Promise<number[]> {
  const told: number[] = [];
  for await (const chunk of make((size) => told.push(size))) void chunk;
  return told;
}

test("a directory layer's size: files at their length, a symlink at its target's, a hard link once, directories nothing", async () => {
  const root = join(s.dir, 'tree');
  await fs.mkdir(join(root, 'sub'), { recursive: true });
  await fs.writeFile(join(root, 'sub', 'file'), Buffer.alloc(1000));
  await fs.link(join(root, 'sub', 'file'), join(root, 'linked'));
  await fs.symlink('/sub/file', join(root, 'link'));
  expect(await toldSize((onSize) => createLayerFromDirectory(root, { onSize }))).toEqual([1000 + '/sub/file'.length]);
});

test('an overlay layer counts its whiteouts and opaque markers as nothing (real overlayfs)', async () => {
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(s.dir, d)) as [string, string, string, string];
  for (const d of [lower, upper, work, merged]) await fs.mkdir(d);
  await fs.writeFile(join(lower, 'gone'), 'gone');
  await fs.mkdir(join(lower, 'replaced'));
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
  try {
    await fs.rm(join(merged, 'gone'));
    await fs.rm(join(merged, 'replaced'), { recursive: true });
    await fs.mkdir(join(merged, 'replaced'));
    await fs.writeFile(join(merged, 'replaced', 'new'), 'new!');
  } finally {
    execFileSync('umount', [merged]);
  }
  expect(await toldSize((onSize) => createLayerFromOverlay(upper, { onSize }))).toEqual([4]);
});
