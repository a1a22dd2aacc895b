/**
 * `ctr plugin push / install / upgrade` daemonless, against ctr's registry server on
 * 127.0.0.1: docker's output and prompts, the plugin installed back enabled, an install
 * whose permissions are not granted refused, and an upgrade of a disabled plugin.
 */
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { killPlugins, writePluginDir } from '../../engine/test/support/managed-plugin';
import { localCtr, type LocalCtr } from './local-ctr';

jest.setTimeout(180_000);

let ctr: LocalCtr;
let work: string;
let registry: RegistryServer;

beforeAll(async () => {
  ctr = await localCtr('plugin-distribution');
  work = await mkdtemp(join(tmpdir(), 'ctr-plugin-distribution-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
});

afterAll(async () => {
  killPlugins(ctr.runRoot);
  await registry?.close();
  await ctr.cleanup();
  await fs.rm(work, { recursive: true, force: true });
});

async function pushed(name: string, config: Record<string, unknown> = {}): Promise<string> {
  expect((await ctr.run('plugin', 'create', name, await writePluginDir(join(work, name.replace(/[/:]/g, '_')), config))).code).toBe(0);
  const push = await ctr.run('plugin', 'push', name);
  expect(push.code).toBe(0);
  expect((await ctr.run('plugin', 'rm', name)).code).toBe(0);
  return push.stdout;
}

test('push says where to, and install --grant-all-permissions brings the plugin back enabled', async () => {
  const name = `${registry.host}/ctr/roundtrip:latest`;
  expect(await pushed(name)).toMatch(new RegExp(`^The push refers to repository \\[${registry.host}/ctr/roundtrip\\]\\n`));
  const installed = await ctr.run('plugin', 'install', '--grant-all-permissions', name);
  expect(installed).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^latest: Pulling from ${registry.host}/ctr/roundtrip\\n[\\s\\S]*Installed plugin ${name}\\n$`)) });
  expect((await ctr.run('plugin', 'inspect', '-f', '{{.Enabled}} {{.PluginReference}}', name)).stdout).toBe(`true ${name}\n`);
  expect((await ctr.run('plugin', 'rm', '-f', name)).code).toBe(0);
});

test('install asks for the privileges; no answer refuses it, as docker does', async () => {
  const name = `${registry.host}/ctr/asked:latest`;
  await pushed(name);
  const refused = await ctr.run('plugin', 'install', name);
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe(`Plugin "${name}" is requesting the following privileges:\n - network: [none]\n - mount: [/usr]\n - mount: [/lib]\n - mount: [/lib64]\nDo you grant the above permissions? [y/N] `);
  expect(refused.stderr).toContain(`permission denied while installing plugin ${name}`);
  expect((await ctr.run('plugin', 'ls', '-q')).stdout).toBe('');
});

test('upgrade of a disabled plugin takes the remote\'s config; an enabled one is refused in docker\'s words', async () => {
  const v1 = `${registry.host}/ctr/upgraded:1`;
  const v2 = `${registry.host}/ctr/upgraded:2`;
  await pushed(v1);
  await pushed(v2, { description: 'the second version' });
  expect((await ctr.run('plugin', 'install', '--grant-all-permissions', '--alias', 'up', v1)).code).toBe(0);
  expect(await ctr.run('plugin', 'upgrade', '--grant-all-permissions', 'up', v2)).toMatchObject({ code: 1, stderr: expect.stringContaining('the plugin must be disabled before upgrading') });
  expect((await ctr.run('plugin', 'disable', 'up')).code).toBe(0);
  const upgraded = await ctr.run('plugin', 'upgrade', '--grant-all-permissions', '--skip-remote-check', 'up', v2);
  expect(upgraded).toMatchObject({ code: 0, stdout: expect.stringContaining(`Upgraded plugin up:latest to ${v2}\n`) });
  expect((await ctr.run('plugin', 'inspect', '-f', '{{.Config.Description}}', 'up')).stdout).toBe('the second version\n');
  expect((await ctr.run('plugin', 'rm', 'up')).code).toBe(0);
});
