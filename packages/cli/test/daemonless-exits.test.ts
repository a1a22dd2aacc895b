import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { runProcess } from '../../../test/support/run-process';
import { eventually, localCtr, type LocalCtr } from './local-ctr';

/**
 * No ctr process stays behind a detached container: conmon runs `ctr container cleanup`
 * when one with `--rm` or a restart policy exits (Podman's way), so Docker's behaviour holds
 * without a daemon — for an attached one too, once its ctr is gone.
 */
let local: LocalCtr;
const ctr = (...args: string[]): ReturnType<LocalCtr['run']> => local.run(...args);

beforeAll(async () => {
  local = await localCtr('exits');
});

afterAll(async () => {
  await local.cleanup();
});

test('a detached --rm container is removed after it exits, with no ctr process running', async () => {
  const run = await ctr('run', '-d', '--rm', '--name', 'short-lived', '--network', 'none', 'busybox', 'sh', '-c', 'sleep 0.2');
  expect(run.code).toBe(0);
  expect(await eventually(async () => (await ctr('ps', '-a', '--filter', 'name=short-lived', '-q')).stdout.trim() === '')).toBe(true);
});

test('a detached --rm container on a root named by $CTR_ROOT and $CTR_RUNROOT is removed after it exits', async () => {
  const [launcher = '', , root = '', , runRoot = ''] = local.argv();
  const byEnv = (...args: string[]): ReturnType<LocalCtr['run']> => runProcess(launcher, args, { env: { ...process.env, CTR_ROOT: root, CTR_RUNROOT: runRoot } });
  expect((await byEnv('run', '-d', '--rm', '--name', 'env-rooted', '--network', 'none', 'busybox', 'sh', '-c', 'sleep 0.2')).code).toBe(0);
  expect(await eventually(async () => (await ctr('ps', '-a', '--filter', 'name=env-rooted', '-q')).stdout.trim() === '')).toBe(true);
});

test('--restart on-failure:2 restarts a failing container twice, then leaves it exited', async () => {
  expect((await ctr('run', '-d', '--restart', 'on-failure:2', '--name', 'flaky', '--network', 'none', 'busybox', 'sh', '-c', 'exit 3')).code).toBe(0);
  const settled = async (): Promise<boolean> => (await ctr('inspect', '--format', '{{.RestartCount}} {{.State.Status}}', 'flaky')).stdout.trim() === '2 exited';
  expect(await eventually(settled)).toBe(true);
  expect((await ctr('inspect', '--format', '{{.State.ExitCode}}', 'flaky')).stdout.trim()).toBe('3');
});

test('--restart always brings an exited container back, and ctr stop stops it for good', async () => {
  expect((await ctr('run', '-d', '--restart', 'always', '--name', 'phoenix', '--network', 'none', 'busybox', 'sh', '-c', 'sleep 0.2')).code).toBe(0);
  const restarted = async (): Promise<boolean> => Number((await ctr('inspect', '--format', '{{.RestartCount}}', 'phoenix')).stdout.trim()) >= 1;
  expect(await eventually(restarted)).toBe(true);
  expect((await ctr('stop', '-t', '1', 'phoenix')).code).toBe(0);
  const count = (await ctr('inspect', '--format', '{{.RestartCount}}', 'phoenix')).stdout.trim();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect((await ctr('inspect', '--format', '{{.State.Status}} {{.RestartCount}}', 'phoenix')).stdout.trim()).toBe(`exited ${count}`);
});

test('an attached --rm container whose ctr was killed is removed when it exits', async () => {
  // It exits when the test says (a file appears), not after a sleep a busy machine may outlast before it is looked at.
  const [launcher, ...args] = local.argv('run', '--rm', '--name', 'orphan', '--network', 'none', 'busybox', 'sh', '-c', 'echo ready; until [ -e /go ]; do sleep 0.1; done');
  const run = spawn(launcher as string, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => run.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve()));
  const killed = new Promise((resolve) => run.once('close', resolve));
  run.kill('SIGKILL');
  await killed;
  expect((await ctr('ps', '-a', '--filter', 'name=orphan', '-q')).stdout.trim()).not.toBe('');
  expect((await ctr('exec', 'orphan', 'touch', '/go')).code).toBe(0);
  expect(await eventually(async () => (await ctr('ps', '-a', '--filter', 'name=orphan', '-q')).stdout.trim() === '')).toBe(true);
});

test('an attached run with a restart policy is restarted after it exits, as a detached one is', async () => {
  const run = await ctr('run', '--restart', 'on-failure:1', '--name', 'attached-flaky', '--network', 'none', 'busybox', 'sh', '-c', 'echo once; exit 3');
  expect(run).toMatchObject({ code: 3, stdout: 'once\n' });
  const settled = async (): Promise<boolean> => (await ctr('inspect', '--format', '{{.RestartCount}} {{.State.Status}}', 'attached-flaky')).stdout.trim() === '1 exited';
  expect(await eventually(settled)).toBe(true);
});

/** The PIDs of processes whose command line names `word` (the health check timers of a container). */
function processesNaming(word: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(word);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('--health-cmd checks a detached container with no ctr process running, until it is removed', async () => {
  const run = await ctr('run', '-d', '--name', 'checked', '--health-cmd', 'test -e /proc/1', '--health-interval', '200ms', '--network', 'none', 'busybox', 'sleep', '60');
  expect(run.code).toBe(0);
  const id = run.stdout.trim();
  expect(await eventually(async () => (await ctr('ps', '--filter', 'health=healthy', '--format', '{{.Names}} {{.Status}}')).stdout.includes('checked Up'))).toBe(true);
  expect(processesNaming(id)).not.toEqual([]);
  expect(await ctr('healthcheck', 'run', 'checked')).toEqual({ code: 0, stdout: 'healthy\n', stderr: '' });
  expect((await ctr('rm', '-f', 'checked')).code).toBe(0);
  expect(await eventually(async () => processesNaming(id).length === 0)).toBe(true);
});

test('--no-healthcheck with a --health-* option is refused', async () => {
  const result = await ctr('create', '--no-healthcheck', '--health-retries', '2', 'busybox');
  expect(result.code).toBe(125);
  expect(result.stderr).toContain('--no-healthcheck conflicts with --health-* options');
});

test('a --health-interval that is no duration names the flag', async () => {
  const result = await ctr('create', '--health-interval', '5 minutes', 'busybox');
  expect(result.code).toBe(125);
  expect(result.stderr).toContain('invalid argument "5 minutes" for "--health-interval" flag: time: invalid duration "5 minutes"');
});
