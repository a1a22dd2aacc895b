/**
 * `commit` and `diff` read the container's writable layer themselves, and hold the container
 * while they do, as moby's commit and diff hold it: a removal (`rm -f` too, from another
 * process) waits for them, so a commit never reads a layer being deleted; one under way
 * refuses them. Neither mounts a stopped container's root filesystem.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { mountPoints, withLock } from '@ctr/store';
import { claimRemoval } from '../src/container-root';
import { eventually, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
const children: ChildProcess[] = [];
beforeAll(async () => {
  t = await testEngine();
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await t?.cleanup();
});

const FILES = 2000;

/** `rm -f <id>` in a child Node process with its own Engine on the same root; resolves with its last line once it ends. */
function removeElsewhere(id: string): Promise<string> {
  const remover = `
const { Engine } = require(${JSON.stringify(require.resolve('@ctr/engine').replace(/src(\/index\.ts)?$/, 'dist'))});
new Engine({ root: process.argv[1], runRoot: process.argv[2] }).remove(process.argv[3], { force: true })
  .then(() => { process.stdout.write('removed\\n'); process.exit(0); })
  .catch((e) => { process.stdout.write('failed ' + (e && e.message) + '\\n'); process.exit(1); });
`;
  const child = spawn(process.execPath, ['-e', remover, t.root, t.runRoot, id], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('close', () => resolve(out.trim())));
}

/** The notes in container `id`'s holders' directory: the holds'. */
const notes = (id: string): string[] => {
  try {
    return readdirSync(path.join(t.runRoot, 'engine', 'rootfs-holders', id));
  } catch {
    return [];
  }
};
const held = async (id: string): Promise<boolean> => notes(id).length > 0;
/** Whether a removal of container `id` is under way: its mark beside the holders' directory. */
const removalWaits = async (id: string): Promise<boolean> => lstatSync(path.join(t.runRoot, 'engine', 'rootfs-holders', `${id}.removing`), { throwIfNoEntry: false }) !== undefined;

/** A running container whose writable layer holds FILES files under /big. */
async function runningWithBigLayer(): Promise<string> {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sleep', '600'], detach: true });
  await t.engine.exec(id, { cmd: ['sh', '-c', `mkdir /big && i=0 && while [ $i -lt ${FILES} ]; do echo $i > /big/f$i; i=$((i+1)); done`] });
  return id;
}

test('an rm -f from another process during a commit waits for it: the image has every file, the removal ends after', async () => {
  const id = await runningWithBigLayer();
  const order: string[] = [];
  let commit: Promise<{ id: string }> | undefined;
  let removal: Promise<string> | undefined;
  // The commit is kept at its freeze (after it took its hold) until the removal is seen waiting.
  const freezes = path.join(t.runRoot, 'engine', 'freezes');
  mkdirSync(freezes, { recursive: true });
  await withLock(path.join(freezes, `${id}.lock`), async () => {
    commit = t.engine.commit(id, { reference: 'holds-commit-diff:big' });
    void commit.then(() => order.push('committed'), () => order.push('commit failed'));
    expect(await eventually(() => held(id), Boolean)).toBe(true);
    removal = removeElsewhere(id).then((last) => {
      order.push('removed');
      return last;
    });
    expect(await eventually(() => removalWaits(id), Boolean)).toBe(true);
  });
  const { id: image } = await commit!;
  expect(await removal).toBe('removed');
  expect(order).toEqual(['committed', 'removed']);
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
  const check = await t.engine.run({ image, pull: 'never', network: 'none', cmd: ['sh', '-c', `[ "$(ls /big | wc -l)" -eq ${FILES} ]`], autoRemove: true });
  expect(check.exitCode).toBe(0);
});

/** What `work` on a created container does while a removal of it is under way (the removal then cancelled, the container removed). */
async function whileRemoving(work: (id: string) => Promise<unknown>): Promise<{ id: string; outcome: Promise<unknown> }> {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'] });
  const claim = (await claimRemoval({ runRoot: t.runRoot }, id))!;
  const outcome = work(id);
  await outcome.catch(() => undefined);
  claim.cancel();
  await t.engine.remove(id);
  return { id, outcome };
}

test('a commit while a removal is under way is refused, in moby’s words', async () => {
  const { id, outcome } = await whileRemoving((id) => t.engine.commit(id));
  await expect(outcome).rejects.toMatchObject({ code: 'Conflict', message: `You cannot commit container ${id} which is being removed` });
});

test('an export begun while the container is being removed is refused as moby refuses it', async () => {
  const { id, outcome } = await whileRemoving((id) => t.engine.export(id));
  await expect(outcome).rejects.toMatchObject({ code: 'Conflict', message: `You cannot export container ${id} which is being removed` });
});

test('a diff while a removal is under way is refused: the container is marked for removal', async () => {
  const { outcome } = await whileRemoving((id) => t.engine.changes(id));
  await expect(outcome).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('is marked for removal') });
});

test('a commit and a diff of a stopped container leave no hold, and its root filesystem unmounted', async () => {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sh', '-c', 'echo hi > /f'] });
  const rootfs = (await t.engine.inspect(id)).GraphDriver.Data.MergedDir;
  await t.engine.commit(id, { reference: 'holds-commit-diff:stopped' });
  expect(await t.engine.changes(id)).toEqual(expect.arrayContaining([{ Path: '/f', Kind: 1 }]));
  expect(notes(id)).toEqual([]);
  expect((await mountPoints()).includes(rootfs)).toBe(false);
  await t.engine.remove(id);
});
