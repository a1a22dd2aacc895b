import { PassThrough } from 'node:stream';
import type { ComposeProgress } from '@ctr/compose';
import { ComposeProgressView, LogPrinter, progressMode } from '../src/commands/compose-output';

/** A stream that keeps what is written, as a terminal (`isTTY`) or not. */
function sink(isTTY: boolean): PassThrough & { isTTY: boolean; columns: number; text(): string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return Object.assign(stream, { isTTY, columns: 60, text: () => chunks.join('') });
}

const event = (resource: ComposeProgress['resource'], name: string, status: string, done: boolean): ComposeProgress => ({ resource, name, status, done });

describe('compose progress, as docker compose draws it', () => {
  test('plain: a line per event, the resource then two spaces then the status', async () => {
    const out = sink(false);
    const view = new ComposeProgressView(out, 'plain', false);
    view.update(event('Network', 'app_default', 'Creating', false));
    view.update(event('Network', 'app_default', 'Created', true));
    view.update({ ...event('Container', 'app-web-1', 'Error', true), detail: 'port is already allocated' });
    view.stop();
    await new Promise(setImmediate);
    expect(out.text()).toBe(' Network app_default  Creating\n Network app_default  Created\n Container app-web-1  port is already allocated\n');
  });

  test('json: an object a line with the resource as its id', async () => {
    const out = sink(false);
    const view = new ComposeProgressView(out, 'json', false);
    view.update(event('Container', 'app-web-1', 'Started', true));
    view.stop();
    await new Promise(setImmediate);
    expect(out.text()).toBe('{"id":"Container app-web-1","status":"Started"}\n');
  });

  test('tty: a Running header over a line per resource, redrawn in place', async () => {
    const out = sink(true);
    const view = new ComposeProgressView(out, 'tty', false);
    view.update(event('Network', 'app_default', 'Created', true));
    view.update(event('Container', 'app-web-1', 'Starting', false));
    view.update(event('Container', 'app-web-1', 'Started', true));
    view.stop();
    await new Promise(setImmediate);
    const draws = out.text().split('\x1b[?25h').filter(Boolean);
    // Each drawing after the first goes back up over the previous one (header and lines).
    expect(draws[1]).toMatch(/^\x1b\[2A\r/);
    expect(draws[2]).toMatch(/^\x1b\[3A\r/);
    const last = (draws.at(-1) as string).split('\n').map((line) => line.replace(/^[\s\S]*\x1b\[2K/, ''));
    expect(last[0]).toBe('[+] Running 2/2');
    expect(last[1]).toMatch(/^ ✔ Network app_default  Created +\d+\.\ds$/);
    expect(last[2]).toMatch(/^ ✔ Container app-web-1  Started +\d+\.\ds$/);
    // Timer right-aligned one column short of the terminal width (compose's align).
    expect(last[1]?.length).toBe(59);
  });

  test('--progress is checked against --ansi as compose checks it', () => {
    const terminal = sink(true);
    expect(progressMode('auto', 'auto', terminal)).toBe('tty');
    expect(progressMode('auto', 'never', terminal)).toBe('plain');
    expect(progressMode('auto', 'auto', sink(false))).toBe('plain');
    expect(() => progressMode('plain', 'always', terminal)).toThrow("can't use --progress plain while ANSI support is forced");
    expect(() => progressMode('bogus', 'auto', terminal)).toThrow('unsupported --progress value "bogus"');
  });
});

describe('compose log prefixes', () => {
  test('names are padded to the longest seen plus one, each in its colour from the rainbow', async () => {
    const stdout = sink(true);
    const stderr = sink(true);
    const printer = new LogPrinter({ stdout, stderr }, { color: true, prefix: true, timestamps: false });
    printer.register('web-1');
    printer.register('worker-1');
    printer.line('web-1', 'stdout', 'hello');
    printer.line('worker-1', 'stderr', 'oops');
    printer.status('web-1', 'exited with code 0');
    await new Promise(setImmediate);
    expect(stdout.text()).toBe('\x1b[36mweb-1     | \x1b[0mhello\n\x1b[36mweb-1 exited with code 0\x1b[0m\n');
    expect(stderr.text()).toBe('\x1b[33mworker-1  | \x1b[0moops\n');
  });

  test('without colour or prefix the line is as the container wrote it', async () => {
    const stdout = sink(false);
    const printer = new LogPrinter({ stdout, stderr: sink(false) }, { color: false, prefix: false, timestamps: true });
    printer.line('web-1', 'stdout', 'hello', '2024-01-02T03:04:05.000000000Z');
    await new Promise(setImmediate);
    expect(stdout.text()).toBe('2024-01-02T03:04:05.000000000Z hello\n');
  });
});
