/**
 * A stopped container's root filesystem is unmounted, as dockerd's cleanup and `podman
 * container cleanup` unmount it: whoever sees the exit takes it down unless the restart policy
 * starts the container again. Whatever needs a stopped container's files mounts them for the
 * while and leaves them unmounted after; an exit meanwhile leaves them to that work, and a
 * removal waits for it, as dockerd's waits for the container lock its archive operations hold.
 */
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { Engine } from '@ctr/engine';
import { mountPoints } from '@ctr/store';
import { catIn, daemonlessEngine, eventually, testEngine, type TestEngine } from './fixture';
import { entriesOf, tarOf, tarStream } from './tar-fixture';

let t: TestEngine;
/** The same root, daemonless as the ctr command runs it. */
let daemonless: Engine;
beforeAll(async () => {
  t = await testEngine();
  daemonless = daemonlessEngine(t.root, t.runRoot);
});
afterAll(async () => {
  await daemonless?.close();
  await t?.cleanup();
});

const mounted = async (dir: string): Promise<boolean> => (await mountPoints()).includes(dir);
const rootfsOf = async (id: string): Promise<string> => (await t.engine.inspect(id)).GraphDriver.Data.MergedDir;

/** A container that ran `cmd` once (attached, in this process) and is stopped, its root filesystem unmounted. */
async function stopped(cmd: string[]): Promise<{ id: string; rootfs: string }> {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd });
  const rootfs = await rootfsOf(id);
  expect(await mounted(rootfs)).toBe(false);
  return { id, rootfs };
}

/** Let a tar stream be read to its end, after the test has looked at what its being open holds. */
async function drain(tar: Readable): Promise<string[]> {
  return (await entriesOf(tar)).map((entry) => entry.name);
}

describe('at the exit', () => {
  test('the exit command of a detached container unmounts its root filesystem', async () => {
    const { id } = await daemonless.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sh', '-c', 'echo hi > /f'], detach: true });
    const rootfs = await rootfsOf(id);
    expect(await eventually(() => mounted(rootfs), (on) => !on)).toBe(false);
    expect((await t.engine.inspect(id)).State.Status).toBe('exited');
  });

  test('an attached run unmounts it once the container has exited', async () => {
    const { rootfs } = await stopped(['true']);
    expect(await mounted(rootfs)).toBe(false);
  });

  test('a restart policy keeps it mounted while the container is restarting, and its stop unmounts it', async () => {
    const { id } = await daemonless.run({ image: 'busybox', pull: 'never', network: 'none', restart: 'always', cmd: ['sh', '-c', 'exit 3'], detach: true });
    const rootfs = await rootfsOf(id);
    let restartingSeen = 0;
    // Polled without a pause (a restart's wait is short), up to a deadline: one that never restarts fails, not hangs.
    const deadline = Date.now() + 30_000;
    while (restartingSeen < 3) {
      if (Date.now() > deadline) throw new Error(`container ${id} was seen restarting ${restartingSeen} times in 30 s, not 3: its restart policy did not restart it`);
      const { State } = await t.engine.inspect(id);
      if (!State.Restarting) continue;
      restartingSeen++;
      // Looked at after it was seen restarting: by now restarting still, or running again.
      expect(await mounted(rootfs)).toBe(true);
    }
    await t.engine.stop(id, { timeout: 0 });
    // A restart's start in the exit command's process may hold it a moment past the stop: that hold's release takes it down.
    expect(await eventually(() => mounted(rootfs), (on) => !on)).toBe(false);
  });

  test('a copy open at the exit keeps the root filesystem mounted until it ends', async () => {
    const { id, rootfs } = await stopped(['true']);
    const { tar } = await t.engine.getArchive(id, '/etc');
    try {
      await t.engine.start(id);
      await t.engine.wait(id);
      // What conmon's exit command runs, done here: it too finds the copy's hold.
      await t.engine.handleExit(id);
      expect(await mounted(rootfs)).toBe(true);
    } finally {
      expect(await drain(tar)).toContain('etc/passwd');
    }
    expect(await mounted(rootfs)).toBe(false);
  });

  test('an engine recovering a root unmounts the root filesystem of a container whose exit nobody saw', async () => {
    // No monitor, no exit command, nobody waiting: this engine does not see the exit.
    const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'], detach: true });
    const rootfs = await rootfsOf(id);
    await eventually(() => t.engine.inspect(id), (c) => c.State.Status === 'exited');
    expect(await mounted(rootfs)).toBe(true);
    await t.engine.recover();
    expect(await mounted(rootfs)).toBe(false);
  });
});

describe('a stopped container', () => {
  test('starts again with its root filesystem mounted again, holding what its earlier run wrote', async () => {
    const { id, rootfs } = await stopped(['sh', '-c', 'echo run >> /runs; [ -e /keep ] && exec sleep 300; true']);
    await t.engine.putArchive(id, '/', tarStream({ name: 'keep', type: 'file', data: '' }));
    await t.engine.start(id);
    expect(await mounted(rootfs)).toBe(true);
    expect(await catIn(t, id, '/runs')).toBe('run\nrun\n');
    await t.engine.stop(id, { timeout: 0 });
    // A restart's start in the exit command's process may hold it a moment past the stop: that hold's release takes it down.
    expect(await eventually(() => mounted(rootfs), (on) => !on)).toBe(false);
  });

  test('gives a copy out what it holds, and is left unmounted', async () => {
    const { id, rootfs } = await stopped(['sh', '-c', 'echo hi > /f']);
    const { tar } = await t.engine.getArchive(id, '/f');
    expect(await drain(tar)).toEqual(['f']);
    expect(await mounted(rootfs)).toBe(false);
  });

  test('takes a copy in, and is left unmounted', async () => {
    const { id, rootfs } = await stopped(['true']);
    await t.engine.putArchive(id, '/', tarStream({ name: 'put', type: 'file', data: 'put\n' }));
    expect(await mounted(rootfs)).toBe(false);
    expect((await t.engine.changes(id)).map((c) => c.Path)).toContain('/put');
  });

  test('is exported whole, and left unmounted', async () => {
    const { id, rootfs } = await stopped(['sh', '-c', 'echo hi > /f']);
    expect(await drain(await t.engine.export(id))).toEqual(expect.arrayContaining(['f', 'bin/busybox']));
    expect(await mounted(rootfs)).toBe(false);
  });

  test('is committed with what it wrote, and left unmounted', async () => {
    const { id, rootfs } = await stopped(['sh', '-c', 'echo committed > /f']);
    const { id: image } = await t.engine.commit(id, { reference: 'rootfs-unmount-commit' });
    expect(await mounted(rootfs)).toBe(false);
    const { exitCode } = await t.engine.run({ image, pull: 'never', network: 'none', cmd: ['grep', '-q', 'committed', '/f'], autoRemove: true });
    expect(exitCode).toBe(0);
  });

  test('shows its changes (diff), and is left unmounted', async () => {
    const { id, rootfs } = await stopped(['sh', '-c', 'echo hi > /f; rm /bin/true']);
    expect(await t.engine.changes(id)).toEqual(expect.arrayContaining([{ Path: '/f', Kind: 1 }, { Path: '/bin/true', Kind: 2 }]));
    expect(await mounted(rootfs)).toBe(false);
  });

  test("is inspected with its MergedDir though it is unmounted, as docker shows it", async () => {
    const { id, rootfs } = await stopped(['true']);
    expect(rootfs).toBe(path.join(t.root, 'engine', 'rootfs', id));
    expect((await t.engine.inspect(id)).GraphDriver).toEqual({ Name: 'overlay2', Data: { MergedDir: rootfs } });
  });
});

describe('a removal', () => {
  /** The notes in container `id`'s holders' directory: the holds'. */
  const notes = (id: string): string[] => {
    try {
      return readdirSync(path.join(t.runRoot, 'engine', 'rootfs-holders', id));
    } catch {
      return [];
    }
  };
  /** Whether a removal of container `id` is under way, waiting. */
  const removalWaits = async (id: string): Promise<boolean> => lstatSync(path.join(t.runRoot, 'engine', 'rootfs-holders', `${id}.removing`), { throwIfNoEntry: false }) !== undefined;
  /** Whether a copy holds container `id`'s root filesystem. */
  const copyHolds = async (id: string): Promise<boolean> => notes(id).length > 0;

  test('of a container with an open copy waits for the copy, then removes it', async () => {
    const { id, rootfs } = await stopped(['true']);
    const { tar } = await t.engine.getArchive(id, '/etc');
    const removal = t.engine.remove(id);
    try {
      expect(await eventually(() => removalWaits(id), Boolean)).toBe(true);
      // Still there while the copy is open, its files still readable.
      expect((await t.engine.inspect(id)).Id).toBe(id);
      expect(await mounted(rootfs)).toBe(true);
    } finally {
      expect(await drain(tar)).toContain('etc/passwd');
    }
    await removal;
    await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
    expect(await mounted(rootfs)).toBe(false);
  });

  test('forced, of a running container with an open copy into it, waits for the copy, then kills and removes it', async () => {
    const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sleep', '300'], detach: true });
    const input = new PassThrough();
    const copied = t.engine.putArchive(id, '/', input);
    expect(await eventually(() => copyHolds(id), Boolean)).toBe(true);
    const removal = t.engine.remove(id, { force: true });
    expect(await eventually(() => removalWaits(id), Boolean)).toBe(true);
    expect((await t.engine.inspect(id)).State.Running).toBe(true);
    input.end(tarOf({ name: 'late', type: 'file', data: 'late\n' }));
    await copied;
    await removal;
    await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('under way refuses a new copy: the container is marked for removal', async () => {
    const { id } = await stopped(['true']);
    const { tar } = await t.engine.getArchive(id, '/etc');
    const removal = t.engine.remove(id);
    try {
      expect(await eventually(() => removalWaits(id), Boolean)).toBe(true);
      await expect(t.engine.getArchive(id, '/etc')).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('is marked for removal') });
    } finally {
      await drain(tar);
    }
    await removal;
  });
});
