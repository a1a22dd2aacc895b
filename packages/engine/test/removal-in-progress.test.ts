/**
 * A removal of a container whose removal is under way (`claimRemoval`): a user's is refused at
 * once, as moby's `ContainerRm` refuses it (Conflict, "removal of container X is already in
 * progress", X as the caller named it); the engine's own (`--rm`'s at the exit, a prune) waits
 * for the one under way and goes on as if done. A removal is kept under way by a hold this
 * process notes (as a copy's), which it waits for; a removal's wait for another is seen
 * through `removalEnded`, so each race runs in one order, with no timing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import * as containerRoot from '../src/container-root';
import { ContainerRecords } from '../src/container-records';
import { AUTO_REMOVAL, type Containers } from '../src/containers';
import { makeNote } from '../src/process-notes';
import { collector, eventually, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
const children: ChildProcess[] = [];
beforeAll(async () => {
  t = await testEngine();
});
afterEach(() => {
  jest.restoreAllMocks();
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await t?.cleanup();
});

/** The engine's containers, as its API uses them. */
async function containers(): Promise<Containers> {
  return (await (t.engine as unknown as { ready(): Promise<{ containers: Containers }> }).ready()).containers;
}

const holders = (id: string): string => path.join(t.runRoot, 'engine', 'rootfs-holders', id);
/** Whether a removal of container `id` is under way: its mark is there. */
const removalMarked = async (id: string): Promise<boolean> => lstatSync(`${holders(id)}.removing`, { throwIfNoEntry: false }) !== undefined;

/** A hold on container `id`'s root filesystem by this process, as a copy's (no copy: a running container stays unfrozen), until the returned release. */
function hold(id: string): () => Promise<void> {
  const note = makeNote(holders(id));
  return async () => rmSync(note, { force: true });
}

/** The destroy events of container `id` since `since` (seconds). */
async function destroys(id: string, since: number): Promise<number> {
  let count = 0;
  for await (const event of t.engine.events({ since, until: Date.now() / 1000 + 1, filters: { container: [id] } })) count += event.Action === 'destroy' ? 1 : 0;
  return count;
}

/** A stopped container named `name` whose removal (a user's) is under way, kept so by a copy until `release`. */
async function removalUnderWay(name: string): Promise<{ id: string; removal: Promise<void>; release(): Promise<void> }> {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', name, cmd: ['true'] });
  const release = hold(id);
  const removal = t.engine.remove(id);
  removal.catch(() => undefined);
  expect(await eventually(() => removalMarked(id), Boolean)).toBe(true);
  return { id, removal, release };
}

/** Calls `then` when a removal starts waiting for another's end (`removalEnded`), before it waits. */
function onWaitForOther(then: () => Promise<void>): jest.SpyInstance {
  const removalEnded = containerRoot.removalEnded;
  return jest.spyOn(containerRoot, 'removalEnded').mockImplementationOnce(async (ctx, id) => {
    await then();
    return removalEnded(ctx, id);
  });
}

/** `rm <ref>` by another process's engine on the same root: how it ended. */
async function removeElsewhere(ref: string): Promise<{ code?: string; message?: string; removed?: boolean }> {
  const remover = `
const { Engine } = require(${JSON.stringify(require.resolve('@ctr/engine').replace(/src(\/index\.ts)?$/, 'dist'))});
new Engine({ root: process.argv[1], runRoot: process.argv[2] }).remove(process.argv[3])
  .then(() => process.stdout.write(JSON.stringify({ removed: true })), (e) => process.stdout.write(JSON.stringify({ code: e.code, message: e.message })));
`;
  const child = spawn(process.execPath, ['-e', remover, t.root, t.runRoot, ref], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await once(child, 'close');
  return JSON.parse(out) as { code?: string; message?: string; removed?: boolean };
}

test('a removal from another process while one is under way is refused at once, in moby’s words, naming the container as given', async () => {
  const { removal, release } = await removalUnderWay('rip-other-process');
  try {
    expect(await removeElsewhere('rip-other-process')).toEqual({ code: 'Conflict', message: 'removal of container rip-other-process is already in progress' });
  } finally {
    await release();
  }
  await removal;
});

test('a second removal in the same process is refused too, naming the container by the short ID it was given', async () => {
  const { id, removal, release } = await removalUnderWay('rip-same-process');
  try {
    await expect(t.engine.remove(id.slice(0, 12), { force: true })).rejects.toMatchObject({
      code: 'Conflict',
      message: `removal of container ${id.slice(0, 12)} is already in progress`,
    });
  } finally {
    await release();
  }
  await removal;
});

test('a plain removal of a running container whose forced removal is under way is told of that removal first, as moby checks it before the state', async () => {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', name: 'rip-running', cmd: ['sleep', '60'], detach: true });
  const release = hold(id);
  const removal = t.engine.remove(id, { force: true });
  removal.catch(() => undefined);
  try {
    expect(await eventually(() => removalMarked(id), Boolean)).toBe(true);
    await expect(t.engine.remove('rip-running')).rejects.toMatchObject({ code: 'Conflict', message: 'removal of container rip-running is already in progress' });
  } finally {
    await release();
  }
  await removal;
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
});

test('after a refused second removal, the first removes the container, with one destroy event', async () => {
  const since = Date.now() / 1000;
  const { id, removal, release } = await removalUnderWay('rip-one-destroy');
  try {
    await expect(t.engine.remove(id)).rejects.toMatchObject({ code: 'Conflict' });
  } finally {
    await release();
  }
  await removal;
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
  expect(await destroys(id, since)).toBe(1);
});

test('the engine’s own removal while a user’s is under way waits for it, and reports that it did not take the container', async () => {
  const since = Date.now() / 1000;
  const { id, removal, release } = await removalUnderWay('rip-own-waits');
  const waited = onWaitForOther(release);
  expect(await (await containers()).remove(id, AUTO_REMOVAL)).toBe(false);
  expect(waited).toHaveBeenCalledTimes(1);
  await removal;
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
  expect(await destroys(id, since)).toBe(1);
});

test('the engine’s own removal while a user’s is under way that then fails removes the container itself, with one destroy event', async () => {
  const since = Date.now() / 1000;
  const { id, removal, release } = await removalUnderWay('rip-own-takes-over');
  // The user's removal, the first to write the records once the hold is released, fails there.
  jest.spyOn(ContainerRecords.prototype, 'remove').mockRejectedValueOnce(new Error('the user’s removal failed'));
  onWaitForOther(release);
  expect(await (await containers()).remove(id, AUTO_REMOVAL)).toBe(true);
  await expect(removal).rejects.toThrow('the user’s removal failed');
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
  expect(await destroys(id, since)).toBe(1);
});

describe('run --rm racing a user’s rm', () => {
  /** An attached `run --rm` of `read x` (its input ends it), once its process runs. */
  async function readingRun(name: string): Promise<{ id: string; run: Promise<{ exitCode?: number }>; stdin: PassThrough }> {
    const stdin = new PassThrough();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const run = t.engine.run({ image: 'busybox', pull: 'never', network: 'none', name, autoRemove: true, openStdin: true, stdin, stdout: collector(), cmd: ['sh', '-c', 'read x'], onStarted: () => started() });
    run.catch(() => undefined);
    await running;
    return { id: (await t.engine.inspect(name)).Id, run, stdin };
  }

  test('the rm under way first: run waits for it, and returns once the container is gone', async () => {
    const since = Date.now() / 1000;
    const { id, run, stdin } = await readingRun('rip-run-second');
    const release = hold(id);
    const userRemoval = t.engine.remove(id, { force: true });
    expect(await eventually(() => removalMarked(id), Boolean)).toBe(true);
    // run's removal finds the user's under way; that one then goes on (the hold released).
    const waited = onWaitForOther(release);
    stdin.end('x\n');
    expect((await run).exitCode).toBe(0);
    expect(waited).toHaveBeenCalledTimes(1);
    expect((await t.engine.ps({ all: true })).map((c) => c.Id)).not.toContain(id);
    await userRemoval;
    expect(await destroys(id, since)).toBe(1);
  });

  test('run’s removal under way first: the rm is refused with the Conflict, and run returns once the container is gone', async () => {
    const { id, run, stdin } = await readingRun('rip-run-first');
    const release = hold(id);
    stdin.end('x\n');
    try {
      // run's removal waits for the hold once the process has exited.
      expect(await eventually(() => removalMarked(id), Boolean)).toBe(true);
      await expect(t.engine.remove('rip-run-first', { force: true })).rejects.toMatchObject({
        code: 'Conflict',
        message: 'removal of container rip-run-first is already in progress',
      });
    } finally {
      await release();
    }
    expect((await run).exitCode).toBe(0);
    expect((await t.engine.ps({ all: true })).map((c) => c.Id)).not.toContain(id);
  });
});

test('a prune while a user’s removal is under way waits for it, does not fail, and does not count the container as its own', async () => {
  const { id, removal, release } = await removalUnderWay('rip-prune');
  const waited = onWaitForOther(release);
  const pruned = await t.engine.pruneContainers();
  expect(waited).toHaveBeenCalledTimes(1);
  expect(pruned.ContainersDeleted).not.toContain(id);
  await removal;
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
});

test('a removal whose mark cannot be written (a read-only run root) fails with what to do, and leaves the container', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'] });
  const dir = path.dirname(holders(id));
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'ctr-test-ro', dir]);
  try {
    await expect(t.engine.remove(id)).rejects.toMatchObject({
      code: 'Denied',
      message: expect.stringMatching(
        new RegExp(`^cannot mark the removal of container ${id} as under way: EROFS: .*: ctr must be able to write in its run root: run it as root, or give it a run root of its own \\(--runroot, CTR_RUNROOT\\)$`),
      ),
    });
  } finally {
    execFileSync('umount', [dir]);
  }
  expect((await t.engine.inspect(id)).Id).toBe(id);
  await t.engine.remove(id);
});

test('a file in the place of the removal mark that is no mark fails the removal with what to do, and leaves the container', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'] });
  const mark = `${holders(id)}.removing`;
  mkdirSync(path.dirname(mark), { recursive: true });
  writeFileSync(mark, 'not a mark');
  try {
    await expect(t.engine.remove(id)).rejects.toMatchObject({
      code: 'Internal',
      message: `cannot mark the removal of container ${id} as under way: ${mark} is in the way and is not a removal's mark: remove it`,
    });
    expect((await t.engine.inspect(id)).Id).toBe(id);
  } finally {
    rmSync(mark, { force: true });
  }
  await t.engine.remove(id);
});

test('a user’s removal that finds the container once another removal has taken it is told there is no such container', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', name: 'rip-gone-meanwhile', cmd: ['true'] });
  const claimRemoval = containerRoot.claimRemoval;
  // The other removal runs to its end between this one's look and its claim.
  jest.spyOn(containerRoot, 'claimRemoval').mockImplementationOnce(async (ctx, claimed) => {
    await t.engine.remove(id);
    return claimRemoval(ctx, claimed);
  });
  await expect(t.engine.remove('rip-gone-meanwhile')).rejects.toMatchObject({ code: 'NotFound', message: 'No such container: rip-gone-meanwhile' });
  expect(await removalMarked(id)).toBe(false);
});
