/**
 * A managed volume plugin's volumes in real containers: the plugin (the test volume plugin, run
 * by the engine under runc) keeps its volumes under its PropagatedMount, and gives their paths
 * as it sees them; the engine finds them on the host as moby's ScopedPath does, through the
 * propagated mount's host side (`<plugin dir>/propagated-mount`).
 */
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tarTree } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';
import { scopedPath } from '../src/plugins/volume-driver';
import { killPlugins, writePluginDir } from './support/managed-plugin';

jest.setTimeout(120_000);

let t: TestEngine;
let work: string;
let pluginId: string;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(path.join(tmpdir(), 'ctr-vol-managed-'));
  const dir = await writePluginDir(path.join(work, 'plugin'), {
    entrypoint: ['/usr/bin/node', '/plugin/volume-server.js', '/run/docker/plugins/vol.sock', '/state'],
    interface: { types: ['docker.volumedriver/1.0'], socket: 'vol.sock' },
    propagatedmount: '/state',
  });
  await fs.copyFile(path.join(__dirname, 'support', 'volume-plugin-server.js'), path.join(dir, 'rootfs', 'plugin', 'volume-server.js'));
  await t.engine.createPlugin('test/mvol', tarTree(dir, ''));
  await t.engine.enablePlugin('test/mvol');
  pluginId = (await t.engine.inspectPlugin('test/mvol')).Id;
});

afterAll(async () => {
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true }).catch(() => undefined);
  for (const v of await t.engine.volumes().catch(() => [])) await t.engine.removeVolume(v.Name, { force: true }).catch(() => undefined);
  await t.engine.removePlugin('test/mvol', { force: true }).catch(() => undefined);
  killPlugins(t.runRoot);
  await t.cleanup();
  await fs.rm(work, { recursive: true, force: true });
});

/** Where the plugin's volume `name` is on the host: under its propagated mount's host side. */
function hostPath(name: string): string {
  return path.join(t.root, 'plugins', pluginId, 'propagated-mount', 'volumes', name);
}

async function run(volumes: string[], script: string): Promise<{ exitCode: number; out: string }> {
  const stdout = collector();
  const { exitCode } = await t.engine.run({ image: 'busybox', pull: 'never', cmd: ['sh', '-c', script], volumes, network: 'none', stdout });
  return { exitCode: exitCode ?? -1, out: stdout.text() };
}

test("what a container writes to a managed plugin's volume is in the plugin's propagated mount, and the next container reads it", async () => {
  await t.engine.createVolume({ driver: 'test/mvol', name: 'written' });
  expect((await run(['written:/data'], 'echo through > /data/f')).exitCode).toBe(0);
  expect(await fs.readFile(path.join(hostPath('written'), 'f'), 'utf8')).toBe('through\n');
  expect((await run(['written:/data'], 'cat /data/f')).out).toBe('through\n');
});

test("volume inspect shows a managed plugin's volume at its host path", async () => {
  await t.engine.createVolume({ driver: 'test/mvol', name: 'shown' });
  expect((await t.engine.inspectVolume('shown')).Mountpoint).toBe(hostPath('shown'));
});

test("container inspect shows a managed plugin's volume's Source at its host path", async () => {
  await t.engine.createVolume({ driver: 'test/mvol', name: 'sourced' });
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', cmd: ['true'], volumes: ['sourced:/data'], network: 'none' });
  expect((await t.engine.inspect(id)).Mounts.find((m) => m.Name === 'sourced')?.Source).toBe(hostPath('sourced'));
});

describe("a managed plugin's paths on the host (moby's ScopedPath)", () => {
  const paths = { rootfs: '/p/rootfs', propagatedMount: '/data', propagatedRoot: '/p/propagated-mount' };

  test('a path under the PropagatedMount is under its host side', () => {
    expect(scopedPath(paths, '/data/volumes/v')).toBe('/p/propagated-mount/volumes/v');
  });

  test('any other path is inside the rootfs, a sibling that shares a prefix too', () => {
    expect(scopedPath(paths, '/data2/v')).toBe('/p/rootfs/data2/v');
  });

  test('.. never leads above the plugin root', () => {
    expect(scopedPath(paths, '/../../etc')).toBe('/p/rootfs/etc');
    expect(scopedPath(paths, '/data/../../etc')).toBe('/p/rootfs/etc');
  });

  test("a legacy plugin's path is the host's as it is", () => {
    expect(scopedPath(undefined, '/srv/v')).toBe('/srv/v');
  });
});
