import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isNotFound } from '@ctr/errors';
import { Runtime } from '@ctr/runtime';
import { testBed, type TestBed } from './helpers';

// A second process loads the built package, as another engine on the same root would.
const built = path.resolve(__dirname, '../dist/index.js');

let bed: TestBed;
beforeAll(async () => {
  if (!existsSync(built)) throw new Error(`${built} is missing: build first (npx tsc -b packages/runtime)`);
  bed = await testBed();
});
afterAll(async () => {
  await bed.cleanup();
});

function node(script: string, args: string[]): { output: Promise<string>; pid: number; kill: () => void } {
  const child = spawn(process.execPath, ['-e', script, built, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const lines: ((line: string) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('\n')) lines.splice(0).forEach((f) => f(out));
  });
  const output = new Promise<string>((resolve) => {
    lines.push(resolve);
    child.on('close', () => resolve(out));
  });
  return { output, pid: child.pid as number, kill: () => child.kill('SIGKILL') };
}

const options = (): string => JSON.stringify({ root: path.join(bed.base, 'root'), runRoot: path.join(bed.base, 'run'), cgroupParent: bed.cgroupParent });

test('a container keeps running when the process that started it is killed, and its exit code is kept', async () => {
  const rootfs = await bed.rootfs();
  const child = node(
    `const { Runtime } = require(process.argv[1]);
     const rt = new Runtime(JSON.parse(process.argv[2]));
     (async () => {
       await rt.create('orphan', { rootfs: process.argv[3], image: { Cmd: ['sh', '-c', 'sleep 1; exit 7'] } });
       await rt.start('orphan');
       console.log('started');
       setInterval(() => {}, 1000);
     })();`,
    [options(), rootfs],
  );
  expect(await child.output).toBe('started\n');
  child.kill();
  const here = new Runtime({ root: path.join(bed.base, 'root'), runRoot: path.join(bed.base, 'run'), cgroupParent: bed.cgroupParent });
  expect((await here.state('orphan')).running).toBe(true);
  expect((await here.wait('orphan')).exitCode).toBe(7);
});

test('another process sees, stops and removes a container this one started', async () => {
  await bed.runtime.create('shared', { rootfs: await bed.rootfs(), image: { Cmd: ['sleep', '1000'] } });
  await bed.runtime.start('shared');
  const other = node(
    `const { Runtime } = require(process.argv[1]);
     const rt = new Runtime(JSON.parse(process.argv[2]));
     (async () => {
       const seen = (await rt.list()).map((c) => c.id + ':' + c.status);
       const stopped = await rt.stop('shared', { timeout: 1 });
       await rt.delete('shared');
       console.log(JSON.stringify({ seen, exitCode: stopped.exitCode }));
     })();`,
    [options()],
  );
  const report = JSON.parse(await other.output) as { seen: string[]; exitCode: number };
  expect(report.seen).toContain('shared:running');
  // sleep as PID 1 has no default action for SIGTERM, so stop ends it with SIGKILL.
  expect(report.exitCode).toBe(137);
  const error = await bed.runtime.state('shared').catch((e: unknown) => e);
  expect(isNotFound(error)).toBe(true);
});
