import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Runtime } from '@ctr/runtime';
import { isConflict } from '@ctr/errors';
import { eventually, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

async function running(id: string, script: string): Promise<void> {
  await bed.runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', script] } });
  await bed.runtime.start(id);
}

/** Resolves once the container has logged `ready` (its traps are set). */
async function ready(id: string): Promise<void> {
  await eventually(async () => {
    const lines = [];
    for await (const e of bed.runtime.logs(id)) lines.push(e.line);
    expect(lines).toContain('ready');
  });
}

test('stop of a process that ignores SIGTERM kills it after the timeout', async () => {
  await running('stubborn', "trap '' TERM; echo ready; while true; do sleep 0.1; done");
  await ready('stubborn');
  const startedAt = Date.now();
  const status = await bed.runtime.stop('stubborn', { timeout: 1 });
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
  expect(status?.exitCode).toBe(137);
  expect((await bed.runtime.state('stubborn')).status).toBe('exited');
});

test('stop tells its caller just before the SIGKILL that ends the grace', async () => {
  await running('announced', "trap '' TERM; echo ready; while true; do sleep 0.1; done");
  await ready('announced');
  let runningAtForceKill: boolean | undefined;
  const status = await bed.runtime.stop('announced', {
    timeout: 0,
    onForceKill: async () => {
      runningAtForceKill = (await bed.runtime.state('announced')).running;
    },
  });
  expect([runningAtForceKill, status?.exitCode]).toEqual([true, 137]);
});

test('stop kills at the end of the grace even when telling of it fails (a full disk refusing the event)', async () => {
  await running('untold', "trap '' TERM; echo ready; while true; do sleep 0.1; done");
  await ready('untold');
  const status = await bed.runtime.stop('untold', {
    timeout: 0,
    onForceKill: () => Promise.reject(new Error('ENOSPC')),
  });
  expect(status?.exitCode).toBe(137);
});

test('stop of a process that exits on the stop signal never tells of a SIGKILL', async () => {
  await running('unforced', "trap 'exit 3' TERM; echo ready; while true; do sleep 0.1; done");
  await ready('unforced');
  let forced = false;
  const status = await bed.runtime.stop('unforced', { timeout: 30, onForceKill: () => void (forced = true) });
  expect([forced, status?.exitCode]).toEqual([false, 3]);
});

test('stop with a negative timeout waits for the process however long it takes, as dockerd', async () => {
  await running('patient', "trap 'sleep 1.5; exit 5' TERM; echo ready; while true; do sleep 0.1; done");
  await ready('patient');
  let forced = false;
  const status = await bed.runtime.stop('patient', { timeout: -1, onForceKill: () => void (forced = true) });
  expect([forced, status?.exitCode]).toEqual([false, 5]);
});

test('stop sends the stop signal first, and a process that handles it exits by itself', async () => {
  await running('polite', "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done");
  await ready('polite');
  const status = await bed.runtime.stop('polite', { timeout: 30 });
  expect(status?.exitCode).toBe(42);
});

test('the image StopSignal is the signal stop sends', async () => {
  await bed.runtime.create('usr1', {
    rootfs: await bed.rootfs(),
    image: { Cmd: ['sh', '-c', "trap 'exit 10' USR1; echo ready; while true; do sleep 0.1; done"], StopSignal: 'SIGUSR1' },
  });
  await bed.runtime.start('usr1');
  await ready('usr1');
  expect((await bed.runtime.stop('usr1', { timeout: 30 }))?.exitCode).toBe(10);
});

test('kill delivers any signal by name or number', async () => {
  await running('killme', "trap 'exit 12' USR2; echo ready; while true; do sleep 0.1; done");
  await ready('killme');
  await bed.runtime.kill('killme', 'usr2');
  expect((await bed.runtime.wait('killme')).exitCode).toBe(12);
  await running('killnum', 'sleep 1000');
  await bed.runtime.kill('killnum', 9);
  expect((await bed.runtime.wait('killnum')).exitCode).toBe(137);
});

test('kill of a container that is not running is a conflict', async () => {
  await bed.runtime.create('notrunning', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] } });
  const error = await bed.runtime.kill('notrunning').catch((e: unknown) => e);
  expect(isConflict(error)).toBe(true);
});

test('pause freezes the processes and unpause thaws them', async () => {
  await running('freeze', 'while true; do sleep 0.1; done');
  await bed.runtime.pause('freeze');
  const paused = await bed.runtime.state('freeze');
  expect(paused.status).toBe('paused');
  expect(paused.paused).toBe(true);
  expect(readFileSync(`/sys/fs/cgroup/freezer${bed.cgroupParent}/freeze/freezer.state`, 'utf8').trim()).toBe('FROZEN');
  await bed.runtime.unpause('freeze');
  expect((await bed.runtime.state('freeze')).status).toBe('running');
});

test('restart runs the process again', async () => {
  await running('again', 'echo run; sleep 1000');
  const first = await bed.runtime.state('again');
  await bed.runtime.restart('again', { timeout: 0 });
  const second = await bed.runtime.state('again');
  expect(second.status).toBe('running');
  expect(second.pid).not.toBe(first.pid);
  await eventually(async () => {
    const lines = [];
    for await (const e of bed.runtime.logs('again')) lines.push(e.line);
    expect(lines).toEqual(['run', 'run']);
  });
});

test('an exited container can be started again and keeps its log', async () => {
  await running('twice', 'echo once');
  await bed.runtime.wait('twice');
  await bed.runtime.start('twice');
  expect((await bed.runtime.wait('twice')).exitCode).toBe(0);
  const lines = [];
  for await (const e of bed.runtime.logs('twice')) lines.push(e.line);
  expect(lines).toEqual(['once', 'once']);
});

test('delete refuses a running container unless forced', async () => {
  await running('busy', 'sleep 1000');
  const error = await bed.runtime.delete('busy').catch((e: unknown) => e);
  expect(isConflict(error)).toBe(true);
  expect((error as Error).message).toMatch(/container is running: stop the container before removing or force remove/);
  await bed.runtime.delete('busy', { force: true });
  expect((await bed.runtime.list()).map((c) => c.id)).not.toContain('busy');
});

test('stop of a paused container thawed by someone else meanwhile (a copy that froze it ending) stops it', async () => {
  // A runc whose resume comes a second late: the other thaw lands between stop's look and its resume.
  const slowResume = path.join(bed.base, 'runc-slow-resume');
  await writeFile(slowResume, '#!/bin/sh\nfor a in "$@"; do [ "$a" = resume ] && sleep 1; done\nexec runc "$@"\n', { mode: 0o755 });
  const slow = new Runtime({ root: path.join(bed.base, 'root'), runRoot: path.join(bed.base, 'run'), cgroupParent: bed.cgroupParent, runtimePath: slowResume });
  await running('thawed', 'sleep 1000');
  await bed.runtime.pause('thawed');
  const stopping = slow.stop('thawed', { timeout: 0 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await bed.runtime.unpause('thawed');
  expect((await stopping)?.exitCode).toBe(137);
});
