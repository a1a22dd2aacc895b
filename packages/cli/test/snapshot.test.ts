/**
 * ctr's startup snapshot: after the first `ctr run` has written the full code cache,
 * bin/ctr.js makes dist/ctr.snapshot.blob in the background (node --build-snapshot, the
 * bundle compiled with that cache), and bin/ctr starts node from it from then on — only
 * while it is newer than the bundle, was made by the node on PATH and no NODE_OPTIONS are
 * set; otherwise it runs ctr.js, which makes a new one.
 */
import { appendFile, readdir, rename, rm, stat, symlink, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess, type ProcessResult } from '../../../test/support/run-process';
import { installCopy, type InstallCopy } from './install-copy';
import { launchedNode } from './launched-node';
import { localCtr, type LocalCtr } from './local-ctr';

let local: LocalCtr;
let install: InstallCopy;

beforeAll(async () => {
  local = await localCtr('snapshot');
});

afterAll(async () => {
  await local?.cleanup();
});

beforeEach(async () => {
  install = await installCopy('snapshot');
});

afterEach(async () => {
  // A maker still running finds its directory gone and leaves nothing.
  await install.remove();
});

const onRoot = (...args: string[]): string[] => local.argv(...args).slice(1);
const launcher = (): string => join(install.bin, 'ctr');
const ctr = (...args: string[]): Promise<ProcessResult> => runProcess(launcher(), onRoot(...args), { env: process.env });
const ctrJs = (...args: string[]): Promise<ProcessResult> => runProcess(process.execPath, [join(install.bin, 'ctr.js'), ...onRoot(...args)], { env: process.env });

/** Whether node was started from the snapshot (`--snapshot-blob`) or ran ctr.js, for a `ctr events`. */
async function startedFrom(env: NodeJS.ProcessEnv = process.env): Promise<'snapshot' | 'ctr.js'> {
  const { argv } = await launchedNode(launcher(), onRoot('events'), env);
  return argv.includes('--snapshot-blob') ? 'snapshot' : 'ctr.js';
}

/** Waits for the background maker: the snapshot in place and its lock gone. */
async function snapshotMade(): Promise<void> {
  for (let tries = 0; tries < 300; tries += 1) {
    const files = await readdir(install.dist);
    if (files.includes('ctr.snapshot.blob') && !files.includes('ctr.snapshot.blob.lock')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no snapshot was made: ${(await readdir(install.dist)).join(' ')}`);
}

async function runOnce(): Promise<void> {
  const run = await ctr('run', '--rm', '--network', 'none', 'busybox', 'true');
  expect(run).toEqual({ code: 0, stdout: '', stderr: '' });
  await snapshotMade();
}

test('before any run there is no snapshot, and the launcher runs ctr.js', async () => {
  expect((await ctr('--version')).code).toBe(0);
  expect(await readdir(install.dist)).not.toContain('ctr.snapshot.blob');
  expect(await startedFrom()).toBe('ctr.js');
});

test('the first run makes a snapshot, recording the node that made it', async () => {
  await runOnce();
  const [made, node] = await Promise.all([stat(join(install.dist, 'ctr.snapshot.node')), stat(process.execPath)]);
  expect({ dev: made.dev, ino: made.ino }).toEqual({ dev: node.dev, ino: node.ino });
});

test('once made, the launcher starts node from the snapshot', async () => {
  await runOnce();
  expect(await startedFrom()).toBe('snapshot');
});

test('a command started from the snapshot gives the status and output ctr.js gives', async () => {
  await runOnce();
  const script = ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'];
  expect(await ctr(...script)).toEqual(await ctrJs(...script));
  expect(await ctr(...script)).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  expect(await ctr('no-such-command')).toEqual(await ctrJs('no-such-command'));
  expect(await ctr('images', '--format', '{{.Repository}}:{{.Tag}}')).toEqual({ code: 0, stdout: 'busybox:latest\n', stderr: '' });
});

test('a snapshot older than the bundle (ctr rebuilt) is passed over', async () => {
  await runOnce();
  const later = new Date(Date.now() + 60_000);
  await utimes(join(install.dist, 'ctr.bundle.js'), later, later);
  expect(await startedFrom()).toBe('ctr.js');
});

test('a snapshot another node binary made is passed over, and the next run makes one with this node', async () => {
  await runOnce();
  const link = join(install.dist, 'ctr.snapshot.node');
  await unlink(link);
  await symlink('/bin/sh', link);
  expect(await startedFrom()).toBe('ctr.js');
  await runOnce();
  expect(await startedFrom()).toBe('snapshot');
});

test('with NODE_OPTIONS set (V8 would refuse the snapshot under other flags) the launcher runs ctr.js', async () => {
  await runOnce();
  expect(await startedFrom({ ...process.env, NODE_OPTIONS: '--max-old-space-size=512' })).toBe('ctr.js');
});

test('an install moved elsewhere with its snapshot still runs, through ctr.js, and drops the stale snapshot', async () => {
  await runOnce();
  const moved = `${install.dir}-moved`;
  await rename(install.dir, moved);
  install = { dir: moved, bin: join(moved, 'cli', 'bin'), dist: join(moved, 'cli', 'dist'), remove: () => rm(moved, { recursive: true, force: true }) };
  const version = await ctr('--version');
  expect(version).toEqual({ code: 0, stdout: expect.stringMatching(/^ctr version /), stderr: '' });
  expect(await readdir(install.dist)).not.toContain('ctr.snapshot.blob');
});

test('a command started from the snapshot reads the environment it is started in, not the one the snapshot was made in', async () => {
  await runOnce();
  const [, , root, , runRoot] = local.argv();
  const images = (env: NodeJS.ProcessEnv): Promise<ProcessResult> => runProcess(launcher(), ['images', '-q'], { env: { ...process.env, ...env } });
  const listed = await images({ CTR_ROOT: root, CTR_RUNROOT: runRoot });
  expect(listed).toEqual({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{12}\n$/), stderr: '' });
  const empty = join(install.dir, 'empty-root');
  expect(await images({ CTR_ROOT: empty, CTR_RUNROOT: join(empty, 'run') })).toEqual({ code: 0, stdout: '', stderr: '' });
});

test('a snapshot that cannot be made is tried once per build of ctr, and ctr runs without it', async () => {
  const failing = join(install.dist, 'ctr.bundle.js');
  await appendFile(failing, "\nif (require('node:v8').startupSnapshot.isBuildingSnapshot()) throw new Error('cannot be snapshotted');\n");
  expect((await ctr('run', '--rm', '--network', 'none', 'busybox', 'true')).code).toBe(0);
  const makerDone = async (): Promise<boolean> => {
    const files = await readdir(install.dist);
    return files.includes('ctr.snapshot.failed') && !files.includes('ctr.snapshot.blob.lock');
  };
  for (let tries = 0; !(await makerDone()); tries += 1) {
    if (tries > 300) throw new Error('the failed maker left no mark');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(await ctr('run', '--rm', '--network', 'none', 'busybox', 'true')).toEqual({ code: 0, stdout: '', stderr: '' });
  const files = await readdir(install.dist);
  expect(files.filter((name) => name.startsWith('ctr.snapshot'))).toEqual(['ctr.snapshot.failed']);
});
