import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { isInvalidArgument, isConflict } from '@ctr/errors';
import { Collector, testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
  await bed.runtime.create('host', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'], Env: ['FROM_IMAGE=1'] } });
  await bed.runtime.start('host');
});
afterAll(async () => {
  await bed.cleanup();
});

test('exec returns the exit code and output of the new process', async () => {
  const stdout = new Collector();
  const stderr = new Collector();
  const result = await bed.runtime.exec('host', { cmd: ['sh', '-c', 'echo out; echo err >&2; exit 5'], stdout, stderr });
  expect(result.exitCode).toBe(5);
  expect(stdout.text()).toBe('out\n');
  expect(stderr.text()).toBe('err\n');
});

test('exec runs with the given env, user and working directory', async () => {
  const stdout = new Collector();
  await bed.runtime.exec('host', {
    cmd: ['sh', '-c', 'echo $FROM_IMAGE $EXTRA $(id -u):$(id -g) $(pwd)'],
    env: ['EXTRA=yes'],
    user: 'nobody',
    workingDir: '/tmp',
    stdout,
  });
  expect(stdout.text()).toBe('1 yes 65534:65534 /tmp\n');
});

test('exec pipes stdin to the new process', async () => {
  const stdin = new PassThrough();
  const stdout = new Collector();
  const run = bed.runtime.exec('host', { cmd: ['cat'], stdin, stdout });
  stdin.end('piped\n');
  expect((await run).exitCode).toBe(0);
  expect(stdout.text()).toBe('piped\n');
});

test('exec of a missing executable fails with Docker\'s words and exit code 127', async () => {
  const error = await bed.runtime.exec('host', { cmd: ['nope'] }).catch((e: unknown) => e);
  expect(isInvalidArgument(error)).toBe(true);
  expect((error as Error).message).toBe('OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown');
  expect((error as { details: { exitCode: number } }).details.exitCode).toBe(127);
});

test('exec of a file that is not executable fails with exit code 126', async () => {
  const error = await bed.runtime.exec('host', { cmd: ['/etc/passwd'] }).catch((e: unknown) => e);
  expect(isInvalidArgument(error)).toBe(true);
  expect((error as { details: { exitCode: number } }).details.exitCode).toBe(126);
});

test('exec in a container that is not running is a conflict', async () => {
  await bed.runtime.create('idle', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] } });
  const error = await bed.runtime.exec('idle', { cmd: ['true'] }).catch((e: unknown) => e);
  expect(isConflict(error)).toBe(true);
});

/** The exec session directories of the `host` container. */
function sessions(): string[] {
  const dir = join(bed.base, 'root', 'containers', 'host', 'exec');
  return existsSync(dir) ? readdirSync(dir) : [];
}

test('an AbortSignal detaches from an exec session', async () => {
  const controller = new AbortController();
  const run = bed.runtime.exec('host', { cmd: ['sleep', '1000'], signal: controller.signal });
  setTimeout(() => controller.abort(), 300);
  const error = await run.catch((e: unknown) => e);
  expect((error as { code?: string }).code).toBe('Aborted');
});

test('an exec an abort detached from keeps its session directory while its process runs', async () => {
  const before = sessions();
  const controller = new AbortController();
  const run = bed.runtime.exec('host', { cmd: ['sleep', '1003'], signal: controller.signal });
  setTimeout(() => controller.abort(), 300);
  await run.catch(() => undefined);
  expect(sessions().filter((s) => !before.includes(s))).toHaveLength(1);
});

test('an exec whose signal has already fired starts nothing', async () => {
  const before = sessions();
  const error = await bed.runtime.exec('host', { cmd: ['true'], signal: AbortSignal.abort() }).catch((e: unknown) => e);
  expect((error as { code?: string }).code).toBe('Aborted');
  expect(sessions().filter((s) => !before.includes(s))).toEqual([]);
});

test('an AbortSignal with onAbort kill ends the process and its session before the exec rejects', async () => {
  const before = sessions();
  const controller = new AbortController();
  const run = bed.runtime.exec('host', { cmd: ['sleep', '1001'], signal: controller.signal, onAbort: 'kill' });
  setTimeout(() => controller.abort(), 300);
  const error = await run.catch((e: unknown) => e);
  expect((error as { code?: string }).code).toBe('Aborted');
  const ps = new Collector();
  await bed.runtime.exec('host', { cmd: ['ps', '-o', 'args'], stdout: ps });
  expect(ps.text()).not.toContain('sleep 1001');
  expect(sessions().filter((s) => !before.includes(s))).toEqual([]);
});
