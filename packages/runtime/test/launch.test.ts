import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { Runtime, type Launch, type RuntimeOptions } from '@ctr/runtime';
import { testBed, type TestBed } from './helpers';

let bed: TestBed;
beforeAll(async () => {
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

/** The test bed's runtime, with other options. */
function runtimeWith(options: Partial<RuntimeOptions>): Runtime {
  return new Runtime({ root: path.join(bed.base, 'root'), runRoot: path.join(bed.base, 'run'), cgroupParent: bed.cgroupParent, ...options });
}

/** A launch as a caller might give one (spawned detached from here), noting each program it starts. */
function notingLaunch(programs: string[]): Launch {
  return (argv, env, cwd) => {
    programs.push(argv[0] ?? '');
    const child = spawn(argv[0] as string, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    child.unref();
    return child.stdio[3] as Readable;
  };
}

async function exitCodeOf(runtime: Runtime, id: string, code: number): Promise<number> {
  await runtime.create(id, { rootfs: await bed.rootfs(), image: { Cmd: ['sh', '-c', `exit ${code}`] } });
  await runtime.start(id);
  const { exitCode } = await runtime.wait(id);
  await runtime.delete(id);
  return exitCode;
}

test('conmon is started through the launch given, and its container runs as any other', async () => {
  const programs: string[] = [];
  expect(await exitCodeOf(runtimeWith({ launch: notingLaunch(programs) }), 'launched', 3)).toBe(3);
  expect(programs).toEqual([expect.stringMatching(/\/conmon$/)]);
});

test('when the launch declines, conmon is spawned from this process', async () => {
  expect(await exitCodeOf(runtimeWith({ launch: () => undefined }), 'declined', 4)).toBe(4);
});

test('a launch that fails is an Internal error naming conmon, and the container is left exited, not half-started', async () => {
  const failing: Launch = () => {
    const pipe = new PassThrough();
    setImmediate(() => pipe.destroy(new Error('cannot start the program: fork: Resource temporarily unavailable')));
    return pipe;
  };
  const runtime = runtimeWith({ launch: failing });
  await runtime.create('unlaunched', { rootfs: await bed.rootfs(), image: { Cmd: ['true'] } });
  await expect(runtime.start('unlaunched')).rejects.toMatchObject({
    code: 'Internal',
    message: 'cannot start conmon: cannot start the program: fork: Resource temporarily unavailable',
  });
  expect(await runtime.state('unlaunched')).toMatchObject({ status: 'exited', exitCode: 128 });
  await runtime.delete('unlaunched');
});

test("the containers' and runc's directories, when the runtime makes them, are given to spreadSubdirectories, once", async () => {
  const marked: string[] = [];
  const options = {
    root: path.join(bed.base, 'spread-root'),
    runRoot: path.join(bed.base, 'spread-run'),
    cgroupParent: bed.cgroupParent,
    spreadSubdirectories: async (dir: string): Promise<void> => {
      marked.push(dir);
    },
  };
  expect(await exitCodeOf(new Runtime(options), 'spread', 0)).toBe(0);
  expect(await exitCodeOf(new Runtime(options), 'spread-again', 0)).toBe(0);
  expect(marked).toEqual([path.join(options.root, 'containers'), path.join(options.runRoot, 'runc')]);
});
