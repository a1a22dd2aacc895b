/**
 * What a container holds on the host while it runs — its device volumes' mounts, a shareable
 * /dev/shm — comes off when it stops, as dockerd releases them: a device volume once no
 * running container uses it, a /dev/shm at its owner's exit.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type CreateContainerOptions } from '@ctr/engine';
import { mountPoints } from '@ctr/store';
import { collector, eventually, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let hostDir: string;
let volume = 0;

beforeAll(async () => {
  t = await testEngine();
  hostDir = await mkdtemp(join(tmpdir(), 'ctr-volume-release-'));
});
afterAll(async () => {
  await t.engine.close();
  // Containers, then volumes: a device still mounted under the root would be reached by the root's removal.
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true }).catch(() => undefined);
  for (const v of await t.engine.volumes()) await t.engine.removeVolume(v.Name).catch(() => undefined);
  await t.cleanup();
  await rm(hostDir, { recursive: true, force: true });
});

/** A new tmpfs volume; its mount point. */
async function tmpfsVolume(): Promise<{ name: string; mountpoint: string }> {
  const name = `release-${++volume}`;
  const info = await t.engine.createVolume({ name, options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
  return { name, mountpoint: info.Mountpoint };
}

async function mounted(dir: string): Promise<boolean> {
  return (await mountPoints()).includes(dir);
}

function shmOf(id: string): string {
  return join(t.root, 'containers', id, 'shm');
}

type Options = Pick<CreateContainerOptions, 'volumes' | 'ipc' | 'restart'>;

async function runAttached(options: Options, script: string): Promise<string> {
  const stdout = collector();
  const { exitCode } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sh', '-c', script], stdout, ...options });
  expect(exitCode).toBe(0);
  return stdout.text();
}

async function runDetached(options: Options, cmd = ['sleep', '300']): Promise<string> {
  return (await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', cmd, detach: true, ...options })).id;
}

test('a tmpfs volume is unmounted when its only container exits, attached', async () => {
  const v = await tmpfsVolume();
  expect(await runAttached({ volumes: [`${v.name}:/data`] }, "df -k /data | awk 'NR==2 {print $1}'")).toBe('tmpfs\n');
  expect(await mounted(v.mountpoint)).toBe(false);
});

test('a tmpfs volume is unmounted when its only container is stopped', async () => {
  const v = await tmpfsVolume();
  const id = await runDetached({ volumes: [`${v.name}:/data`] });
  expect(await mounted(v.mountpoint)).toBe(true);
  await t.engine.stop(id, { timeout: 0 });
  expect(await mounted(v.mountpoint)).toBe(false);
});

test('a tmpfs volume stays mounted, with its data, while another container using it runs', async () => {
  const v = await tmpfsVolume();
  const keeper = await runDetached({ volumes: [`${v.name}:/data`] });
  await runAttached({ volumes: [`${v.name}:/data`] }, 'echo kept > /data/file');
  expect(await mounted(v.mountpoint)).toBe(true);
  expect(await readFile(join(v.mountpoint, 'file'), 'utf8')).toBe('kept\n');
  await t.engine.stop(keeper, { timeout: 0 });
  expect(await mounted(v.mountpoint)).toBe(false);
});

test("a bind-device volume's data stays in the host directory after the unmount", async () => {
  const dir = join(hostDir, 'bound');
  await mkdir(dir);
  const info = await t.engine.createVolume({ name: 'release-bind', options: { type: 'none', o: 'bind', device: dir } });
  await runAttached({ volumes: ['release-bind:/data'] }, 'echo survives > /data/file');
  expect(await mounted(info.Mountpoint)).toBe(false);
  expect(await readdir(info.Mountpoint)).toEqual([]);
  expect(await readFile(join(dir, 'file'), 'utf8')).toBe('survives\n');
  expect(await runAttached({ volumes: ['release-bind:/data'] }, 'cat /data/file')).toBe('survives\n');
});

test('a container started again mounts its volume again', async () => {
  const v = await tmpfsVolume();
  const id = await runDetached({ volumes: [`${v.name}:/data`] });
  await t.engine.stop(id, { timeout: 0 });
  await t.engine.start(id);
  expect(await mounted(v.mountpoint)).toBe(true);
  const df = collector();
  await t.engine.exec(id, { cmd: ['sh', '-c', "df -k /data | awk 'NR==2 {print $1}'"], stdout: df });
  expect(df.text()).toBe('tmpfs\n');
  await t.engine.remove(id, { force: true });
  expect(await mounted(v.mountpoint)).toBe(false);
});

test('a container whose start fails leaves its volume unmounted', async () => {
  const v = await tmpfsVolume();
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['no-such-program'], volumes: [`${v.name}:/data`] });
  await expect(t.engine.start(id)).rejects.toMatchObject({ message: expect.stringContaining('no-such-program') });
  expect(await mounted(v.mountpoint)).toBe(false);
});

test("a shareable container's /dev/shm is unmounted when it stops, and mounted again at its next start", async () => {
  const id = await runDetached({ ipc: 'shareable' }, ['sh', '-c', 'echo x > /dev/shm/file; sleep 300']);
  expect(await mounted(shmOf(id))).toBe(true);
  await t.engine.stop(id, { timeout: 0 });
  expect(await mounted(shmOf(id))).toBe(false);
  await t.engine.start(id);
  expect(await mounted(shmOf(id))).toBe(true);
  await t.engine.remove(id, { force: true });
});

test("a container in another's IPC namespace keeps its /dev/shm when the owner stops, and cannot start again until the owner runs", async () => {
  const owner = await runDetached({ ipc: 'shareable' }, ['sh', '-c', 'echo shared > /dev/shm/file; sleep 300']);
  await eventually(() => readFile(join(shmOf(owner), 'file'), 'utf8').catch(() => ''), (text) => text !== '');
  const joiner = await runDetached({ ipc: `container:${owner}` });
  await t.engine.stop(owner, { timeout: 0 });
  const seen = collector();
  await t.engine.exec(joiner, { cmd: ['cat', '/dev/shm/file'], stdout: seen });
  expect(seen.text()).toBe('shared\n');
  await t.engine.stop(joiner, { timeout: 0 });
  await expect(t.engine.start(joiner)).rejects.toMatchObject({ code: 'Conflict', message: `failed to join IPC namespace: container ${owner} is not running` });
  await t.engine.remove(joiner, { force: true });
  await t.engine.remove(owner, { force: true });
});

describe('a removal whose /dev/shm is busy', () => {
  let holder: ChildProcess | undefined;
  afterEach(() => {
    holder?.kill('SIGKILL');
  });

  test('is refused with what is busy, leaves the container exited, and a later rm succeeds', async () => {
    const id = await runDetached({ ipc: 'shareable' });
    // A host process working inside the container's /dev/shm keeps the tmpfs busy.
    holder = spawn('sleep', ['300'], { cwd: shmOf(id), stdio: 'ignore' });
    await new Promise((resolve) => holder?.once('spawn', resolve));
    await expect(t.engine.remove(id, { force: true })).rejects.toMatchObject({
      code: 'Conflict',
      message: expect.stringContaining(`its /dev/shm at ${shmOf(id)} is busy`),
    });
    expect((await t.engine.inspect(id)).State.Status).toBe('exited');
    const gone = new Promise((resolve) => holder?.once('exit', resolve));
    holder.kill('SIGKILL');
    await gone;
    holder = undefined;
    await t.engine.remove(id);
    expect(await mounted(shmOf(id))).toBe(false);
    await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
  });
});

describe('under a monitor (ctrd)', () => {
  beforeAll(async () => {
    await t.engine.startMonitor({ scanIntervalMs: 200 });
  });
  afterAll(async () => {
    await t.engine.close();
  });

  test('a detached container that exits has its volume unmounted', async () => {
    const v = await tmpfsVolume();
    const id = await runDetached({ volumes: [`${v.name}:/data`] }, ['sleep', '0.3']);
    await t.engine.wait(id);
    expect(await eventually(() => mounted(v.mountpoint), (on) => !on)).toBe(false);
  });

  test('a container restarted by its policy has its volume mounted again', async () => {
    const v = await tmpfsVolume();
    const id = await runDetached({ volumes: [`${v.name}:/data`], restart: 'on-failure:1' }, ['sh', '-c', 'grep -q " /data tmpfs" /proc/mounts && exit 3']);
    const done = await eventually(() => t.engine.inspect(id), (c) => c.RestartCount === 1 && !c.State.Running && !c.State.Restarting);
    // It failed (3) the second time too: the volume was a tmpfs again at the restart.
    expect(done.State.ExitCode).toBe(3);
    expect(await eventually(() => mounted(v.mountpoint), (on) => !on)).toBe(false);
  });
});

test('an engine recovering a root releases what a container held whose exit nobody saw', async () => {
  const v = await tmpfsVolume();
  // No monitor and no exit command here: this engine does not see the exit.
  const id = await runDetached({ volumes: [`${v.name}:/data`] }, ['true']);
  await t.engine.wait(id);
  expect(await mounted(v.mountpoint)).toBe(true);
  await t.engine.recover();
  expect(await mounted(v.mountpoint)).toBe(false);
});

test('after a reboot (its processes and mounts gone, the run directory lost), a start mounts the volume again', async () => {
  const v = await tmpfsVolume();
  const id = await runDetached({ volumes: [`${v.name}:/data`] });
  // The "reboot": the container's processes killed (no exit seen), what the last boot mounted gone, /run wiped.
  const { Pid } = (await t.engine.inspect(id)).State;
  process.kill(Number(await readFile(join(t.root, 'containers', id, 'conmon.pid'), 'utf8')), 'SIGKILL');
  process.kill(Pid, 'SIGKILL');
  await eventually(() => readFile(`/proc/${Pid}/stat`).then(() => true, () => false), (alive) => !alive);
  execFileSync('umount', [v.mountpoint]);
  execFileSync('umount', [join(t.root, 'engine', 'rootfs', id)]);
  const runRoot = await mkdtemp(join(tmpdir(), 'ctr-engine-run-'));
  const rebooted = new Engine({ root: t.root, runRoot });
  try {
    await rebooted.start(id);
    expect(await mounted(v.mountpoint)).toBe(true);
    const df = collector();
    await rebooted.exec(id, { cmd: ['sh', '-c', "df -k /data | awk 'NR==2 {print $1}'"], stdout: df });
    expect(df.text()).toBe('tmpfs\n');
    await rebooted.remove(id, { force: true });
  } finally {
    await rebooted.close();
    await rm(runRoot, { recursive: true, force: true });
  }
});
