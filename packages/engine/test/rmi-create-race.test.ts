import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { acquireLock, openStore, storePaths, type Release, type Store } from '@ctr/store';
import type { CreateContainerOptions } from '@ctr/engine';
import { eventually, testEngine, type TestEngine } from './fixture';

const dist = (name: string): string => JSON.stringify(require.resolve(name).replace(/src(\/index\.ts)?$/, 'dist'));

/**
 * A child engine on the same root that makes container `maker` of busybox while holding the
 * snapshot table's lock itself: it stops with the container marked as being made, says
 * `marked`, and waits to be killed.
 */
const stuckCreator = `
const { existsSync } = require('node:fs');
const path = require('node:path');
const { Engine } = require(${dist('@ctr/engine')});
const { acquireLock, storePaths } = require(${dist('@ctr/store')});
const [root, runRoot] = process.argv.slice(1);
(async () => {
  await acquireLock(path.join(storePaths(root).locks, 'snapshots.lock'));
  new Engine({ root, runRoot }).create({ image: 'busybox', cmd: ['true'], network: 'none', name: 'maker', pull: 'never' }).catch(() => undefined);
  const claim = path.join(root, 'engine', 'names', 'maker');
  const poll = setInterval(() => { try { require('node:fs').lstatSync(claim); clearInterval(poll); process.stdout.write('marked\\n'); setInterval(() => {}, 1000); } catch {} }, 10);
})();
`;

/** A child engine on the same root that makes a busybox container at each line read and prints `created <id>` or `refused <code> <message>`. */
const creator = `
const { Engine } = require(${dist('@ctr/engine')});
const engine = new Engine({ root: process.argv[1], runRoot: process.argv[2] });
process.stdout.write('ready\\n');
require('node:readline').createInterface({ input: process.stdin }).on('line', () => {
  engine.create({ image: 'busybox', cmd: ['true'], network: 'none', pull: 'never' })
    .then(({ id }) => process.stdout.write('created ' + id + '\\n'), (e) => process.stdout.write('refused ' + (e && e.code) + ' ' + (e && e.message) + '\\n'));
});
`;

describe('rmi racing the create of a container of the same image (two engines on one root)', () => {
  let t: TestEngine;
  let store: Store;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    t = await testEngine();
    store = await openStore({ root: t.root });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await t?.cleanup();
  });
  afterEach(async () => {
    // Each test starts from one busybox image and no container.
    for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true, volumes: true });
    await t.engine.inspectImage('busybox').catch(() => t.engine.importBusybox());
  });

  const lockOf = (name: string): string => path.join(storePaths(t.root).locks, `${name}.lock`);
  const claimed = (name: string): boolean => {
    try {
      return lstatSync(path.join(t.root, 'engine', 'names', name)).isSymbolicLink();
    } catch {
      return false;
    }
  };
  const marks = (): string[] => (existsSync(path.join(t.root, 'engine', 'image-uses')) ? readdirSync(path.join(t.root, 'engine', 'image-uses')) : []);

  /**
   * Create container `name` of busybox while `lock` is held here, so that it stops where it
   * needs that lock: after its image is marked as used (its name is claimed after the mark).
   * `during` runs then; the lock is released after it, and the create's outcome returned.
   */
  async function whileCreating<T>(lock: string, name: string, during: () => Promise<T>, options: Partial<CreateContainerOptions> = {}): Promise<{ id: string; during: T }> {
    let release: Release | undefined = await acquireLock(lockOf(lock));
    const created = t.engine.create({ image: 'busybox', cmd: ['true'], network: 'none', name, pull: 'never', ...options });
    created.catch(() => undefined);
    try {
      expect(await eventually(async () => claimed(name), Boolean)).toBe(true);
      const result = await during();
      await release();
      release = undefined;
      return { id: (await created).id, during: result };
    } finally {
      await release?.();
      await created.catch(() => undefined);
    }
  }

  test('rmi of the name of an image a container is being made of is a Conflict naming that container', async () => {
    const image = await t.engine.inspectImage('busybox');
    const { id, during } = await whileCreating('snapshots', 'maker', () => t.engine.removeImage('busybox').catch((e: unknown) => e));
    expect(during).toMatchObject({
      code: 'Conflict',
      message: `conflict: unable to remove repository reference "busybox" (must force) - container ${id.slice(0, 12)} is using its referenced image ${image.Id.slice(7, 19)}`,
    });
    expect((await t.engine.inspect(id)).Image).toBe(image.Id);
    expect((await t.engine.inspectImage('busybox')).Id).toBe(image.Id);
  });

  test('rmi by ID of an image a container is being made of is a Conflict: a stopped container uses it', async () => {
    const image = await t.engine.inspectImage('busybox');
    const { id, during } = await whileCreating('snapshots', 'maker', () => t.engine.removeImage(image.Id).catch((e: unknown) => e));
    expect(during).toMatchObject({
      code: 'Conflict',
      message: `conflict: unable to delete ${image.Id.slice(7, 19)} (must be forced) - image is being used by stopped container ${id.slice(0, 12)}`,
    });
  });

  test('image prune -a while a container is being made of busybox keeps busybox', async () => {
    const image = await t.engine.inspectImage('busybox');
    // Stopped at its volume, which prune never waits for.
    const { during } = await whileCreating('volumes', 'maker', () => t.engine.pruneImages({ all: true }), { volumes: ['race-data:/data'] });
    expect(during.ImagesDeleted).toEqual([]);
    expect((await t.engine.inspectImage('busybox')).Id).toBe(image.Id);
    await t.engine.remove('maker');
    await t.engine.removeVolume('race-data');
  });

  test('rmi -f while a container is being made deletes the image; what the create reads stays, and the container runs', async () => {
    const image = await t.engine.inspectImage('busybox');
    const resolved = await store.images.resolve(image.Id);
    const { id, during } = await whileCreating('snapshots', 'maker', () => t.engine.removeImage('busybox', { force: true }));
    expect(during).toEqual([{ Untagged: 'busybox:latest' }, { Deleted: image.Id }]);
    expect(existsSync(store.content.blobPath(resolved.target.digest))).toBe(true);
    await t.engine.start(id);
    expect(await t.engine.wait(id)).toMatchObject({ StatusCode: 0 });
    expect(marks()).toEqual([]);
    expect((await store.fsck()).problems).toEqual([]);
  });

  test('a create that meets a removal of its image under way waits for it, and fails with No such image when the image went, leaving nothing', async () => {
    const image = await t.engine.inspectImage('busybox');
    // This process plays the remover that has judged the image unused: its notice up, it deletes the image.
    const startTime = readFileSync('/proc/self/stat', 'latin1').split(') ')[1]?.split(' ')[19];
    const notice = path.join(t.root, 'engine', 'image-uses', '.removing');
    mkdirSync(path.dirname(notice), { recursive: true });
    symlinkSync(`${image.Id} ${process.pid} ${startTime}`, notice);
    const created = t.engine.create({ image: 'busybox', cmd: ['true'], network: 'none', name: 'late', pull: 'never' });
    created.catch(() => undefined);
    try {
      await store.images.delete(image.Id, { force: true });
    } finally {
      rmSync(notice);
    }
    await expect(created).rejects.toMatchObject({ code: 'NotFound', message: 'No such image: busybox:latest' });
    expect(await t.engine.ps({ all: true })).toEqual([]);
    expect(claimed('late')).toBe(false);
    expect(marks()).toEqual([]);
    // Layers only (named by chainID): no container's snapshot.
    expect(Object.keys((await store.snapshots.table()).snapshots).filter((name) => !name.startsWith('sha256:'))).toEqual([]);
    expect((await store.fsck()).problems).toEqual([]);
  });

  test('the mark of a creator that was killed does not hold the image', async () => {
    const image = await t.engine.inspectImage('busybox');
    const child = spawn(process.execPath, ['-e', stuckCreator, t.root, t.runRoot], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()).includes('marked\n') && resolve());
      child.once('exit', () => reject(new Error(`the creator ended before its mark: ${out}`)));
    });
    expect(marks()).toHaveLength(1);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));

    const removed = await t.engine.removeImage('busybox');
    expect(removed.slice(0, 2)).toEqual([{ Untagged: 'busybox:latest' }, { Deleted: image.Id }]);
    expect(marks()).toEqual([]);
  });

  test('rmi and create from two processes at once: either the rmi sees the container or the create finds no image', async () => {
    const child = spawn(process.execPath, ['-e', creator, t.root, t.runRoot], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    const lines: string[] = [];
    let waiting: (() => void) | undefined;
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
        lines.push(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        waiting?.();
      }
    });
    const nextLine = async (): Promise<string> => {
      while (lines.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
      return lines.shift() as string;
    };
    expect(await nextLine()).toBe('ready');
    for (let round = 0; round < 12; round++) {
      const image = await t.engine.inspectImage('busybox');
      child.stdin?.write('go\n');
      const [removed, created] = await Promise.all([t.engine.removeImage('busybox').then(() => 'removed', (e: { code?: string }) => `refused ${e.code}`), nextLine()]);
      if (created.startsWith('created ')) {
        expect(removed).toBe('refused Conflict');
        expect((await t.engine.inspect(created.slice(8))).Image).toBe(image.Id);
        expect((await t.engine.inspectImage('busybox')).Id).toBe(image.Id);
        await t.engine.remove(created.slice(8));
      } else {
        expect([removed, created]).toEqual(['removed', 'refused NotFound No such image: busybox:latest']);
        await t.engine.importBusybox();
      }
    }
    child.kill('SIGKILL');
    expect(marks()).toEqual([]);
    expect((await store.fsck()).problems).toEqual([]);
  });
});
