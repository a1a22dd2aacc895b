import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/**
 * `ctr compose watch` and `up --watch` as a user runs them: the command started, a file
 * written, the change in the container, Ctrl-C; and compose's refusals.
 */
describe('ctr compose watch', () => {
  let ctr: LocalCtr;
  let dir: string;
  const env = { ...process.env, NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '' };
  const composeIn = (cwd: string, ...args: string[]): Promise<CtrResult> => ctr.runWith({ env, cwd, timeoutMs: 120_000 }, 'compose', ...args);

  /** A project directory `name` whose `web` syncs ./src to /app. */
  async function syncing(name: string): Promise<string> {
    const project = join(dir, name);
    await mkdir(join(project, 'src'), { recursive: true });
    const rule = '    develop:\n      watch:\n        - path: ./src\n          action: sync\n          target: /app\n';
    await writeFile(join(project, 'compose.yaml'), `services:\n  web:\n    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]\n${rule}`);
    return project;
  }

  /** `ctr compose ARGS…` running in `cwd`, its output as it comes. */
  function started(cwd: string, ...args: string[]): { child: ChildProcessWithoutNullStreams; out: { stdout: string; stderr: string }; printed(text: string): Promise<void> } {
    const [file, ...rest] = ctr.argv('compose', ...args);
    const child = spawn(file as string, rest, { cwd, env });
    const out = { stdout: '', stderr: '' };
    child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
    const printed = (text: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (out.stdout.includes(text)) resolve();
        };
        child.stdout.on('data', check);
        child.once('close', () => reject(new Error(`ended before printing ${JSON.stringify(text)}:\n${out.stdout}\n${out.stderr}`)));
        check();
      });
    return { child, out, printed };
  }

  beforeAll(async () => {
    ctr = await localCtr('compose-watch');
    dir = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-watch-'));
  }, 120_000);

  afterAll(async () => {
    await ctr.cleanup();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test('brings the project up, syncs a changed file into the container, and ends on Ctrl-C with 130', async () => {
    const project = await syncing('synced');
    const watch = started(project, '-p', 'synced', 'watch');
    const closed = once(watch.child, 'close');
    try {
      await watch.printed('Watch enabled\n');
      expect(watch.out.stderr).toContain(' Container synced-web-1  Started\n');
      await writeFile(join(project, 'src', 'index.html'), 'hello\n');
      await watch.printed('Syncing service "web" after 1 changes were detected\n');
      let cat: CtrResult | undefined;
      for (let i = 0; i < 100 && cat?.stdout !== 'hello\n'; i++) cat = await composeIn(project, '-p', 'synced', 'exec', '-T', 'web', 'cat', '/app/index.html');
      expect(cat?.stdout).toBe('hello\n');
      watch.child.kill('SIGINT');
      const [code] = await closed;
      expect(code).toBe(130);
      expect(watch.out.stdout).toBe('Watch enabled\nSyncing service "web" after 1 changes were detected\nWatch disabled\n');
    } finally {
      watch.child.kill('SIGKILL');
      await composeIn(project, '-p', 'synced', 'down', '-t', '1');
    }
  }, 120_000);

  test('up --watch prints the watch\'s lines among the services\' under compose\'s ⦿ mark', async () => {
    const project = await syncing('upwatch');
    const up = started(project, '-p', 'upwatch', 'up', '--watch');
    const closed = once(up.child, 'close');
    try {
      await up.printed('        ⦿ Watch enabled\n');
      await writeFile(join(project, 'src', 'a.txt'), 'a\n');
      await up.printed('        ⦿ Syncing service "web" after 1 changes were detected\n');
      up.child.kill('SIGINT');
      const [code] = await closed;
      expect(code).toBe(130);
      expect(up.out.stdout).toContain('        ⦿ Watch disabled\n');
      expect(up.out.stderr).toContain('Gracefully stopping... (press Ctrl+C again to force)\n');
    } finally {
      up.child.kill('SIGKILL');
      await composeIn(project, '-p', 'upwatch', 'down', '-t', '1');
    }
  }, 120_000);

  test('a project without a develop section is refused before anything starts', async () => {
    const project = join(dir, 'plain');
    await mkdir(project);
    await writeFile(join(project, 'compose.yaml'), 'services:\n  web:\n    image: busybox\n');
    expect(await composeIn(project, '-p', 'plain', 'watch')).toMatchObject({ code: 1, stderr: expect.stringContaining("none of the selected services is configured for watch, consider setting a 'develop' section") });
    expect((await composeIn(project, '-p', 'plain', 'ps', '-a', '-q')).stdout).toBe('');
  });

  test("up --watch is refused with -d and with --no-build, in compose's words", async () => {
    const project = await syncing('flags');
    expect(await composeIn(project, 'up', '-d', '--watch')).toMatchObject({ code: 1, stderr: expect.stringContaining('--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch') });
    expect(await composeIn(project, 'up', '--no-build', '--watch')).toMatchObject({ code: 1, stderr: expect.stringContaining('--no-build and --watch are incompatible') });
  });
});
