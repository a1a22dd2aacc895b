import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, ctr as run, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let work: string;
let host: string;
let config: string;

/** ctr with a fresh config directory per test (`$CTR_CONFIG`), and no daemon chosen by the environment. */
function ctr(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Result> {
  return run(args, { env: cleanEnv({ CTR_CONFIG: config, ...extra }) });
}

beforeAll(async () => {
  t = await startTestDaemon();
  host = `unix://${t.socket}`;
  work = await mkdtemp(join(tmpdir(), 'ctr-context-'));
  await t.daemon.engine.createVolume({ name: 'on-the-daemon' });
});

let n = 0;
beforeEach(() => {
  config = join(work, `config-${++n}`);
});

afterAll(async () => {
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

test('create, use, ls and rm: commands follow the current context', async () => {
  expect(await ctr(['context', 'create', 'dev', '--docker', `host=${host}`, '--description', 'the test daemon'])).toEqual({ code: 0, stdout: 'dev\n', stderr: 'Successfully created context "dev"\n' });
  expect(await ctr(['context', 'use', 'dev'])).toEqual({ code: 0, stdout: 'dev\n', stderr: 'Current context is now "dev"\n' });
  expect(await ctr(['volume', 'ls', '-q'])).toEqual({ code: 0, stdout: 'on-the-daemon\n', stderr: '' });
  const ls = await ctr(['context', 'ls']);
  expect(ls.stdout.split('\n')[0]).toMatch(/^NAME +DESCRIPTION +DOCKER ENDPOINT +ERROR$/);
  // The empty ERROR cell leaves the endpoint's padding at the end of the line, as docker's tabwriter does.
  expect(ls.stdout).toMatch(new RegExp(`\\ndev \\* +the test daemon +${host.replace(/[./]/g, '\\$&')} *\\n`));
  expect(ls.stdout).toMatch(/\ndefault +The engine in-process/);
  expect(await ctr(['context', 'show'])).toEqual({ code: 0, stdout: 'dev\n', stderr: '' });

  expect(await ctr(['context', 'rm', 'dev'])).toEqual({ code: 1, stdout: '', stderr: 'context "dev" is in use, set -f flag to force remove\n' });
  expect(await ctr(['context', 'rm', '-f', 'dev'])).toEqual({ code: 0, stdout: 'dev\n', stderr: '' });
  expect(await ctr(['context', 'show'])).toEqual({ code: 0, stdout: 'default\n', stderr: '' });
  expect(await ctr(['context', 'ls', '-q'])).toEqual({ code: 0, stdout: 'default\n', stderr: '' });
});

test("contexts are stored in docker's layout: meta/<sha256 of the name>/meta.json and currentContext in config.json", async () => {
  await ctr(['context', 'create', 'laid-out', '--docker', `host=${host},skip-tls-verify=true`]);
  await ctr(['context', 'use', 'laid-out']);
  const id = createHash('sha256').update('laid-out').digest('hex');
  expect(JSON.parse(await readFile(join(config, 'contexts', 'meta', id, 'meta.json'), 'utf8'))).toEqual({
    Name: 'laid-out',
    Metadata: {},
    Endpoints: { docker: { Host: host, SkipTLSVerify: true } },
  });
  expect(JSON.parse(await readFile(join(config, 'config.json'), 'utf8'))).toEqual({ currentContext: 'laid-out' });
});

test('update changes the endpoint and the description, keeping what it is not given', async () => {
  await ctr(['context', 'create', 'moving', '--docker', 'host=unix:///nowhere.sock', '--description', 'before']);
  expect(await ctr(['context', 'update', 'moving', '--docker', `host=${host}`])).toEqual({ code: 0, stdout: 'moving\n', stderr: 'Successfully updated context "moving"\n' });
  expect(await ctr(['context', 'ls', '--format', '{{.Name}}|{{.Description}}|{{.DockerEndpoint}}|{{.Current}}'])).toMatchObject({
    stdout: `default|The engine in-process (no daemon)||true\nmoving|before|${host}|false\n`,
  });
  expect((await ctr(['--context', 'moving', 'volume', 'ls', '-q'])).stdout).toBe('on-the-daemon\n');
});

test('precedence: --context over CTR_HOST over CTR_CONTEXT over the current context', async () => {
  await ctr(['context', 'create', 'daemon', '--docker', `host=${host}`]);
  await ctr(['context', 'create', 'broken', '--docker', 'host=unix:///nonexistent/ctr.sock']);
  await ctr(['context', 'use', 'broken']);
  const unreachable = { code: 1, stdout: '', stderr: 'Cannot connect to the ctr daemon at unix:///nonexistent/ctr.sock. Is the daemon running?\n' };
  expect(await ctr(['volume', 'ls', '-q'])).toEqual(unreachable);
  expect((await ctr(['volume', 'ls', '-q'], { CTR_CONTEXT: 'daemon' })).stdout).toBe('on-the-daemon\n');
  expect((await ctr(['volume', 'ls', '-q'], { CTR_CONTEXT: 'broken', CTR_HOST: host })).stdout).toBe('on-the-daemon\n');
  expect((await ctr(['--context', 'daemon', 'volume', 'ls', '-q'], { CTR_HOST: 'unix:///nonexistent/ctr.sock' })).stdout).toBe('on-the-daemon\n');
});

test('the default context is the engine in this process, on --root', async () => {
  const root = join(work, 'in-process-root');
  const runRoot = join(work, 'in-process-run');
  await ctr(['context', 'create', 'daemon', '--docker', `host=${host}`]);
  await ctr(['context', 'use', 'daemon']);
  const created = await ctr(['--context', 'default', '--root', root, '--runroot', runRoot, 'volume', 'create', 'only-local']);
  expect(created).toEqual({ code: 0, stdout: 'only-local\n', stderr: '' });
  await expect(t.daemon.engine.inspectVolume('only-local')).rejects.toMatchObject({ code: 'NotFound' });
  expect((await ctr(['--context', 'default', '--root', root, '--runroot', runRoot, 'volume', 'ls', '-q'])).stdout).toBe('only-local\n');
});

describe('mistakes are refused in docker\'s words, exit status 1', () => {
  test('using a context that does not exist', async () => {
    expect(await ctr(['context', 'use', 'nope'])).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^context "nope": context not found: open .*meta\.json: no such file or directory\n$/) });
  });

  test('a command in a context that does not exist', async () => {
    expect(await ctr(['--context', 'nope', 'ps'])).toMatchObject({ stdout: '', stderr: expect.stringMatching(/^Failed to initialize: unable to resolve docker endpoint: context "nope": context not found: /) });
  });

  test('an invalid name', async () => {
    expect(await ctr(['context', 'create', '_bad', '--docker', `host=${host}`])).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid') });
    expect(await ctr(['context', 'create', 'a/b', '--docker', `host=${host}`])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'context name "a/b" is invalid, names are validated against regexp "^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$"\n',
    });
  });

  test('the reserved name default', async () => {
    expect(await ctr(['context', 'create', 'default', '--docker', `host=${host}`])).toEqual({ code: 1, stdout: '', stderr: '"default" is a reserved context name\n' });
    expect(await ctr(['context', 'rm', 'default'])).toEqual({ code: 1, stdout: '', stderr: 'context "default" cannot be removed\n' });
  });

  test('a name already taken', async () => {
    await ctr(['context', 'create', 'twice', '--docker', `host=${host}`]);
    expect(await ctr(['context', 'create', 'twice', '--docker', `host=${host}`])).toEqual({ code: 1, stdout: '', stderr: 'context "twice" already exists\n' });
  });

  test('an endpoint key docker does not know, and a missing host', async () => {
    expect(await ctr(['context', 'create', 'odd', '--docker', 'hots=unix:///x.sock'])).toEqual({ code: 1, stdout: '', stderr: 'unable to create docker endpoint config: unrecognized config key: hots\n' });
    expect((await ctr(['context', 'create', 'empty'])).code).toBe(1);
    expect(await ctr(['context', 'ls', '-q'])).toEqual({ code: 0, stdout: 'default\n', stderr: '' });
  });

  test('-H together with --context', async () => {
    expect(await ctr(['-H', host, '--context', 'default', 'ps'])).toMatchObject({ stdout: '', stderr: 'conflicting options: cannot specify both --host and --context\n' });
  });
});

describe('a context that does not exist, in docker\'s words', () => {
  const notFound = (): RegExp => new RegExp(`^context "nope": context not found: open ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/contexts/meta/${createHash('sha256').update('nope').digest('hex')}/meta\\.json: no such file or directory\n$`);

  test.each([['inspect'], ['use'], ['update'], ['export']])('context %s says the store could not open its metadata', async (command) => {
    const result = await ctr(['context', command, 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(notFound());
  });

  test('--context prefixes that with the failure to initialise', async () => {
    const result = await ctr(['--context', 'nope', 'ps']);
    expect(result.code).toBe(1);
    expect(result.stderr.startsWith('Failed to initialize: unable to resolve docker endpoint: context "nope": context not found: open ')).toBe(true);
  });

  test('$CTR_CONTEXT and $DOCKER_CONTEXT fail the same way', async () => {
    for (const variable of ['CTR_CONTEXT', 'DOCKER_CONTEXT']) {
      const result = await ctr(['ps'], { [variable]: 'nope' });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^Failed to initialize: unable to resolve docker endpoint: context "nope": context not found: /);
    }
  });

  test('context rm says only that it does not exist', async () => {
    expect(await ctr(['context', 'rm', 'nope'])).toEqual({ code: 1, stdout: '', stderr: 'context "nope" does not exist\n' });
  });

  test('context rm -f of a missing context succeeds, as docker\'s skips the check', async () => {
    expect(await ctr(['context', 'rm', '-f', 'nope'])).toEqual({ code: 0, stdout: 'nope\n', stderr: '' });
  });

  test('context rm says every failure after the names it removed', async () => {
    await ctr(['context', 'create', 'gone', '--docker', 'host=tcp://127.0.0.1:1']);
    expect(await ctr(['context', 'rm', 'default', 'gone', 'nope'])).toEqual({ code: 1, stdout: 'gone\n', stderr: 'context "default" cannot be removed\ncontext "nope" does not exist\n' });
  });
});

test('a context whose metadata file is not JSON is said with the file and Go’s words, exit 1', async () => {
  expect((await ctr(['context', 'create', 'broken', '--docker', 'host=unix:///tmp/x.sock'])).code).toBe(0);
  const meta = join(config, 'contexts', 'meta', createHash('sha256').update('broken').digest('hex'), 'meta.json');
  await writeFile(meta, '{"Name": "broken", ');
  const result = await ctr(['context', 'inspect', 'broken']);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(`context "broken": parsing ${meta}: unexpected end of JSON input\n`);
});

test('context ls with a metadata file that is not JSON says the file in docker\'s words, exit 1', async () => {
  expect((await ctr(['context', 'create', 'broken', '--docker', 'host=unix:///tmp/x.sock'])).code).toBe(0);
  const meta = join(config, 'contexts', 'meta', createHash('sha256').update('broken').digest('hex'), 'meta.json');
  await writeFile(meta, '{"Name": "broken", ');
  expect(await ctr(['context', 'ls'])).toEqual({ code: 1, stdout: '', stderr: `failed to read metadata: parsing ${meta}: unexpected end of JSON input\n` });
});

test('a context whose metadata file cannot be read is said with Go\'s error, not as missing; context ls passes it by, as docker\'s', async () => {
  expect((await ctr(['context', 'create', 'odd', '--docker', 'host=unix:///tmp/x.sock'])).code).toBe(0);
  const meta = join(config, 'contexts', 'meta', createHash('sha256').update('odd').digest('hex'), 'meta.json');
  await rm(meta);
  await mkdir(meta);
  const inspect = await ctr(['context', 'inspect', 'odd']);
  expect(inspect.code).toBe(1);
  expect(inspect.stderr).toBe(`context "odd": read ${meta}: is a directory\n`);
  const ls = await ctr(['context', 'ls', '--format', '{{.Name}}']);
  expect(ls).toEqual({ code: 0, stdout: 'default\n', stderr: '' });
});
