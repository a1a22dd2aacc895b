/**
 * `ctr -H` against ctrd: `-a` selects the streams the attach asks for, and the detach keys
 * are watched by the client (RemoteEngine) as the docker CLI watches them, then sent to
 * the daemon for it to check.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inTerminal, type TerminalSession } from '../../../test/support/terminal';
import { CTR_BIN, cleanEnv, ctr as run, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

const CTRL_P = '\x10';
const CTRL_Q = '\x11';
const RUN = ['--network', 'none', '--pull', 'never'];

let t: TestDaemon;
let work: string;
let host: string;
const sessions: TerminalSession[] = [];

function env(): NodeJS.ProcessEnv {
  return cleanEnv({ CTR_CONFIG: join(work, 'config') });
}

/** `ctr -H unix://<the test daemon> args…`. */
function ctr(...args: string[]): Promise<Result> {
  return run(['-H', host, ...args], { env: env() });
}

function terminal(...args: string[]): TerminalSession {
  const session = inTerminal([CTR_BIN, '-H', host, ...args], env());
  sessions.push(session);
  return session;
}

async function typeKeys(session: TerminalSession, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    session.type(key);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function running(name: string): Promise<boolean> {
  return (await t.daemon.engine.inspect(name)).State.Running;
}

beforeAll(async () => {
  t = await startTestDaemon();
  host = `unix://${t.socket}`;
  work = await mkdtemp(join(tmpdir(), 'ctr-remote-detach-'));
  const target = await ctr('run', '-dit', '--name', 'rdk-target', ...RUN, 'busybox', 'sh');
  if (target.code !== 0) throw new Error(`cannot start the target container: ${target.stderr}`);
});

afterEach(() => {
  for (const session of sessions.splice(0)) session.kill();
  expect(t.internalErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

test('run -a stderr asks the daemon for stderr only', async () => {
  expect(await ctr('run', '--rm', '-a', 'stderr', ...RUN, 'busybox', 'sh', '-c', 'echo out; echo err >&2')).toEqual({ code: 0, stdout: '', stderr: 'err\n' });
});

test('create -a records the streams on the daemon', async () => {
  expect((await ctr('create', '-a', 'stdout', '--name', 'rdk-created', ...RUN, 'busybox')).code).toBe(0);
  const { Config } = await t.daemon.engine.inspect('rdk-created');
  expect([Config.AttachStdin, Config.AttachStdout, Config.AttachStderr]).toEqual([false, true, false]);
});

test('run --rm -it detaches with 0; the container runs on and the daemon removes it at its exit', async () => {
  const session = terminal('run', '--rm', '-it', '--name', 'rdk-run', ...RUN, 'busybox', 'sh');
  await session.waitFor('/ # ');
  await typeKeys(session, CTRL_P, CTRL_Q);
  expect(await session.exited).toBe(0);
  expect(await running('rdk-run')).toBe(true);
  expect((await ctr('kill', 'rdk-run')).code).toBe(0);
  for (let tries = 0; tries < 50 && (await ctr('inspect', 'rdk-run')).code === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
  expect((await ctr('inspect', 'rdk-run')).code).toBe(1);
});

test('start -ai detaches with 0 and the container runs on', async () => {
  expect((await ctr('create', '-it', '--name', 'rdk-start', ...RUN, 'busybox', 'sh', '-c', 'echo ready; exec cat')).code).toBe(0);
  const session = terminal('start', '-ai', 'rdk-start');
  await session.waitFor('ready');
  await typeKeys(session, CTRL_P, CTRL_Q);
  expect(await session.exited).toBe(0);
  expect(await running('rdk-start')).toBe(true);
});

test('attach --detach-keys detaches with "read escape sequence" and 1; the shell keeps its stdin', async () => {
  const session = terminal('attach', '--detach-keys', 'ctrl-a,x', 'rdk-target');
  session.type('echo $((40 + 2))\r');
  await session.waitFor(/^42\r*$/m);
  await typeKeys(session, '\x01', 'x');
  expect(await session.exited).toBe(1);
  expect(session.output()).toMatch(/read escape sequence\r?\n$/);
  const again = terminal('attach', 'rdk-target');
  again.type('echo $((40 + 3))\r');
  await again.waitFor(/^43\r*$/m);
  await typeKeys(again, CTRL_P, CTRL_Q);
  expect(await again.exited).toBe(1);
  expect(await running('rdk-target')).toBe(true);
});

test('exec -it detaches with "read escape sequence" and 1; the exec runs on', async () => {
  const session = terminal('exec', '-it', 'rdk-target', 'sh', '-c', 'echo ready; exec sleep 600');
  await session.waitFor('ready');
  await typeKeys(session, CTRL_P, CTRL_Q);
  expect(await session.exited).toBe(1);
  expect(session.output()).toMatch(/read escape sequence\r?\n$/);
  expect((await ctr('exec', 'rdk-target', 'ps', '-o', 'args')).stdout).toMatch(/^sleep 600$/m);
});

test('invalid detach keys are refused before anything is made', async () => {
  const before = (await t.daemon.engine.ps({ all: true })).length;
  // -i without -t: input that is not a terminal would be refused first with -t (docker's CheckTty).
  const refused = await ctr('run', '-i', '--detach-keys', 'ctrl-P', ...RUN, 'busybox', 'true');
  expect(refused.code).toBe(125);
  expect(refused.stderr).toMatch(/Invalid detach keys \(ctrl-P\) provided/);
  expect((await t.daemon.engine.ps({ all: true })).length).toBe(before);
});
