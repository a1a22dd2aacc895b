import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, type ProcessResult } from '../../../test/support/run-process';
import { cleanEnv, ctr as run, type Result } from './remote-fixture';

// Which context `context ls`, `show` and `inspect` take as current, and `use` of one that cannot
// be read: docker's CLI (28) is the reference, run beside ctr on a config directory of its own.

let work: string;
let config: string;
let dockerConfig: string;

function ctr(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Result> {
  return run(args, { env: cleanEnv({ CTR_CONFIG: config, ...extra }) });
}

function docker(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  return runProcess('docker', args, { env: { ...cleanEnv(), HOME: work, DOCKER_CONFIG: dockerConfig, ...extra } });
}
const withDocker = spawnSync('docker', ['--version']).status === 0 ? test : test.skip;

/** The same contexts in ctr's store and docker's: names that sort differently by bytes, case and number. */
async function createBoth(names: string[]): Promise<void> {
  for (const name of names) {
    expect((await ctr(['context', 'create', name, '--docker', 'host=tcp://127.0.0.1:1'])).code).toBe(0);
    if (withDocker === test) expect((await docker(['context', 'create', name, '--docker', 'host=tcp://127.0.0.1:1'])).code).toBe(0);
  }
}

/** Where a context's metadata file is in a store. */
function metaFile(dir: string, name: string): string {
  return join(dir, 'contexts', 'meta', createHash('sha256').update(name).digest('hex'), 'meta.json');
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-context-current-'));
});

let n = 0;
beforeEach(() => {
  config = join(work, `config-${++n}`);
  dockerConfig = join(work, `docker-${n}`);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('context use of a context whose metadata is a directory', () => {
  test('fails with the store\'s read error, exit 1, and leaves the current context as it was', async () => {
    await mkdir(metaFile(config, 'odd'), { recursive: true });
    expect(await ctr(['context', 'use', 'odd'])).toEqual({ code: 1, stdout: '', stderr: `context "odd": read ${metaFile(config, 'odd')}: is a directory\n` });
    expect((await ctr(['context', 'show'])).stdout).toBe('default\n');
  });

  withDocker('says what docker says', async () => {
    await mkdir(metaFile(config, 'odd'), { recursive: true });
    await mkdir(metaFile(dockerConfig, 'odd'), { recursive: true });
    const theirs = await docker(['context', 'use', 'odd']);
    expect(await ctr(['context', 'use', 'odd'])).toEqual({ ...theirs, stderr: theirs.stderr.replace(dockerConfig, config) });
  });
});

test('context use checks the name before looking for it, as docker does', async () => {
  expect(await ctr(['context', 'use', 'bad name'])).toEqual({ code: 1, stdout: '', stderr: 'context name "bad name" is invalid, names are validated against regexp "^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$"\n' });
});

describe('--context naming a context that is not there', () => {
  test('context ls lists it as current, with why it could not be read cut to 45 columns', async () => {
    await createBoth(['aaa']);
    const reason = `context "nope": context not found: open ${metaFile(config, 'nope')}: no such file or directory`;
    const cut = `${reason.slice(0, 44)}…`;
    const result = await ctr(['--context', 'nope', 'context', 'ls']);
    expect(result).toEqual({
      code: 0,
      stdout: [
        'NAME      DESCRIPTION                         DOCKER ENDPOINT     ERROR',
        'aaa                                           tcp://127.0.0.1:1   ',
        'default   The engine in-process (no daemon)                       ',
        `nope *                                                            ${cut}`,
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  test('context show names it, and context inspect fails on it', async () => {
    expect(await ctr(['--context', 'nope', 'context', 'show'])).toEqual({ code: 0, stdout: 'nope\n', stderr: '' });
    expect(await ctr(['--context', 'nope', 'context', 'inspect'])).toMatchObject({ code: 1, stdout: '[]\n', stderr: expect.stringMatching(/^context "nope": context not found: /) });
  });

  withDocker('context ls gives docker\'s rows, in docker\'s natural order, in every format', async () => {
    await createBoth(['zzz', 'x10', 'Abc', 'x9', 'aaa']);
    // The default context's description and endpoint are ctr's own; the rest is compared whole.
    for (const format of ['{{.Name}}|{{.Current}}|{{.Error}}', 'json']) {
      const theirs = await docker(['--context', 'nope', 'context', 'ls', '--format', format]);
      const ours = await ctr(['--context', 'nope', 'context', 'ls', '--format', format]);
      const mine = (text: string): string => text.replace(/"Description":"[^"]*","DockerEndpoint":"[^"]*"(,"Error":"","Name":"default")/, '$1');
      expect({ ...ours, stdout: mine(ours.stdout) }).toEqual({ ...theirs, stdout: mine(theirs.stdout) });
    }
    expect(await ctr(['--context', 'nope', 'context', 'ls', '-q'])).toEqual(await docker(['--context', 'nope', 'context', 'ls', '-q']));
  });
});

test('-H, $CTR_HOST and $DOCKER_HOST make default the current context; --context names its own', async () => {
  await createBoth(['aaa']);
  await ctr(['context', 'use', 'aaa']);
  expect((await ctr(['context', 'show'])).stdout).toBe('aaa\n');
  expect((await ctr(['-H', 'tcp://127.0.0.1:1', 'context', 'show'])).stdout).toBe('default\n');
  expect((await ctr(['context', 'show'], { CTR_HOST: 'tcp://127.0.0.1:1' })).stdout).toBe('default\n');
  expect((await ctr(['context', 'show'], { DOCKER_HOST: 'tcp://127.0.0.1:1' })).stdout).toBe('default\n');
  expect((await ctr(['--context', 'aaa', 'context', 'ls', '--format', '{{.Name}} {{.Current}}'], { DOCKER_HOST: 'tcp://127.0.0.1:1' })).stdout).toBe('aaa true\ndefault false\n');
});

test('context ls under a host variable warns that it overrides the active context', async () => {
  const result = await ctr(['context', 'ls', '-q'], { DOCKER_HOST: 'tcp://127.0.0.1:1' });
  expect(result).toEqual({
    code: 0,
    stdout: 'default\n',
    stderr: 'Warning: DOCKER_HOST environment variable overrides the active context. To use a context, either set the global --context flag, or unset DOCKER_HOST environment variable.\n',
  });
});

withDocker('context ls marks the current context only in its default table, as docker does', async () => {
  await createBoth(['aaa']);
  for (const format of ['table {{.Name}}', 'table {{.Current}}\t{{.Name}}']) {
    expect(await ctr(['context', 'ls', '--format', format])).toEqual(await docker(['context', 'ls', '--format', format]));
  }
});
