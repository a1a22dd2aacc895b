/**
 * `ctr plugin …` daemonless, with docker's flags and output: `ls`' table (ID, NAME,
 * DESCRIPTION, ENABLED; IDs cut to 12 and descriptions to 45 columns unless --no-trunc),
 * -q, --format and filters; create's and enable's own refusals; enable by one ctr, found
 * running by the next, disabled and removed by a third.
 */
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killPlugins, pluginCall, writePluginDir } from '../../engine/test/support/managed-plugin';
import { localCtr, type LocalCtr } from './local-ctr';

jest.setTimeout(120_000);

let ctr: LocalCtr;
let work: string;
let id: string;

const DESCRIPTION = 'A managed plugin for the tests of ctr plugin ls, whose description is long';

beforeAll(async () => {
  ctr = await localCtr('plugin-commands');
  work = await mkdtemp(join(tmpdir(), 'ctr-plugin-commands-'));
  const created = await ctr.run('plugin', 'create', 'test/ls', await writePluginDir(join(work, 'plugin'), { description: DESCRIPTION }));
  expect(created).toMatchObject({ code: 0, stdout: 'test/ls\n' });
  id = (await ctr.run('plugin', 'inspect', '--format', '{{.Id}}', 'test/ls')).stdout.trim();
});

afterAll(async () => {
  killPlugins(ctr.runRoot);
  await ctr.cleanup();
  await fs.rm(work, { recursive: true, force: true });
});

test('ls prints docker\'s table: the ID and the description cut short', async () => {
  const { stdout } = await ctr.run('plugin', 'ls');
  const [header, row] = stdout.split('\n');
  expect(header?.split(/\s{2,}/)).toEqual(['ID', 'NAME', 'DESCRIPTION', 'ENABLED']);
  expect(row?.split(/\s{2,}/)).toEqual([id.slice(0, 12), 'test/ls:latest', `${DESCRIPTION.slice(0, 44)}…`, 'false']);
});

test('ls --no-trunc shows the whole ID and description', async () => {
  const row = (await ctr.run('plugin', 'ls', '--no-trunc')).stdout.split('\n')[1];
  expect(row?.split(/\s{2,}/)).toEqual([id, 'test/ls:latest', DESCRIPTION, 'false']);
});

test('ls -q, --format and its filters', async () => {
  expect((await ctr.run('plugin', 'ls', '-q')).stdout).toBe(`${id.slice(0, 12)}\n`);
  expect((await ctr.run('plugin', 'ls', '--format', '{{.Name}} {{.Enabled}} {{.PluginReference}}')).stdout).toBe('test/ls:latest false test/ls:latest\n');
  expect((await ctr.run('plugin', 'ls', '-q', '--filter', 'enabled=true')).stdout).toBe('');
  expect((await ctr.run('plugin', 'ls', '-q', '--filter', 'capability=volumedriver')).stdout).toBe(`${id.slice(0, 12)}\n`);
  expect(await ctr.run('plugin', 'ls', '--filter', 'bogus=1')).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter 'bogus'\n" });
});

test('create refuses a directory without config.json before it sends anything', async () => {
  const empty = join(work, 'empty');
  await fs.mkdir(empty, { recursive: true });
  expect(await ctr.run('plugin', 'create', 'test/empty', empty)).toMatchObject({ code: 1, stderr: expect.stringContaining(`open ${empty}/config.json: no such file or directory`) });
});

test('create names a missing plugin directory as Go\'s lstat does', async () => {
  const missing = join(work, 'missing');
  expect(await ctr.run('plugin', 'create', 'test/missing', missing)).toMatchObject({ code: 1, stderr: expect.stringContaining(`lstat ${missing}: no such file or directory`) });
});

test('enable refuses a negative timeout', async () => {
  expect(await ctr.run('plugin', 'enable', '--timeout', '-1', 'test/ls')).toMatchObject({ code: 1, stderr: expect.stringContaining('negative timeout -1 is invalid') });
});

test('one ctr enables, the next finds it running, another disables and removes it', async () => {
  expect(await ctr.run('plugin', 'enable', 'test/ls')).toMatchObject({ code: 0, stdout: 'test/ls\n' });
  expect((await ctr.run('plugin', 'inspect', '-f', '{{.Enabled}}', 'test/ls')).stdout).toBe('true\n');
  expect(await pluginCall(join(ctr.runRoot, 'plugins', id.slice(0, 12), 'test.sock'), 'Plugin.Activate')).toEqual({ status: 200, body: { Implements: ['VolumeDriver'] } });
  expect(await ctr.run('plugin', 'rm', 'test/ls', 'nope')).toMatchObject({
    code: 1,
    stdout: '',
    stderr: 'Error response from daemon: plugin test/ls:latest is enabled\ndisable it first, or remove it with --force\nError response from daemon: plugin "nope" not found\n',
  });
  expect(await ctr.run('plugin', 'disable', 'test/ls')).toMatchObject({ code: 0, stdout: 'test/ls\n' });
  expect(await ctr.run('plugin', 'rm', 'test/ls')).toMatchObject({ code: 0, stdout: 'test/ls\n' });
  expect((await ctr.run('plugin', 'ls', '-q')).stdout).toBe('');
});
