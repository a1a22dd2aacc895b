import { readFileSync } from 'node:fs';
import type { EngineEvent } from '@ctr/engine';
import { testEngine, type TestEngine } from './fixture';

const MiB = 1024 * 1024;

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t.cleanup();
});

/** A file of the cgroup the container's process is in, read on the host. */
async function cgroupFile(container: string, controller: string, file: string): Promise<string> {
  const pid = (await t.engine.inspect(container)).State.Pid;
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
  return readFileSync(`/sys/fs/cgroup/${controller}${line?.split(':')[2]}/${file}`, 'utf8').trim();
}

const sleeper = (options: Record<string, unknown> = {}): Promise<string> =>
  t.engine.create({ image: 'busybox', cmd: ['sleep', '1000'], network: 'none', pull: 'never', ...options }).then((c) => c.id);

test("inspect shows the limits a container was created with in bytes and nano-CPUs, Docker's units", async () => {
  const id = await sleeper({ memory: '64m', cpus: '0.5', pidsLimit: 20, cpuShares: 512 });
  const { HostConfig } = await t.engine.inspect(id);
  expect(HostConfig).toMatchObject({ Memory: 64 * MiB, MemorySwap: 128 * MiB, NanoCpus: 500_000_000, PidsLimit: 20, CpuShares: 512, ShmSize: 64 * MiB });
  await t.engine.remove(id, { force: true });
});

test("update changes a running container's limits at once and inspect shows them", async () => {
  const id = await sleeper({ memory: '64m' });
  await t.engine.start(id);
  await t.engine.update(id, { memory: '100m', cpus: 0.25, pidsLimit: 30 });
  expect(await cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(100 * MiB));
  expect(await cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('25000');
  expect(await cgroupFile(id, 'pids', 'pids.max')).toBe('30');
  // The swap limit create gave (twice 64m) stays, as dockerd keeps it.
  expect((await t.engine.inspect(id)).HostConfig).toMatchObject({ Memory: 100 * MiB, MemorySwap: 128 * MiB, NanoCpus: 250_000_000, PidsLimit: 30 });
  await t.engine.remove(id, { force: true });
});

test('new limits hold over a restart', async () => {
  const id = await sleeper();
  await t.engine.start(id);
  await t.engine.update(id, { memory: '80m' });
  await t.engine.restart(id, { timeout: 0 });
  expect(await cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(80 * MiB));
  await t.engine.remove(id, { force: true });
});

test('a container with no memory limit takes one alone, with swap at twice it', async () => {
  const id = await sleeper();
  await t.engine.update(id, { memory: '32m' });
  expect((await t.engine.inspect(id)).HostConfig).toMatchObject({ Memory: 32 * MiB, MemorySwap: 64 * MiB });
  await t.engine.remove(id, { force: true });
});

test('a memory limit above the swap limit in force is refused with dockerd\'s words and changes nothing', async () => {
  const id = await sleeper({ memory: '64m' });
  await expect(t.engine.update(id, { memory: '200m' })).rejects.toMatchObject({
    code: 'Conflict',
    message: `Cannot update container ${id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`,
  });
  expect((await t.engine.inspect(id)).HostConfig).toMatchObject({ Memory: 64 * MiB, MemorySwap: 128 * MiB });
  await t.engine.update(id, { memory: '200m', memorySwap: '400m' });
  expect((await t.engine.inspect(id)).HostConfig).toMatchObject({ Memory: 200 * MiB, MemorySwap: 400 * MiB });
  await t.engine.remove(id, { force: true });
});

test('--cpus cannot be given to a container whose CPU quota was set, and the other way round', async () => {
  const quota = await sleeper({ cpuQuota: 50_000 });
  await expect(t.engine.update(quota, { cpus: 1 })).rejects.toMatchObject({ code: 'Conflict', message: `Cannot update container ${quota}: Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set` });
  const nano = await sleeper({ cpus: 1 });
  await expect(t.engine.update(nano, { cpuQuota: 20_000 })).rejects.toMatchObject({ code: 'Conflict', message: `Cannot update container ${nano}: Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set` });
  await t.engine.remove(quota, { force: true });
  await t.engine.remove(nano, { force: true });
});

test('a pids limit of -1 lifts the limit', async () => {
  const id = await sleeper({ pidsLimit: 10 });
  await t.engine.update(id, { pidsLimit: -1 });
  expect((await t.engine.inspect(id)).HostConfig.PidsLimit).toBeNull();
  await t.engine.remove(id, { force: true });
});

test('update sets a new restart policy', async () => {
  const id = await sleeper();
  await t.engine.update(id, { restart: 'on-failure:3' });
  expect((await t.engine.inspect(id)).HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
  await t.engine.remove(id, { force: true });
});

test('a restart policy for an auto-removed container is refused', async () => {
  const id = await sleeper({ autoRemove: true });
  await expect(t.engine.update(id, { restart: 'always' })).rejects.toMatchObject({
    code: 'Conflict',
    message: `Cannot update container ${id}: Restart policy cannot be updated because AutoRemove is enabled for the container`,
  });
  expect((await t.engine.inspect(id)).HostConfig.RestartPolicy.Name).toBe('no');
  await t.engine.remove(id, { force: true });
});

test('update is announced as an update event', async () => {
  const since = Date.now() / 1000;
  const id = await sleeper({ name: 'updated-one' });
  await t.engine.update(id, { cpuShares: 256 });
  const events: EngineEvent[] = [];
  for await (const e of t.engine.events({ since, until: Date.now() / 1000, filters: { container: [id], event: ['update'] } })) events.push(e);
  expect(events).toMatchObject([{ Type: 'container', Action: 'update', Actor: { ID: id, Attributes: { name: 'updated-one' } } }]);
  await t.engine.remove(id, { force: true });
});

test('update of an unknown container is a not-found error', async () => {
  await expect(t.engine.update('no-such-container', { memory: '64m' })).rejects.toMatchObject({ code: 'NotFound' });
});
