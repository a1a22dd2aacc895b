/**
 * Ctrl-C at an attached ctr in a terminal, as docker's CLI takes it: a TTY's program is passed
 * no signal (its keys come from the terminal, Ctrl-C among them when ctr reads it); SIGINT and
 * SIGTERM do not end ctr at once, but `start -a` ends at the first with 0, and any attached
 * command at the third with 1, saying so.
 */
import { inTerminal, shellWords, type TerminalSession } from '../../../test/support/terminal';
import { localCtr, type LocalCtr } from './local-ctr';

const RUN = ['--network', 'none', '--pull', 'never'];
const CTRL_C = '\x03';
const FORCED = 'got 3 SIGTERM/SIGINTs, forcefully exiting';

/** Says "tick" every tenth of a second; says which of SIGINT and SIGTERM reached it. */
const TICKING = 'trap "echo got INT" INT; trap "echo got TERM; exit 3" TERM; while :; do echo tick; sleep 0.1; done';

let local: LocalCtr;
const sessions: TerminalSession[] = [];

beforeAll(async () => {
  local = await localCtr('attach-signals-tty');
});

afterEach(() => {
  for (const session of sessions.splice(0)) session.kill();
});

afterAll(async () => {
  await local?.cleanup();
});

/**
 * ctr with `args` in a terminal, then its exit status. Ctrl-C signals the terminal's whole
 * foreground group, the shell that says the status too: it waits on (a trap), as a login shell would.
 */
function terminal(...args: string[]): TerminalSession {
  const shell = ["trap 'true' INT", shellWords(local.argv(...args)), 'echo "exit=$?"'].join('\n');
  const session = inTerminal(['sh', '-c', shell], process.env);
  sessions.push(session);
  return session;
}

/** Types Ctrl-C `times` times, a moment apart, as a person would. */
async function pressCtrlC(session: TerminalSession, times = 1): Promise<void> {
  for (let pressed = 0; pressed < times; pressed++) {
    session.type(CTRL_C);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function logs(name: string): Promise<string> {
  return (await local.run('logs', name)).stdout;
}

async function status(name: string): Promise<string> {
  return (await local.run('inspect', '--format', '{{.State.Status}}', name)).stdout.trim();
}

test('attach --no-stdin passes no Ctrl-C on to a TTY\'s program, and stays attached to it', async () => {
  expect((await local.run('run', '-dit', '--name', 'ast-nostdin', ...RUN, 'busybox', 'sh', '-c', TICKING)).code).toBe(0);
  const session = terminal('attach', '--no-stdin', 'ast-nostdin');
  await session.waitFor('tick');
  await pressCtrlC(session);
  const after = session.output().length;
  await session.waitFor('tick', { from: after });
  expect(session.output()).not.toContain('exit=');
  expect(await logs('ast-nostdin')).not.toContain('got INT');
});

test('attach with stdin gives Ctrl-C to a TTY\'s program as a key', async () => {
  // The program's terminal does not make the key a signal: it reads it, and shows its code.
  const program = 'stty -isig -icanon -echo; while :; do dd bs=1 count=1 2>/dev/null | od -An -tx1; done';
  expect((await local.run('run', '-dit', '--name', 'ast-key', ...RUN, 'busybox', 'sh', '-c', program)).code).toBe(0);
  const session = terminal('attach', 'ast-key');
  // What is typed before the attachment is connected goes nowhere: type until a key comes back.
  for (let typed = 0; !/ 61\r\n/.test(session.output()); typed++) {
    if (typed === 50) throw new Error(`no key reached the program: ${JSON.stringify(session.output())}`);
    session.type('a');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const after = session.output().length;
  session.type(CTRL_C);
  await session.waitFor(' 03\r\n', { from: after });
  expect(session.output()).not.toContain('exit=');
});

test('a third Ctrl-C ends attach with 1, in docker\'s words, and leaves the container running', async () => {
  expect((await local.run('run', '-dit', '--name', 'ast-forced', ...RUN, 'busybox', 'sh', '-c', TICKING)).code).toBe(0);
  const session = terminal('attach', '--no-stdin', 'ast-forced');
  await session.waitFor('tick');
  await pressCtrlC(session, 3);
  await session.waitFor('exit=1');
  expect(session.output()).toContain(`\r\n${FORCED}\r\n`);
  expect(await status('ast-forced')).toBe('running');
});

test('a third Ctrl-C ends run with 1, in docker\'s words, though the program took them and runs on', async () => {
  const session = terminal('run', '--name', 'ast-run', ...RUN, 'busybox', 'sh', '-c', TICKING);
  await session.waitFor('tick');
  await pressCtrlC(session, 3);
  await session.waitFor('exit=1');
  expect(session.output()).toContain(FORCED);
  expect(await status('ast-run')).toBe('running');
  expect(await logs('ast-run')).toContain('got INT');
});

test('attach --sig-proxy=false stays attached through Ctrl-C, and ends with the program\'s status', async () => {
  expect((await local.run('run', '-d', '--name', 'ast-unproxied', ...RUN, 'busybox', 'sh', '-c', TICKING)).code).toBe(0);
  const session = terminal('attach', '--sig-proxy=false', 'ast-unproxied');
  await session.waitFor('tick');
  await pressCtrlC(session);
  await session.waitFor('tick', { from: session.output().length });
  expect(await logs('ast-unproxied')).not.toContain('got INT');
  expect((await local.run('kill', '--signal', 'TERM', 'ast-unproxied')).code).toBe(0);
  await session.waitFor('exit=3');
});

test('start -a of a TTY container ends at the first Ctrl-C with 0, passing nothing on; the program runs on', async () => {
  expect((await local.run('create', '-t', '--name', 'ast-start', ...RUN, 'busybox', 'sh', '-c', TICKING)).code).toBe(0);
  const session = terminal('start', '-a', 'ast-start');
  await session.waitFor('tick');
  await pressCtrlC(session);
  await session.waitFor('exit=0');
  expect(await status('ast-start')).toBe('running');
  expect(await logs('ast-start')).not.toContain('got INT');
});

test('attach with stdin to a TTY refuses input that is not a terminal', async () => {
  expect((await local.run('run', '-dit', '--name', 'ast-piped', ...RUN, 'busybox', 'sh')).code).toBe(0);
  const attach = await local.runWith({ env: process.env, input: 'echo hi\n' }, 'attach', 'ast-piped');
  expect(attach).toEqual({ code: 1, stdout: '', stderr: 'the input device is not a TTY\n' });
});
