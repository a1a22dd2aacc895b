/**
 * `ctr exec -it` in a terminal: the exec's pty starts at the terminal's size and follows
 * the window when it changes (SIGWINCH), as `stty size` inside the exec reports.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { localCtr, type LocalCtr } from './local-ctr';

let local: LocalCtr;
let ctrCommand: string;

beforeAll(async () => {
  local = await localCtr('exec-resize');
  ctrCommand = local.argv().join(' ');
  const started = await local.run('run', '-d', '--name', 'sizes', '--network', 'none', 'busybox', 'sleep', '600');
  expect(started.code).toBe(0);
});

afterAll(async () => {
  await local?.cleanup();
});

/**
 * Run `shell` in a pseudo-terminal (`script`), as a person's terminal would run it. Its
 * input stays open until it ends: an end of input would reach the exec as a hangup.
 */
function inTerminal(shell: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = execFile('script', ['-qec', shell, '/dev/null'], (error: ExecFileException | null, stdout) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout });
    });
    child.on('exit', () => child.stdin?.end());
  });
}

test('exec -it starts with the size of the terminal', async () => {
  const result = await inTerminal(`stty rows 31 cols 97; ${ctrCommand} exec -it sizes stty size`);
  expect(result.stdout).toContain('31 97');
  expect(result.code).toBe(0);
});

test("exec -it follows the terminal's size when the window changes", async () => {
  // Once the exec sleeps, the subshell resizes the terminal (its stdin is /dev/null: it names the
  // terminal); the kernel signals ctr, the terminal's foreground process, with SIGWINCH.
  const waitForExec = `until ps -eo args | grep -qx 'sleep 2.5'; do sleep 0.1; done`;
  const result = await inTerminal(`stty rows 31 cols 97; (${waitForExec}; stty rows 42 cols 123 < /dev/tty) & ${ctrCommand} exec -it sizes sh -c 'stty size; sleep 2.5; stty size'`);
  const sizes = result.stdout.split(/\r*\n/).map((line) => line.replace(/\0/g, '')).filter((line) => /^\d+ \d+$/.test(line));
  expect(sizes).toEqual(['31 97', '42 123']);
  expect(result.code).toBe(0);
});
