import { watch } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtrError } from '@ctr/errors';
import type { EngineEvent } from '@ctr/engine';
import { scratchParent } from '../src/scratch';
import { collector, testEngine, type TestEngine } from './fixture';

describe('engine.importBusybox', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine(); // imports busybox:latest with importBusybox
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const scratchLeft = (): Promise<string[]> => readdir(scratchParent(t.root));
  const idOf = async (name: string): Promise<string | undefined> => (await t.engine.images()).find((i) => i.RepoTags.includes(name))?.Id;

  test('busybox:latest runs with sh as its command', async () => {
    const stdout = collector();
    const run = await t.engine.run({ image: 'busybox', cmd: ['echo', 'hi'], network: 'none', autoRemove: true, stdout });
    expect(run.exitCode).toBe(0);
    expect(stdout.text()).toBe('hi\n');
    expect((await t.engine.inspectImage('busybox')).Config.Cmd).toEqual(['sh']);
  });

  test('its scratch directory is gone after it succeeded', async () => {
    expect(await scratchLeft()).toEqual([]);
  });

  test('a custom name is one more name of the same image: the same busybox always gives the same image ID', async () => {
    const latest = await idOf('busybox:latest');
    const image = await t.engine.importBusybox({ name: 'tools/busybox:1' });
    expect(image.record.id).toBe(latest);
    expect(await idOf('busybox:latest')).toBe(latest);
  });

  test('the image is dated by its busybox binary, so its date does not move between imports', async () => {
    const binary = await stat('/bin/busybox');
    expect(new Date((await t.engine.inspectImage('busybox')).Created).getTime()).toBe(binary.mtime.getTime());
  });

  test('a name another image holds moves to busybox, as importImage moves it', async () => {
    const other = join(t.root, 'other-rootfs');
    await mkdir(other);
    await writeFile(join(other, 'only-file'), 'not busybox\n');
    const before = await t.engine.importImage({ dir: other }, { name: 'replace:1' });
    const after = await t.engine.importBusybox({ name: 'replace:1' });
    expect(after.record.id).not.toBe(before.record.id);
    expect(await idOf('replace:1')).toBe(after.record.id);
  });

  test('it emits the tag and import events importImage emits', async () => {
    const since = new Date();
    const image = await t.engine.importBusybox({ name: 'events:1' });
    const events: EngineEvent[] = [];
    for await (const e of t.engine.events({ since, until: new Date(), filters: { type: ['image'] } })) events.push(e);
    // The import names the image by its ID, as dockerd's does; the tag by the name given.
    const mine = events.filter((e) => e.Actor.ID === image.record.id);
    expect(mine.map((e) => [e.Action, e.Actor.Attributes.name])).toEqual([
      ['tag', 'events:1'],
      ['import', image.record.id],
    ]);
  });

  test('an already aborted signal makes nothing: no scratch directory, no image', async () => {
    const error = await t.engine.importBusybox({ name: 'aborted:1', signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CtrError);
    expect((error as CtrError).code).toBe('Aborted');
    expect(await scratchLeft()).toEqual([]);
    expect(await idOf('aborted:1')).toBeUndefined();
  });

  test('an abort once the scratch directory exists removes it and names no image', async () => {
    const controller = new AbortController();
    const watcher = watch(scratchParent(t.root), () => controller.abort());
    try {
      const error = await t.engine.importBusybox({ name: 'aborted:2', signal: controller.signal }).catch((e: unknown) => e);
      expect(controller.signal.aborted).toBe(true);
      expect((error as CtrError).code).toBe('Aborted');
    } finally {
      watcher.close();
    }
    expect(await scratchLeft()).toEqual([]);
    expect(await idOf('aborted:2')).toBeUndefined();
  });

  test("what a killed import left in the scratch directory goes at the next import; a live process's directory stays", async () => {
    const dead = join(scratchParent(t.root), 'busybox-killed');
    await mkdir(join(dead, 'bin'), { recursive: true });
    await writeFile(join(dead, 'bin', 'busybox'), 'half-copied');
    const live = join(scratchParent(t.root), 'busybox-live');
    await mkdir(live);
    // A lock as a live process holds one: its PID, a token, this boot.
    await symlink(`${process.ppid} token ${(await readFile('/proc/sys/kernel/random/boot_id', 'latin1')).trim()}`, `${live}.lock`);
    await t.engine.importBusybox({ name: 'after-kill:1' });
    expect(await scratchLeft()).toEqual(['busybox-live', 'busybox-live.lock']);
    await rm(live, { recursive: true });
    await rm(`${live}.lock`);
  });

  test('a busybox that cannot be run is Unavailable and leaves nothing behind', async () => {
    const error = await t.engine.importBusybox({ name: 'missing:1', busybox: join(t.root, 'no-busybox') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CtrError);
    expect((error as CtrError).code).toBe('Unavailable');
    expect((error as CtrError).message).toContain('no-busybox');
    expect(await scratchLeft()).toEqual([]);
    expect(await idOf('missing:1')).toBeUndefined();
  });
});
