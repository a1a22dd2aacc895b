/**
 * `ctr context ls --format` prints each entry as docker 28's does: its formatter context has an
 * Error method, so it is a Go error, and `{{.}}` (or printf's `%v`, `%s`, `%q`) prints its cut
 * error ('' for a context that loads); `json` and `{{json .}}` write its methods as a map, keys
 * sorted, HTML escaped, the error cut too. Checked against the docker CLI itself (it needs no
 * daemon for this), on contexts made alike in each one's config.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../../../test/support/run-process';
import { cleanEnv, ctr as run, type Result } from './remote-fixture';

let work: string;

function ctr(...args: string[]): Promise<Result> {
  return run(args, { env: cleanEnv({ CTR_CONFIG: join(work, 'ctr') }) });
}

function docker(...args: string[]): Promise<Result> {
  return runProcess('docker', args, { env: cleanEnv({ DOCKER_CONFIG: join(work, 'docker') }) });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-context-ls-print-'));
  for (const cli of [ctr, docker]) await cli('context', 'create', 'esc', '--description', 'a & b <c>', '--docker', 'host=unix:///tmp/context-ls-print.sock');
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** The lines of the contexts both CLIs know alike (the default contexts' descriptions differ). */
function shared(result: Result): string[] {
  return result.stdout.split('\n').filter((line) => !line.includes('default') && !line.includes('Current DOCKER_HOST'));
}

test('{{.}} prints each entry as its error: empty for a context that loads', async () => {
  expect(await ctr('context', 'ls', '--format', '{{.}}|')).toEqual({ code: 0, stdout: '|\n|\n', stderr: '' });
});

test('{{.}} of a current context that cannot be read is its error, cut to 45 columns', async () => {
  const result = await ctr('--context', 'nope', 'context', 'ls', '--format', '{{.}}');
  expect(result.stdout.split('\n')).toEqual(['', '', expect.stringMatching(/^context "nope": context not found: open .{1,16}…$/), '']);
  expect([...(result.stdout.split('\n')[2] as string)]).toHaveLength(45);
});

test('printf prints it as an error too, under %v, %s and %q, with no & of a pointer', async () => {
  const format = '{{printf "%v|%s|%q" . . .}}';
  const result = await ctr('--context', 'nope', 'context', 'ls', '--format', format);
  expect(shared(result)).toEqual(shared(await docker('--context', 'nope', 'context', 'ls', '--format', format)));
  expect(result.stdout).toContain('||""\n');
});

test('json and {{json .}} write the entries as docker 28 does: sorted keys, HTML escaped, no ContextType', async () => {
  for (const format of ['json', '{{json .}}']) {
    const result = await ctr('--context', 'nope', 'context', 'ls', '--format', format);
    expect(result.stdout).toContain('{"Current":false,"Description":"a \\u0026 b \\u003cc\\u003e","DockerEndpoint":"unix:///tmp/context-ls-print.sock","Error":"","Name":"esc"}\n');
    expect(shared(result)).toEqual(shared(await docker('--context', 'nope', 'context', 'ls', '--format', format)));
  }
});
