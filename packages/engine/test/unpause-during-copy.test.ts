/**
 * A copy out of a running container freezes it while its files are read (as `podman cp
 * --pause`), and a user's `pause` and `unpause` meanwhile change only the user's pause: the
 * container is never thawed under the copy, and once the copy ends it runs, or stays paused
 * when its user paused it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { testEngine, type TestEngine } from './fixture';
import { entriesOf } from './tar-fixture';

const exec = promisify(execFile);

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

/** What runc says of the container, asked directly: no look of the engine's. */
const runcStatus = async (id: string): Promise<string> =>
  (JSON.parse((await exec('runc', ['--root', join(t.runRoot, 'runc'), 'state', id])).stdout) as { status: string }).status;

const running = async (): Promise<string> => (await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '600'], detach: true, pull: 'never' })).id;

/** An open copy of the container's /bin: it is frozen until the stream is read. */
const copying = async (id: string): Promise<Readable> => (await t.engine.getArchive(id, '/bin')).tar;

const finish = async (tar: Readable): Promise<void> => void (await entriesOf(tar));

afterEach(async () => {
  for (const { Id } of await t.engine.ps({ all: true })) await t.engine.remove(Id, { force: true });
});

test('an unpause while only a copy freezes the container is refused as docker refuses a running one, and the copy keeps it frozen', async () => {
  const id = await running();
  const tar = await copying(id);
  try {
    await expect(t.engine.unpause(id)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining(`Container ${id} is not paused`) });
    expect(await runcStatus(id)).toBe('paused');
  } finally {
    await finish(tar);
  }
  expect(await runcStatus(id)).toBe('running');
});

test('an unpause during a copy of a container its user had paused keeps it frozen until the copy ends, then it runs', async () => {
  const id = await running();
  await t.engine.pause(id);
  const tar = await copying(id);
  try {
    await t.engine.unpause(id);
    expect(await runcStatus(id)).toBe('paused');
  } finally {
    await finish(tar);
  }
  expect(await runcStatus(id)).toBe('running');
});

test('a pause then an unpause during a copy leave it frozen until the copy ends, then it runs', async () => {
  const id = await running();
  const tar = await copying(id);
  try {
    await t.engine.pause(id);
    await t.engine.unpause(id);
    expect(await runcStatus(id)).toBe('paused');
  } finally {
    await finish(tar);
  }
  expect(await runcStatus(id)).toBe('running');
});

test('a pause during a copy outlasts it', async () => {
  const id = await running();
  const tar = await copying(id);
  try {
    await t.engine.pause(id);
    await expect(t.engine.pause(id)).rejects.toMatchObject({ code: 'Conflict', message: `Container ${id} is already paused` });
  } finally {
    await finish(tar);
  }
  expect(await runcStatus(id)).toBe('paused');
  await t.engine.unpause(id);
  expect(await runcStatus(id)).toBe('running');
});

test('of two copies, the first to end leaves the container frozen for the other', async () => {
  const id = await running();
  const first = await copying(id);
  const second = await copying(id);
  try {
    await finish(first);
    expect(await runcStatus(id)).toBe('paused');
  } finally {
    await finish(second);
  }
  expect(await runcStatus(id)).toBe('running');
});
