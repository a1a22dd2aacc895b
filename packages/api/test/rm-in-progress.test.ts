/**
 * `DELETE /containers/{id}` of a container whose removal is under way is moby's 409 ("removal
 * of container X is already in progress"); a remote `run --rm` whose own removal (the client's
 * DELETE) meets a user's under way waits for it and returns once the container is gone. A
 * removal is kept under way by a hold this process notes (as a copy's), which it waits for.
 */
import { lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { RemoteEngine } from '@ctr/api';
import { isConflict } from '@ctr/errors';
import { thisProcess } from '@ctr/store';
import { useTestDaemon } from './fixture';

const t = useTestDaemon();

afterEach(() => {
  jest.restoreAllMocks();
});

const holders = (id: string): string => join(t.runRoot, 'engine', 'rootfs-holders', id);
const removalMarked = (id: string): boolean => lstatSync(`${holders(id)}.removing`, { throwIfNoEntry: false }) !== undefined;

/** A hold on container `id`'s root filesystem by this process, in the engine's words for one (`<pid> <start time>`), until the returned release. */
function hold(id: string): () => void {
  const note = join(holders(id), `${process.pid}-rm-in-progress`);
  mkdirSync(holders(id), { recursive: true });
  symlinkSync(`${process.pid} ${thisProcess().startTime}`, note);
  return () => rmSync(note, { force: true });
}

async function marked(id: string): Promise<boolean> {
  for (let i = 0; i < 150 && !removalMarked(id); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  return removalMarked(id);
}

test('DELETE of a container whose removal is under way is a 409 in moby’s words, naming it as the request did', async () => {
  const { id } = await t.daemon.engine.create({ image: 'busybox', pull: 'never', network: 'none', name: 'rip-api', cmd: ['true'] });
  const release = hold(id);
  const first = t.daemon.engine.remove(id);
  try {
    expect(await marked(id)).toBe(true);
    await expect(new RemoteEngine({ host: `unix://${t.socket}` }).remove('rip-api')).rejects.toMatchObject({
      code: 'Conflict',
      message: 'removal of container rip-api is already in progress',
    });
  } finally {
    release();
  }
  await first;
});

test('a remote run --rm whose removal meets a user’s under way returns once the container is gone', async () => {
  const remote = new RemoteEngine({ host: `unix://${t.socket}` });
  const stdin = new PassThrough();
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  // With stdin and no terminal the client removes the container itself, by a DELETE.
  const run = remote.run({ image: 'busybox', pull: 'never', network: 'none', name: 'rip-api-run', autoRemove: true, openStdin: true, stdin, stdout: new PassThrough(), cmd: ['sh', '-c', 'read x'], onStarted: () => started() });
  run.catch(() => undefined);
  await running;
  const { Id: id } = await t.daemon.engine.inspect('rip-api-run');
  const release = hold(id);
  const userRemoval = t.daemon.engine.remove(id, { force: true });
  // The run's DELETE refused (the user's under way): the user's then goes on.
  const remove = t.daemon.engine.remove.bind(t.daemon.engine);
  const refused = jest.spyOn(t.daemon.engine, 'remove').mockImplementation(async (ref, options) =>
    remove(ref, options).catch((error: unknown) => {
      if (isConflict(error)) release();
      throw error;
    }),
  );
  try {
    expect(await marked(id)).toBe(true);
    stdin.end('x\n');
    expect((await run).exitCode).toBe(0);
  } finally {
    release();
  }
  expect(refused).toHaveBeenCalledWith(id, { force: true, volumes: true });
  await userRemoval;
  expect((await t.daemon.engine.ps({ all: true })).map((c) => c.Id)).not.toContain(id);
});

test('a remote run --rm whose removal meets a user’s under way stops asking again once its signal aborts', async () => {
  const remote = new RemoteEngine({ host: `unix://${t.socket}` });
  const cancel = new AbortController();
  const stdin = new PassThrough();
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const run = remote.run({ image: 'busybox', pull: 'never', network: 'none', name: 'rip-api-abort', autoRemove: true, openStdin: true, stdin, stdout: new PassThrough(), cmd: ['sh', '-c', 'read x'], signal: cancel.signal, onStarted: () => started() });
  run.catch(() => undefined);
  await running;
  const { Id: id } = await t.daemon.engine.inspect('rip-api-abort');
  const release = hold(id);
  const userRemoval = t.daemon.engine.remove(id, { force: true });
  // The run's DELETE refused (the user's removal held under way): its caller gives up then.
  const remove = t.daemon.engine.remove.bind(t.daemon.engine);
  const refused = jest.spyOn(t.daemon.engine, 'remove').mockImplementation(async (ref, options) =>
    remove(ref, options).catch((error: unknown) => {
      if (isConflict(error)) cancel.abort();
      throw error;
    }),
  );
  try {
    expect(await marked(id)).toBe(true);
    stdin.end('x\n');
    await expect(run).rejects.toMatchObject({ code: 'Aborted', message: `removing container ${id} was cancelled` });
    expect(refused).toHaveBeenCalledTimes(1);
  } finally {
    release();
  }
  await userRemoval;
  expect((await t.daemon.engine.ps({ all: true })).map((c) => c.Id)).not.toContain(id);
});
