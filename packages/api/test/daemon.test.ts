import { existsSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockRoot } from '@ctr/api';
import { request } from './fixture';

const CTRD = join(__dirname, '..', 'bin', 'ctrd.js');
const BUILT = join(__dirname, '..', 'dist', 'daemon-main.js');

beforeAll(() => {
  // The bin runs the built package, as an installed ctrd would.
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b packages/api)`);
});

let work: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-daemon-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  await rm(work, { recursive: true, force: true });
});

function ctrd(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number> } {
  const child = spawn(process.execPath, [CTRD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  return { child, output: () => text, exited };
}

async function listening(output: () => string): Promise<void> {
  for (let i = 0; i < 200 && !output().includes('API listening'); i++) await new Promise((r) => setTimeout(r, 50));
  if (!output().includes('API listening')) throw new Error(`ctrd did not start: ${output()}`);
}

test('ctrd serves on the -H socket, and a second ctrd on the same root is refused with the first one named', async () => {
  const socket = join(work, 'run', 'ctr.sock');
  const first = ctrd(['-H', `unix://${socket}`, '--root', join(work, 'root'), '--runroot', join(work, 'run')]);
  await listening(first.output);
  const ping = await request(socket, 'GET', '/_ping');
  expect(ping.status).toBe(200);

  const second = ctrd(['-H', `unix://${join(work, 'other.sock')}`, '--root', join(work, 'root'), '--runroot', join(work, 'run2')]);
  expect(await second.exited).toBe(1);
  expect(second.output()).toContain(`another ctrd (pid ${first.child.pid}) is already running on ${join(work, 'root')}`);
  // The first one still serves.
  expect((await request(socket, 'GET', '/_ping')).status).toBe(200);

  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
  await expect(stat(join(work, 'root', 'ctrd.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
});

test('a pid file left by a dead daemon is taken over', async () => {
  const root = join(work, 'root');
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => dead.once('exit', resolve));
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'ctrd.pid'), `${dead.pid}\n`);
  const lock = await lockRoot(root);
  await lock.release();
});

test('ctrd refuses plain TCP beyond loopback and unknown flags', async () => {
  const tcp = ctrd(['-H', 'tcp://0.0.0.0:2375', '--root', join(work, 'root'), '--runroot', join(work, 'run')]);
  expect(await tcp.exited).toBe(1);
  expect(tcp.output()).toContain('refusing plain TCP on 0.0.0.0');
  const flag = ctrd(['--bogus']);
  expect(await flag.exited).toBe(1);
  expect(flag.output()).toContain('unknown flag: --bogus');
});
