/**
 * A container made by `create` alone keeps no overlay mounted: its create mounts the root
 * filesystem only for its own setup (the runtime's files, volumes filled from the image), as
 * moby's create mounts and unmounts it; whatever works on its files later (a start, a copy, an
 * export) mounts it for the while, as for a stopped container. `run` keeps the mount its create
 * made for the start that follows. An exit whose container record never showed does not leave
 * the root filesystem mounted either, and a removal takes the container's notes of freezes too.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { mountPoints } from '@ctr/store';
import { collector, eventually, testEngine, type TestEngine } from './fixture';
import { entriesOf, tarStream } from './tar-fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});
afterEach(async () => {
  for (const { Id } of await t.engine.ps({ all: true })) await t.engine.remove(Id, { force: true, volumes: true });
});

const mounted = async (dir: string): Promise<boolean> => (await mountPoints()).includes(dir);
const rootfsOf = async (id: string): Promise<string> => (await t.engine.inspect(id)).GraphDriver.Data.MergedDir;
const holdersOf = (id: string): string => path.join(t.runRoot, 'engine', 'rootfs-holders', id);
const freezesOf = (id: string): string => path.join(t.runRoot, 'engine', 'freezes', id);

const created = async (cmd: string[], image = 'busybox'): Promise<string> => (await t.engine.create({ image, pull: 'never', network: 'none', cmd })).id;

/** Start container `id` attached, and give what it printed once it has exited. */
async function startAttached(id: string): Promise<string> {
  const stdout = collector();
  const { attached } = await t.engine.start(id, { stdout });
  await attached;
  expect((await t.engine.wait(id)).StatusCode).toBe(0);
  return stdout.text();
}

describe('a created container', () => {
  test('has no root filesystem mounted once create returns', async () => {
    const id = await created(['true']);
    expect(await mounted(await rootfsOf(id))).toBe(false);
  });

  test("starts, its image's files mounted for it, and is unmounted again after its exit", async () => {
    const id = await created(['sh', '-c', 'cat /etc/passwd | head -1; [ -e /.dockerenv ] && echo dockerenv']);
    expect(await startAttached(id)).toBe('root:x:0:0:root:/root:/bin/sh\ndockerenv\n');
    expect(await mounted(await rootfsOf(id))).toBe(false);
  });

  test('made to be removed at its exit (--rm) starts with its root filesystem mounted again', async () => {
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', autoRemove: true, cmd: ['cat', '/etc/hostname'] });
    expect(await mounted(await rootfsOf(id))).toBe(false);
    expect(await startAttached(id)).toBe(`${id.slice(0, 12)}\n`);
  });

  test('takes a copy in, unmounted after it, and its start sees the file', async () => {
    const id = await created(['cat', '/copied']);
    await t.engine.putArchive(id, '/', tarStream({ name: 'copied', type: 'file', data: 'in\n' }));
    expect(await mounted(await rootfsOf(id))).toBe(false);
    expect(await startAttached(id)).toBe('in\n');
  });

  test("is exported with its image's files, unmounted after", async () => {
    const id = await created(['true']);
    const names = (await entriesOf((await t.engine.export(id)) as Readable)).map((entry) => entry.name);
    expect(names).toEqual(expect.arrayContaining(['bin/busybox', 'etc/passwd']));
    expect(await mounted(await rootfsOf(id))).toBe(false);
  });

  test('is committed with what was copied into it, left unmounted', async () => {
    const id = await created(['true']);
    await t.engine.putArchive(id, '/', tarStream({ name: 'committed', type: 'file', data: 'kept\n' }));
    await t.engine.commit(id, { reference: 'created-commit:latest' });
    expect(await mounted(await rootfsOf(id))).toBe(false);
    const stdout = collector();
    const { exitCode } = await t.engine.run({ image: 'created-commit:latest', pull: 'never', network: 'none', autoRemove: true, cmd: ['cat', '/committed'], stdout });
    expect({ exitCode, out: stdout.text() }).toEqual({ exitCode: 0, out: 'kept\n' });
  });

  test("gets the image's content at a VOLUME copied into its anonymous volume", async () => {
    const base = await created(['true']);
    await t.engine.putArchive(base, '/', tarStream({ name: 'vol', type: 'dir' }, { name: 'vol/f', type: 'file', data: 'img\n' }));
    await t.engine.commit(base, { reference: 'created-volume:latest', changes: ['VOLUME /vol'] });
    const id = await created(['true'], 'created-volume:latest');
    expect(await mounted(await rootfsOf(id))).toBe(false);
    const volume = (await t.engine.inspect(id)).Mounts.find((m) => m.Destination === '/vol');
    expect(volume?.Source).toBeDefined();
    expect(readFileSync(path.join(volume?.Source ?? '', 'f'), 'utf8')).toBe('img\n');
  });

  test('is removed leaving no mount and no holders directory', async () => {
    const id = await created(['true']);
    const rootfs = await rootfsOf(id);
    await t.engine.putArchive(id, '/', tarStream({ name: 'f', type: 'file', data: '' }));
    await t.engine.remove(id);
    expect(await mounted(rootfs)).toBe(false);
    expect(existsSync(holdersOf(id))).toBe(false);
  });
});

test('run keeps the mount its create made for its start', async () => {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sleep', '600'], detach: true });
  expect(await mounted(await rootfsOf(id))).toBe(true);
});

test('an exit whose container record never shows leaves the root filesystem unmounted', async () => {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'], detach: true });
  const rootfs = await rootfsOf(id);
  await eventually(() => t.engine.inspect(id), (c) => c.State.Status === 'exited');
  expect(await mounted(rootfs)).toBe(true);
  // What conmon's exit command sees when the record it waits for is not written in time.
  const file = path.join(t.root, 'engine', 'containers', `${id}.json`);
  const record = readFileSync(file);
  rmSync(file);
  try {
    await t.engine.handleExit(id);
  } finally {
    writeFileSync(file, record);
  }
  expect(await mounted(rootfs)).toBe(false);
});

test("a forced removal of a paused container takes its notes of freezes with it", async () => {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sleep', '600'], detach: true });
  // A pause during a copy is noted beside the copy's freeze, and outlasts it.
  const { tar } = await t.engine.getArchive(id, '/bin');
  try {
    await t.engine.pause(id);
  } finally {
    await entriesOf(tar);
  }
  expect(readdirSync(freezesOf(id))).toEqual(['user']);
  await t.engine.remove(id, { force: true });
  expect(existsSync(freezesOf(id))).toBe(false);
});
