import { spawn } from 'node:child_process';

/** A command running in a pseudo-terminal, typed at as a person would. */
export interface TerminalSession {
  /** Everything the terminal has shown so far. */
  output(): string;
  /** Resolves once the terminal has shown `text` (after `from`, an offset into `output()`); fails the test after `timeoutMs`. */
  waitFor(text: string | RegExp, options?: { from?: number; timeoutMs?: number }): Promise<void>;
  /** Types `keys` (control characters included) at the terminal. */
  type(keys: string): void;
  /** The command's exit code, once it has ended. */
  exited: Promise<number>;
  /** Ends the command (and the terminal) if it still runs. */
  kill(): void;
}

/** `argv` as one word each for `sh -c`. */
export function shellWords(argv: readonly string[]): string {
  return argv.map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
}

/**
 * Run `argv` in a pseudo-terminal through util-linux `script`, which passes what is typed
 * at its input on to the terminal byte for byte. Its input stays open until the command
 * ends: an end of input would reach the program as a hangup.
 */
export function inTerminal(argv: readonly string[], env: NodeJS.ProcessEnv): TerminalSession {
  const child = spawn('script', ['-qfec', shellWords(argv), '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let shown = '';
  const changed = new Set<() => void>();
  const show = (chunk: Buffer): void => {
    shown += chunk.toString('latin1');
    for (const listener of changed) listener();
  };
  child.stdout.on('data', show);
  child.stderr.on('data', show);
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      child.stdin.end();
      resolve(code ?? (signal ? 128 : 1));
    });
  });
  return {
    output: () => shown,
    waitFor(text, { from = 0, timeoutMs = 20_000 } = {}) {
      const found = (): boolean => (typeof text === 'string' ? shown.indexOf(text, from) >= 0 : text.test(shown.slice(from)));
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!found()) return;
          clearTimeout(timer);
          changed.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          changed.delete(check);
          reject(new Error(`the terminal did not show ${String(text)} within ${timeoutMs} ms; it showed: ${JSON.stringify(shown)}`));
        }, timeoutMs);
        changed.add(check);
        // A command that ended will show nothing more.
        void exited.then(
          (code) =>
            setImmediate(() => {
              check();
              if (!changed.has(check)) return;
              clearTimeout(timer);
              changed.delete(check);
              reject(new Error(`the command ended (${code}) without showing ${String(text)}; it showed: ${JSON.stringify(shown)}`));
            }),
          reject,
        );
        check();
      });
    },
    type(keys) {
      child.stdin.write(Buffer.from(keys, 'latin1'));
    },
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
