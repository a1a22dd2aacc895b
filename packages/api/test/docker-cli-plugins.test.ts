/**
 * The real docker CLI (28.2) managing plugins through ctrd: `docker plugin create` sends the
 * directory as a tar, then ls, enable (runc under conmon; the socket answers Plugin.Activate),
 * inspect, set, disable and rm, with docker's output and dockerd's refusals.
 */
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killPlugins, pluginCall, writePluginDir } from '../../engine/test/support/managed-plugin';
import { docker, useTestDaemon } from './fixture';

jest.setTimeout(120_000);

const t = useTestDaemon();
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-docker-plugins-'));
});

afterAll(async () => {
  // Whatever a failed test left running: the daemon's own cleanup does not know plugins.
  if (t.runRoot) killPlugins(t.runRoot);
  await fs.rm(work, { recursive: true, force: true });
});

test('create, ls, enable, inspect, set, disable and rm through docker plugin', async () => {
  const dir = await writePluginDir(join(work, 'plugin'), {
    env: [{ name: 'GREETING', description: 'what to say', settable: ['value'], value: 'hello' }],
  });

  const created = await docker(t.env, ['plugin', 'create', 'test/cli', dir]);
  expect(created).toMatchObject({ code: 0, stdout: 'test/cli\n' });

  const listed = await docker(t.env, ['plugin', 'ls']);
  expect(listed.code).toBe(0);
  const [header, row] = listed.stdout.split('\n');
  expect(header?.split(/\s{2,}/)).toEqual(['ID', 'NAME', 'DESCRIPTION', 'ENABLED']);
  expect(row?.split(/\s{2,}/)).toEqual([expect.stringMatching(/^[0-9a-f]{12}$/), 'test/cli:latest', 'A test plugin that answers Plugin.Activate', 'false']);

  expect(await docker(t.env, ['plugin', 'set', 'test/cli', 'GREETING=hi'])).toMatchObject({ code: 0, stdout: '' });
  expect(await docker(t.env, ['plugin', 'set', 'test/cli', 'NOPE=1'])).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('setting "NOPE" not found in the plugin configuration'),
  });

  expect(await docker(t.env, ['plugin', 'enable', 'test/cli'])).toMatchObject({ code: 0, stdout: 'test/cli\n' });
  const id = (await docker(t.env, ['plugin', 'inspect', '-f', '{{.Id}}', 'test/cli'])).stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  expect(await pluginCall(join(t.runRoot, 'plugins', id.slice(0, 12), 'test.sock'), 'Plugin.Activate')).toEqual({ status: 200, body: { Implements: ['VolumeDriver'] } });

  const inspected = JSON.parse((await docker(t.env, ['plugin', 'inspect', 'test/cli'])).stdout) as { Enabled: boolean; Name: string; Settings: { Env: string[] } }[];
  expect(inspected).toHaveLength(1);
  expect(inspected[0]).toMatchObject({ Enabled: true, Name: 'test/cli:latest', Settings: { Env: ['GREETING=hi'] } });
  expect((await docker(t.env, ['plugin', 'ls', '--filter', 'enabled=true', '-q', '--no-trunc'])).stdout).toBe(`${id}\n`);

  expect(await docker(t.env, ['plugin', 'rm', 'test/cli'])).toMatchObject({ code: 1, stderr: expect.stringContaining('plugin test/cli:latest is enabled') });
  expect(await docker(t.env, ['ps', '-aq'])).toMatchObject({ code: 0, stdout: '' });

  expect(await docker(t.env, ['plugin', 'disable', 'test/cli'])).toMatchObject({ code: 0, stdout: 'test/cli\n' });
  expect((await docker(t.env, ['plugin', 'inspect', '-f', '{{.Enabled}}', 'test/cli'])).stdout).toBe('false\n');
  expect(await docker(t.env, ['plugin', 'rm', 'test/cli'])).toMatchObject({ code: 0, stdout: 'test/cli\n' });
  expect((await docker(t.env, ['plugin', 'ls', '-q'])).stdout).toBe('');
});

test('an unknown plugin is docker\'s not found', async () => {
  const inspected = await docker(t.env, ['plugin', 'inspect', 'nope']);
  expect(inspected.code).toBe(1);
  expect(inspected.stderr).toBe('Error response from daemon: plugin "nope" not found\n');
  expect(await docker(t.env, ['plugin', 'enable', 'nope'])).toMatchObject({ code: 1, stderr: expect.stringContaining('plugin "nope" not found') });
});
