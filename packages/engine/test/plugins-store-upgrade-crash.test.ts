/**
 * An upgrade cut short leaves the plugin store consistent: the plugin it replaces is moved aside
 * under a name that says whose, and the sweep of a later process puts it back when its
 * replacement never came into place, or finishes the upgrade when it did (keeping the host side
 * of the PropagatedMount, as moby's upgrade keeps the plugin's directory).
 */
import { existsSync, promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PluginStore, type PluginInspect } from '../src/plugins/plugin-store';

const ID = 'a'.repeat(64);
/** A holder that cannot run: pid 0 is never a process's. */
const DEAD_HOLDER = '0-0';

let root: string;
let store: PluginStore;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ctr-plugin-store-'));
  store = new PluginStore(root);
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function plugin(description: string): PluginInspect {
  return { Id: ID, Name: 'test/up:latest', Enabled: false, Config: { Description: description } as PluginInspect['Config'], Settings: { Args: [], Devices: [], Env: [], Mounts: [] } };
}

async function writePlugin(dir: string, description: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'rootfs'), { recursive: true });
  await fs.writeFile(path.join(dir, 'plugin.json'), JSON.stringify({ plugin: plugin(description) }));
}

test('an upgrade that moved the old plugin aside and died is undone by the sweep', async () => {
  await writePlugin(path.join(store.dir, `.old-${DEAD_HOLDER}-${ID}`), 'old');
  await store.locked(() => store.sweep());
  expect((await store.find(ID)).Config.Description).toBe('old');
  expect((await fs.readdir(store.dir)).filter((n) => n.startsWith('.old-'))).toEqual([]);
});

test('an upgrade that put the new plugin in place and died is finished by the sweep, the propagated mount kept', async () => {
  const aside = path.join(store.dir, `.old-${DEAD_HOLDER}-${ID}`);
  await writePlugin(aside, 'old');
  await fs.mkdir(path.join(aside, 'propagated-mount', 'data'), { recursive: true });
  await writePlugin(store.pluginDir(ID), 'new');
  await store.locked(() => store.sweep());
  expect((await store.find(ID)).Config.Description).toBe('new');
  expect(existsSync(path.join(store.pluginDir(ID), 'propagated-mount', 'data'))).toBe(true);
  expect(existsSync(aside)).toBe(false);
});

test('replace swaps the whole plugin directory in and leaves nothing aside', async () => {
  await writePlugin(store.pluginDir(ID), 'old');
  const temp = await store.tempDir();
  await fs.mkdir(path.join(temp, 'rootfs'));
  await store.locked(() => store.replace(temp, plugin('new')));
  expect((await store.find(ID)).Config.Description).toBe('new');
  expect((await fs.readdir(store.dir)).filter((n) => n.startsWith('.tmp-') || n.startsWith('.old-'))).toEqual([]);
});
