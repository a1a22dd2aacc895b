/**
 * A TTY session in a terminal, as docker's CLI holds one: the terminal in moby's raw mode (no
 * output processing: the container's own pty already made `\n` into `\r\n`), the container's
 * TTY at the window's size from its start and following it, and the terminal's own mode back
 * however the session ends.
 */
import { inTerminal, shellWords, type TerminalSession } from '../../../test/support/terminal';
import { localCtr, type LocalCtr } from './local-ctr';

const RUN = ['--network', 'none', '--pull', 'never'];

let local: LocalCtr;
const sessions: TerminalSession[] = [];

beforeAll(async () => {
  local = await localCtr('terminal-session');
});

afterEach(() => {
  for (const session of sessions.splice(0)) session.kill();
});

afterAll(async () => {
  await local?.cleanup();
});

/** A shell in a terminal of rows × cols (`script`) that runs ctr with `args` and says its exit status; `before` and `after` run around it. */
function terminal(args: string[], options: { rows?: number; cols?: number; before?: string; after?: string } = {}): TerminalSession {
  const { rows = 31, cols = 97, before = '', after = '' } = options;
  const shell = [`stty rows ${rows} cols ${cols}`, before, shellWords(local.argv(...args)), 'echo "exit=$?"', after].join('\n');
  const session = inTerminal(['sh', '-c', shell], process.env);
  sessions.push(session);
  return session;
}

test("run -it starts the container's TTY at the terminal's size", async () => {
  const session = terminal(['run', '--rm', '-it', ...RUN, 'busybox', 'stty', 'size']);
  await session.waitFor('exit=0');
  expect(session.output()).toMatch(/^31 97\r\n/m);
});

test('run -it passes the container\'s newlines through as its pty makes them: \\r\\n, never \\r\\r\\n', async () => {
  const session = terminal(['run', '--rm', '-it', ...RUN, 'busybox', 'sh', '-c', 'echo one; echo two']);
  await session.waitFor('exit=0');
  expect(session.output()).toContain('one\r\ntwo\r\n');
  expect(session.output()).not.toContain('\r\r\n');
});

test("run -it follows the window: a resize reaches the container's TTY", async () => {
  // Once the container sleeps, the subshell resizes the terminal; the kernel signals ctr, in the foreground, with SIGWINCH.
  const waitForSleep = `until ps -eo args | grep -qx 'sleep 2.6'; do sleep 0.1; done`;
  const session = terminal(['run', '--rm', '-it', ...RUN, 'busybox', 'sh', '-c', 'stty size; sleep 2.6; stty size'], {
    before: `(${waitForSleep}; stty rows 42 cols 123 < /dev/tty) &`,
  });
  await session.waitFor('exit=0');
  const sizes = session.output().split(/\r?\n/).filter((line) => /^\d+ \d+\r?$/.test(line)).map((line) => line.trim());
  expect(sizes).toEqual(['31 97', '42 123']);
});

test("start -ai gives the container's TTY the window's size", async () => {
  expect((await local.run('create', '-it', '--name', 'ts-start', ...RUN, 'busybox', 'sh', '-c', 'sleep 0.5; stty size')).code).toBe(0);
  const session = terminal(['start', '-ai', 'ts-start'], { rows: 33, cols: 88 });
  await session.waitFor('exit=0');
  expect(session.output()).toMatch(/^33 88\r\n/m);
});

test("attach gives a running container's TTY the window's size", async () => {
  expect((await local.run('run', '-dit', '--name', 'ts-attach', ...RUN, 'busybox', 'sh')).code).toBe(0);
  const session = terminal(['attach', 'ts-attach'], { rows: 35, cols: 77 });
  // attach sets a size one cell larger first (so the shell redraws), then the window's: ask until the second has come.
  for (let asked = 0; !/^35 77\r\n/m.test(session.output()); asked++) {
    if (asked === 20) throw new Error(`the TTY never had the window's size: ${JSON.stringify(session.output())}`);
    const from = session.output().length;
    session.type('stty size\r');
    await session.waitFor(/^\d+ \d+\r\n/m, { from });
  }
  session.type('\x10');
  await new Promise((resolve) => setTimeout(resolve, 50));
  session.type('\x11');
  await session.waitFor('exit=1');
});

test("the terminal gets its own mode back however the session ends: the program's exit, a failed start, the detach keys", async () => {
  const cases: Array<{ args: string[]; keys?: string }> = [
    { args: ['run', '--rm', '-it', ...RUN, 'busybox', 'true'] },
    { args: ['run', '--rm', '-it', ...RUN, 'busybox', 'no-such-program'] },
    { args: ['run', '--rm', '-it', ...RUN, 'busybox', 'sh', '-c', 'echo ready; exec sleep 30'], keys: '\x10\x11' },
  ];
  for (const { args, keys } of cases) {
    const session = terminal(args, { before: 'stty -g', after: 'stty -g' });
    if (keys) {
      await session.waitFor('ready');
      for (const key of keys) {
        session.type(key);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await session.waitFor(/exit=\d+\r?\n[^\n]*\r?\n/);
    const modes = session.output().split(/\r?\n/).filter((line) => /^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(line));
    expect(modes).toHaveLength(2);
    expect(modes[1]).toBe(modes[0]);
  }
});
