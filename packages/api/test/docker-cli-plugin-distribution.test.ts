/**
 * The real docker CLI (28.2) moving plugins through ctrd and a registry on 127.0.0.1 (ctr's
 * own server): `docker plugin push` of a created plugin, `install --grant-all-permissions`
 * (privileges, pull, set, enable), the refusal of an install whose permissions are not
 * granted, and `upgrade` of a disabled plugin.
 */
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { killPlugins, pluginCall, writePluginDir } from '../../engine/test/support/managed-plugin';
import { docker, useTestDaemon } from './fixture';

jest.setTimeout(180_000);

const t = useTestDaemon();
let work: string;
let registry: RegistryServer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-docker-plugin-dist-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
});

afterAll(async () => {
  if (t.runRoot) killPlugins(t.runRoot);
  await registry?.close();
  await fs.rm(work, { recursive: true, force: true });
});

const settable = { env: [{ name: 'GREETING', description: 'what to say', settable: ['value'], value: 'hello' }] };

async function pushed(name: string, config: Record<string, unknown> = {}): Promise<void> {
  const dir = await writePluginDir(join(work, name.replace(/[/:]/g, '_')), { ...settable, ...config });
  expect((await docker(t.env, ['plugin', 'create', name, dir])).code).toBe(0);
  const push = await docker(t.env, ['plugin', 'push', name]);
  expect(push).toMatchObject({ code: 0, stdout: expect.stringContaining(`The push refers to repository [${name.replace(/:[^:/]*$/, '')}]`) });
  expect(await docker(t.env, ['plugin', 'rm', name])).toMatchObject({ code: 0 });
}

test('a pushed plugin is installed back with its permissions granted, set and enabled', async () => {
  const name = `${registry.host}/cli/roundtrip:latest`;
  await pushed(name);
  const installed = await docker(t.env, ['plugin', 'install', '--grant-all-permissions', name, 'GREETING=hi']);
  expect(installed.code).toBe(0);
  expect(installed.stdout).toContain(`Installed plugin ${name}\n`);
  const plugin = JSON.parse((await docker(t.env, ['plugin', 'inspect', name])).stdout) as { Id: string; Enabled: boolean; PluginReference: string; Settings: { Env: string[] } }[];
  expect(plugin[0]).toMatchObject({ Enabled: true, PluginReference: name, Settings: { Env: ['GREETING=hi'] } });
  const info = await pluginCall(join(t.runRoot, 'plugins', plugin[0]!.Id.slice(0, 12), 'test.sock'), 'Test.Info');
  expect((info.body.env as Record<string, string>).GREETING).toBe('hi');
  expect(await docker(t.env, ['plugin', 'rm', '-f', name])).toMatchObject({ code: 0 });
});

test('a plugin installed by digest is named by its repository and tag', async () => {
  const name = `${registry.host}/cli/bydigest:latest`;
  const dir = await writePluginDir(join(work, 'bydigest'), settable);
  expect((await docker(t.env, ['plugin', 'create', name, dir])).code).toBe(0);
  expect((await docker(t.env, ['plugin', 'push', name])).code).toBe(0);
  const head = await fetch(`http://${registry.host}/v2/cli/bydigest/manifests/latest`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  const digest = head.headers.get('docker-content-digest');
  expect(digest).toMatch(/^sha256:/);
  expect(await docker(t.env, ['plugin', 'rm', name])).toMatchObject({ code: 0 });
  const installed = await docker(t.env, ['plugin', 'install', '--grant-all-permissions', '--disable', `${registry.host}/cli/bydigest@${digest}`]);
  expect(installed).toMatchObject({ code: 0 });
  expect((await docker(t.env, ['plugin', 'ls', '--format', '{{.Name}}'])).stdout).toBe(`${name}\n`);
  expect(await docker(t.env, ['plugin', 'rm', name])).toMatchObject({ code: 0 });
});

test('an install whose permissions are not granted is refused, and nothing is installed', async () => {
  const name = `${registry.host}/cli/refused:latest`;
  await pushed(name);
  const refused = await docker(t.env, ['plugin', 'install', name]);
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain(`Plugin "${name}" is requesting the following privileges:\n - network: [none]\n - mount: [/usr]\n`);
  expect(refused.stdout).toContain('Do you grant the above permissions? [y/N] ');
  expect(refused.stderr).toContain(`permission denied while installing plugin ${name}`);
  expect((await docker(t.env, ['plugin', 'ls', '-q'])).stdout).toBe('');
});

test('upgrade replaces a disabled plugin with the remote\'s, keeping its settings', async () => {
  const v1 = `${registry.host}/cli/upgraded:1`;
  const v2 = `${registry.host}/cli/upgraded:2`;
  await pushed(v1);
  await pushed(v2, { description: 'the second version' });
  expect((await docker(t.env, ['plugin', 'install', '--grant-all-permissions', '--disable', '--alias', 'up', v1, 'GREETING=hi'])).code).toBe(0);
  const upgraded = await docker(t.env, ['plugin', 'upgrade', '--grant-all-permissions', '--skip-remote-check', 'up', v2]);
  expect(upgraded.code).toBe(0);
  expect(upgraded.stdout).toContain(`Upgrading plugin up:latest from ${v1} to ${v2}\n`);
  expect(upgraded.stdout).toContain(`Upgraded plugin up:latest to ${v2}\n`);
  const plugin = JSON.parse((await docker(t.env, ['plugin', 'inspect', 'up'])).stdout) as { PluginReference: string; Config: { Description: string }; Settings: { Env: string[] } }[];
  expect(plugin[0]).toMatchObject({ PluginReference: v2, Config: { Description: 'the second version' }, Settings: { Env: ['GREETING=hi'] } });
  expect(await docker(t.env, ['plugin', 'rm', 'up'])).toMatchObject({ code: 0 });
});
