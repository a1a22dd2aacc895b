/**
 * `docker export` carries Docker's init layer as moby's initlayer.Setup makes it: the mount
 * points /dev/console, /dev/pts and /dev/shm, the /etc/mtab link to /proc/mounts, and its
 * empty files at mode 0755. In the container they are what runc mounts there (its /dev is a
 * tmpfs) and /etc/mtab is the link; neither `diff` nor a commit has them.
 */
import type { Readable } from 'node:stream';
import { TarReader } from '@ctr/image';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let exported: Map<string, { type: string; mode: number; size: number; linkname: string }>;
let container: string;

beforeAll(async () => {
  t = await testEngine();
  container = (await t.engine.run({ image: 'busybox', network: 'none', pull: 'never', cmd: ['true'] })).id;
  exported = await entries(await t.engine.export(container));
});

afterAll(async () => {
  await t?.cleanup();
});

async function entries(tar: Readable): Promise<typeof exported> {
  const reader = new TarReader(tar);
  const found: typeof exported = new Map();
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const { name, typeflag, mode, size, linkname } = entry.header;
    found.set(name, { type: typeflag, mode: mode & 0o7777, size, linkname });
    for await (const chunk of entry.content()) void chunk;
  }
  return found;
}

async function inContainer(script: string): Promise<string> {
  const stdout = collector();
  await t.engine.run({ image: 'busybox', network: 'none', pull: 'never', autoRemove: true, cmd: ['sh', '-c', script], stdout });
  return stdout.text();
}

test('the export has /dev/console, an empty file of mode 0755', () => {
  expect(exported.get('dev/console')).toEqual({ type: '0', mode: 0o755, size: 0, linkname: '' });
});

test('the export has the directories /dev/pts and /dev/shm', () => {
  expect([exported.get('dev/pts/')?.type, exported.get('dev/shm/')?.type]).toEqual(['5', '5']);
});

test('the export has /etc/mtab, a link to /proc/mounts', () => {
  expect(exported.get('etc/mtab')).toMatchObject({ type: '2', linkname: '/proc/mounts' });
});

test("the export's /etc/hostname, /etc/hosts and /etc/resolv.conf are the init layer's empty files of mode 0755", () => {
  for (const name of ['etc/hostname', 'etc/hosts', 'etc/resolv.conf']) expect([name, exported.get(name)]).toEqual([name, { type: '0', mode: 0o755, size: 0, linkname: '' }]);
});

test("the container sees runc's /dev (no console without a TTY, as under dockerd), its /dev/pts and /dev/shm mounts, and /etc/mtab as the link", async () => {
  const seen = await inContainer('test -e /dev/console || echo no console; stat -f -c %T /dev /dev/pts /dev/shm; readlink /etc/mtab');
  expect(seen).toBe('no console\ntmpfs\ndevpts\ntmpfs\n/proc/mounts\n');
});

test('docker diff shows none of them', async () => {
  expect(await t.engine.changes(container)).toEqual([]);
});
