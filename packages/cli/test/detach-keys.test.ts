/**
 * `-a/--attach` and the detach keys of `ctr run`, `start`, `attach` and `exec`, as docker's:
 * in a terminal, ctrl-p ctrl-q (or `--detach-keys`, or config.json's `detachKeys`) leaves
 * the container running; `run` and `start` then exit 0, `attach` and `exec` say "read escape
 * sequence" and exit 1.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inTerminal, type TerminalSession } from '../../../test/support/terminal';
import { localCtr, type LocalCtr } from './local-ctr';

const CTRL_P = '\x10';
const CTRL_Q = '\x11';
/** A program that says when it reads, then shows what it reads (control keys as ^X; ctrl-q is not flow control). */
const SHOW_INPUT = ['sh', '-c', 'stty -ixon; echo ready; exec cat -v'];
const RUN = ['--network', 'none', '--pull', 'never'];

let local: LocalCtr;
const sessions: TerminalSession[] = [];

beforeAll(async () => {
  local = await localCtr('detach-keys');
  // A shell that runs, with a terminal and its stdin open, for attach and exec to reach.
  const target = await local.run('run', '-dit', '--name', 'dk-target', '--network', 'none', '--pull', 'never', 'busybox', 'sh');
  if (target.code !== 0) throw new Error(`cannot start the target container: ${target.stderr}`);
});

afterEach(() => {
  for (const session of sessions.splice(0)) session.kill();
});

afterAll(async () => {
  await local?.cleanup();
});

function terminal(args: string[], env: NodeJS.ProcessEnv = process.env): TerminalSession {
  const session = inTerminal(local.argv(...args), env);
  sessions.push(session);
  return session;
}

async function status(name: string): Promise<string> {
  return (await local.run('inspect', '--format', '{{.State.Status}}', name)).stdout.trim();
}

/** Types the keys one at a time, as a person does. */
async function typeKeys(session: TerminalSession, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    session.type(key);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('detach keys', () => {
  test('run -it detaches on ctrl-p ctrl-q: exit 0, nothing said, the container runs on', async () => {
    const session = terminal(['run', '-it', '--name', 'dk-run', ...RUN, 'busybox', 'sh']);
    await session.waitFor('/ # ');
    await typeKeys(session, CTRL_P, CTRL_Q);
    expect(await session.exited).toBe(0);
    expect(session.output()).not.toMatch(/escape/);
    expect(await status('dk-run')).toBe('running');
  });

  test('attach detaches with "read escape sequence" and 1; the shell keeps its stdin for the next attach', async () => {
    for (const sum of ['42', '43']) {
      const session = terminal(['attach', 'dk-target']);
      session.type(`echo $((40 + ${Number(sum) - 40}))\r`);
      await session.waitFor(new RegExp(`^${sum}\\r*$`, 'm'));
      await typeKeys(session, CTRL_P, CTRL_Q);
      expect(await session.exited).toBe(1);
      expect(session.output()).toMatch(/read escape sequence\r?\n$/);
      expect(await status('dk-target')).toBe('running');
    }
  });

  test('a partial sequence reaches the program: ctrl-p then a', async () => {
    const session = terminal(['run', '-it', '--name', 'dk-partial', ...RUN, 'busybox', ...SHOW_INPUT]);
    await session.waitFor('ready');
    await typeKeys(session, CTRL_P, 'a', '\r');
    await session.waitFor(/^\^Pa\r*$/m);
    await typeKeys(session, CTRL_P, CTRL_Q);
    expect(await session.exited).toBe(0);
    expect(await status('dk-partial')).toBe('running');
  });

  test('--detach-keys ctrl-a,x replaces the default: ctrl-p ctrl-q reach the program, ctrl-a x detaches', async () => {
    const session = terminal(['run', '-it', '--detach-keys', 'ctrl-a,x', '--name', 'dk-custom', ...RUN, 'busybox', ...SHOW_INPUT]);
    await session.waitFor('ready');
    await typeKeys(session, CTRL_P, CTRL_Q, '\r');
    await session.waitFor(/^\^P\^Q\r*$/m);
    await typeKeys(session, '\x01', 'x');
    expect(await session.exited).toBe(0);
    expect(await status('dk-custom')).toBe('running');
  });

  test("config.json's detachKeys are the default", async () => {
    const config = await mkdtemp(join(tmpdir(), 'ctr-detach-config-'));
    try {
      await writeFile(join(config, 'config.json'), JSON.stringify({ detachKeys: 'ctrl-a,x' }));
      const session = terminal(['run', '-it', '--name', 'dk-config', ...RUN, 'busybox', ...SHOW_INPUT], { ...process.env, CTR_CONFIG: config });
      await session.waitFor('ready');
      await typeKeys(session, '\x01', 'x');
      expect(await session.exited).toBe(0);
      expect(await status('dk-config')).toBe('running');
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  });

  test('exec -it detaches with "read escape sequence" and 1; the exec runs on', async () => {
    const session = terminal(['exec', '-it', 'dk-target', 'sh', '-c', 'echo ready; exec sleep 600']);
    await session.waitFor('ready');
    await typeKeys(session, CTRL_P, CTRL_Q);
    expect(await session.exited).toBe(1);
    expect(session.output()).toMatch(/read escape sequence\r?\n$/);
    expect((await local.run('exec', 'dk-target', 'ps', '-o', 'args')).stdout).toMatch(/^sleep 600$/m);
  });

  test('start -ai detaches with 0 and the container runs on', async () => {
    expect((await local.run('create', '-it', '--name', 'dk-start', ...RUN, 'busybox', ...SHOW_INPUT)).code).toBe(0);
    const session = terminal(['start', '-ai', 'dk-start']);
    await session.waitFor('ready');
    await typeKeys(session, CTRL_P, CTRL_Q);
    expect(await session.exited).toBe(0);
    expect(await status('dk-start')).toBe('running');
  });

  test('run --rm -it detached: the container runs on, and goes once it exits', async () => {
    const session = terminal(['run', '--rm', '-it', '--name', 'dk-rm', ...RUN, 'busybox', 'sh']);
    await session.waitFor('/ # ');
    await typeKeys(session, CTRL_P, CTRL_Q);
    expect(await session.exited).toBe(0);
    expect(await status('dk-rm')).toBe('running');
    expect((await local.run('stop', '-t', '1', 'dk-rm')).code).toBe(0);
    for (let tries = 0; tries < 50 && (await local.run('inspect', 'dk-rm')).code === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await local.run('inspect', 'dk-rm')).code).not.toBe(0);
  });

  test('invalid detach keys are refused in docker\'s words before anything is made', async () => {
    const before = (await local.run('ps', '-aq')).stdout;
    const run = await local.run('run', '-i', '--detach-keys', 'ctrl-P', ...RUN, 'busybox', 'true');
    expect(run.code).toBe(125);
    expect(run.stderr).toMatch(/Invalid detach keys \(ctrl-P\) provided/);
    expect((await local.run('ps', '-aq')).stdout).toBe(before);
    const exec = await local.run('exec', '-i', '--detach-keys', 'nope', 'dk-target', 'true');
    expect(exec.code).toBe(1);
    expect(exec.stderr).toMatch(/Invalid escape keys \(nope\) provided/);
  });
});

describe('-a/--attach', () => {
  test('run -a stderr shows only the container\'s stderr', async () => {
    const run = await local.run('run', '--rm', '-a', 'stderr', ...RUN, 'busybox', 'sh', '-c', 'echo out; echo err >&2');
    expect(run).toEqual({ code: 0, stdout: '', stderr: 'err\n' });
  });

  test('run -a STDOUT (any case) shows only stdout and keeps the exit code', async () => {
    const run = await local.run('run', '--rm', '-a', 'STDOUT', ...RUN, 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
    expect(run).toEqual({ code: 3, stdout: 'out\n', stderr: '' });
  });

  test('run -a stdin without stdout or stderr shows nothing and ends with the exit code, as docker 28 run does', async () => {
    const run = await local.runWith({ env: process.env, input: 'hello\n' }, 'run', '--rm', '-i', '-a', 'stdin', ...RUN, 'busybox', 'sh', '-c', 'cat >/dev/null; exit 3');
    expect(run).toEqual({ code: 3, stdout: '', stderr: '' });
  });

  test('create records the streams as Config.AttachStdin/AttachStdout/AttachStderr', async () => {
    const attach = '{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}} {{.Config.StdinOnce}}';
    expect((await local.run('create', '-a', 'stdout', '--name', 'dk-a-out', ...RUN, 'busybox')).code).toBe(0);
    expect((await local.run('inspect', '--format', attach, 'dk-a-out')).stdout.trim()).toBe('false true false false');
    expect((await local.run('create', '-i', '-a', 'STDERR', '--name', 'dk-a-in', ...RUN, 'busybox')).code).toBe(0);
    expect((await local.run('inspect', '--format', attach, 'dk-a-in')).stdout.trim()).toBe('true false true true');
    expect((await local.run('create', '--name', 'dk-a-default', ...RUN, 'busybox')).code).toBe(0);
    expect((await local.run('inspect', '--format', attach, 'dk-a-default')).stdout.trim()).toBe('false true true false');
  });

  test('run -d records nothing attached, as docker does', async () => {
    expect((await local.run('run', '-d', '-i', '--name', 'dk-a-detached', ...RUN, 'busybox', 'true')).code).toBe(0);
    const inspect = await local.run('inspect', '--format', '{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}} {{.Config.StdinOnce}}', 'dk-a-detached');
    expect(inspect.stdout.trim()).toBe('false false false false');
  });

  test('an unknown stream is refused in docker\'s words', async () => {
    const run = await local.run('run', '-a', 'bogus', ...RUN, 'busybox', 'true');
    expect(run.code).toBe(125);
    expect(run.stderr).toMatch(/invalid argument "bogus" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR/);
  });

  test('-a with -d is refused in docker 28\'s words, exit 1, and nothing is made', async () => {
    const before = (await local.run('ps', '-aq')).stdout;
    const run = await local.run('run', '-d', '-a', 'stdout', ...RUN, 'busybox', 'true');
    expect(run).toMatchObject({ code: 1, stderr: 'conflicting options: cannot specify both --attach and --detach\n' });
    expect((await local.run('ps', '-aq')).stdout).toBe(before);
  });
});
