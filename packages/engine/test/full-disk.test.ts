import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Engine } from '@ctr/engine';
import { TAR_END, encodeTarHeader, tarPadding } from '@ctr/image';
import { NetworkManager } from '@ctr/network';
import { fillDisk, freeBlocks } from '../../../test/support/full-disk';
import { daemonlessEngine, eventually } from './fixture';

const exec = promisify(execFile);
const CTR = path.resolve(__dirname, '../../cli/bin/ctr');

// The engine's root and run root on one small tmpfs, as a host whose disk fills holds them.
let base: string;
let disk: string;
let root: string;
let runRoot: string;
let engine: Engine;

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(tmpdir(), 'ctr-engine-full-'));
  disk = path.join(base, 'disk');
  await fs.mkdir(disk);
  await exec('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', disk]);
  root = path.join(disk, 'root');
  runRoot = path.join(disk, 'run');
  // Its exit command is what conmon runs for `--rm` when no client waits.
  engine = daemonlessEngine(root, runRoot);
  await engine.importBusybox();
});

afterEach(async () => {
  await fs.rm(path.join(disk, 'fill'), { force: true });
});

afterAll(async () => {
  await fs.rm(path.join(disk, 'fill'), { force: true });
  for (const c of await engine.ps({ all: true })) await engine.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
  await engine.close();
  await new NetworkManager({ root, runRoot }).gc();
  await exec('umount', ['-l', disk]).catch(() => undefined);
  await fs.rm(base, { recursive: true, force: true });
});

const running = async (name: string): Promise<string> =>
  (await engine.run({ image: 'busybox', pull: 'never', network: 'none', name, cmd: ['sleep', '1000'], detach: true })).id;

function fileTar(name: string, size: number): Readable {
  return Readable.from([encodeTarHeader({ name, type: 'file', mode: 0o644, size, mtime: 1_700_000_000 }), Buffer.alloc(size, 1), tarPadding(size), TAR_END]);
}

test('rm of a stopped container on a full disk removes it', async () => {
  const { id } = await engine.create({ image: 'busybox', pull: 'never', network: 'none', name: 'stopped' });
  await fillDisk(disk);
  await engine.remove(id);
  await expect(engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
});

test('rmi on a full disk removes the image and gives its layer back', async () => {
  await engine.importImage({ tar: fileTar('data', 256 * 1024) }, { name: 'full-disk-rmi:1' });
  await fillDisk(disk);
  const removed = await engine.removeImage('full-disk-rmi:1');
  expect(removed.filter((line) => 'Deleted' in line)).toHaveLength(2);
  await expect(engine.inspectImage('full-disk-rmi:1')).rejects.toMatchObject({ code: 'NotFound' });
  expect(freeBlocks(disk)).toBeGreaterThan(0);
});

test('rm -f of a running container on a full disk removes it', async () => {
  const id = await running('live');
  await fillDisk(disk);
  await engine.remove(id, { force: true });
  await expect(engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
});

test('volume rm and network rm work on a full disk', async () => {
  await engine.createVolume({ name: 'full-vol' });
  await engine.createNetwork({ name: 'full-net' });
  await fillDisk(disk);
  await engine.removeVolume('full-vol');
  await engine.removeNetwork('full-net');
  expect((await engine.volumes()).map((v) => v.Name)).not.toContain('full-vol');
  expect((await engine.networks()).map((n) => n.Name)).not.toContain('full-net');
});

test('system prune on a full disk removes stopped containers and unused networks, and frees space', async () => {
  const { id } = await engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'] });
  await engine.createNetwork({ name: 'unused-net' });
  await fillDisk(disk);
  const pruned = await engine.prune();
  expect(pruned.ContainersDeleted).toContain(id);
  expect(pruned.NetworksDeleted).toContain('unused-net');
  await eventually(async () => freeBlocks(disk), (free) => free > 0);
  expect(freeBlocks(disk)).toBeGreaterThan(0);
});

test('a cp that fills the disk fails and leaves the container running, not frozen', async () => {
  const id = await running('copied');
  await fillDisk(disk);
  await expect(engine.putArchive(id, '/tmp', fileTar('big', 1 << 20))).rejects.toThrow(/no space left on device/i);
  expect((await engine.inspect(id)).State).toMatchObject({ Status: 'running', Running: true, Paused: false });
  await engine.remove(id, { force: true });
});

test('ctr says a full disk in docker\'s words with what to do', async () => {
  const id = await running('said');
  const file = path.join(base, 'payload');
  await fs.writeFile(file, Buffer.alloc(1 << 20, 1));
  await fillDisk(disk);
  const failed = await exec(CTR, ['cp', file, `${id}:/tmp/payload`], { env: { ...process.env, CTR_ROOT: root, CTR_RUNROOT: runRoot } }).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  expect(failed?.code).toBe(1);
  expect(failed?.stderr).toMatch(/^Error response from daemon: .*no space left on device: free (space on the filesystem holding .*|disk space .*) and retry$/m);
  await engine.remove(id, { force: true });
});

test('a --rm container whose process fills the disk is removed when it exits', async () => {
  const { id } = await engine.run({
    image: 'busybox',
    pull: 'never',
    network: 'none',
    autoRemove: true,
    detach: true,
    cmd: ['sh', '-c', 'dd if=/dev/zero of=/big bs=1M; sleep 0.5'],
  });
  const gone = await eventually(
    () => engine.inspect(id).then(() => false, () => true),
    (removed) => removed,
  );
  expect(gone).toBe(true);
});
