/**
 * A removal and the holds on a container's root filesystem (`container-root.ts`): a removal
 * waits for live holders only, refuses a container that a start made running while it looked,
 * marks itself without making the holders' directory of a container nobody held, and a hold
 * that comes after a finished removal fails as docker's does for a container that is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { claimRemoval, holdRootfs } from '../src/container-root';
import { ContainerRecords } from '../src/container-records';
import type { EngineContext } from '../src/context';
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

/** The engine's context, as its containers see it. */
async function context(): Promise<EngineContext> {
  return (await (t.engine as unknown as { ready(): Promise<{ ctx: EngineContext }> }).ready()).ctx;
}

const holders = (id: string): string => path.join(t.runRoot, 'engine', 'rootfs-holders', id);

const created = async (cmd: string[]): Promise<string> => (await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd })).id;

/** /proc/PID/stat's fields from the state on. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

test('a removal does not wait for a hold whose process is a zombie nobody reaps', async () => {
  const id = await created(['true']);
  // `sleep` takes the shell's place and never reaps the `head` it started, which ends once
  // told to (a byte on fd 3) after the exec: a zombie nobody reaps.
  const parent = spawn('sh', ['-c', 'head -c 1 <&3 >/dev/null & echo $!; exec sleep 300'], { stdio: ['ignore', 'pipe', 'ignore', 'pipe'] });
  children.push(parent);
  const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
  const pid = Number(line.toString().trim());
  expect(await eventually(async () => readFileSync(`/proc/${parent.pid}/comm`, 'latin1').trim(), (comm) => comm === 'sleep')).toBe('sleep');
  (parent.stdio[3] as Writable).end('x');
  const fields = await eventually(async () => statFields(pid), (f) => f[0] === 'Z');
  expect(fields[0]).toBe('Z');
  // The note such a copier would have left (`<pid> <start time>`) before it ended.
  mkdirSync(holders(id), { recursive: true });
  symlinkSync(`${pid} ${fields[19]}`, path.join(holders(id), `${pid}-zombie`));
  await t.engine.remove(id);
  await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
});

test('a removal refuses a container a start made running after its first look, in moby’s words', async () => {
  const id = await created(['sleep', '300']);
  const { Name } = await t.engine.inspect(id);
  const { runtime } = await context();
  const state = runtime.state.bind(runtime);
  // The removal's first look sees it created; the start comes before the removal's claim.
  const spy = jest.spyOn(runtime, 'state').mockImplementationOnce(async (container) => {
    const seen = await state(container);
    await t.engine.start(id);
    return seen;
  });
  try {
    await expect(t.engine.remove(id)).rejects.toMatchObject({
      code: 'Conflict',
      message: `cannot remove container "${Name}": container is running: stop the container before removing or force remove`,
    });
  } finally {
    spy.mockRestore();
  }
  expect((await t.engine.inspect(id)).State.Running).toBe(true);
  await t.engine.remove(id, { force: true });
});

test('a hold taken after the container was removed fails as No such container, and leaves nothing of it behind', async () => {
  const id = await created(['true']);
  const record = await new ContainerRecords(t.root).read(id);
  await t.engine.remove(id);
  await expect(holdRootfs(await context(), record, 'copied')).rejects.toMatchObject({ code: 'NotFound', message: `No such container: ${id}` });
  expect(existsSync(holders(id))).toBe(false);
  expect(existsSync(record.rootfs)).toBe(false);
});

test('the removal of a container nobody held makes no holders’ directory', async () => {
  const id = await created(['true']);
  const claim = (await claimRemoval(t, id))!;
  try {
    expect(existsSync(holders(id))).toBe(false);
  } finally {
    claim.cancel();
  }
  await t.engine.remove(id);
});

test('a copy begun while the removal of a container nobody held is under way is refused: it is marked for removal', async () => {
  const id = await created(['true']);
  const claim = (await claimRemoval(t, id))!;
  try {
    await expect(t.engine.getArchive(id, '/etc')).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining('is marked for removal') });
  } finally {
    claim.cancel();
  }
  const { tar } = await t.engine.getArchive(id, '/etc/passwd');
  tar.resume();
  await once(tar, 'end');
  await t.engine.remove(id);
});
