import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Engine, shouldRestart } from '@ctr/engine';
import { eventually, testEngine, type TestEngine } from './fixture';

/** A reboot empties the cgroup tree too: remove the container's cgroups once its processes are gone. */
async function removeCgroups(id: string): Promise<void> {
  for (const controller of await readdir('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', controller, 'ctr', id);
    for (let i = 0; i < 100; i++) {
      try {
        await rmdir(dir);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EBUSY') break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

describe('restart policies (pure decision)', () => {
  test('on-failure restarts a failure until the retry count is used up', () => {
    const policy = { name: 'on-failure' as const, maximumRetryCount: 2 };
    expect(shouldRestart(policy, 1, 0, false)).toBe(true);
    expect(shouldRestart(policy, 1, 2, false)).toBe(false);
    expect(shouldRestart(policy, 0, 0, false)).toBe(false);
  });

  test('always and unless-stopped restart any exit, but never after a user stop', () => {
    for (const name of ['always', 'unless-stopped'] as const) {
      expect(shouldRestart({ name, maximumRetryCount: 0 }, 0, 5, false)).toBe(true);
      expect(shouldRestart({ name, maximumRetryCount: 0 }, 0, 0, true)).toBe(false);
    }
    expect(shouldRestart({ name: 'no', maximumRetryCount: 0 }, 1, 0, false)).toBe(false);
  });
});

describe('restart monitor and recovery (runc, conmon)', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
    await t.engine.startMonitor({ scanIntervalMs: 200 });
  });
  afterAll(async () => {
    await t?.engine.close();
    await t?.cleanup();
  });

  test('on-failure:2 restarts a failing container twice, then leaves it exited', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', restart: 'on-failure:2', cmd: ['sh', '-c', 'exit 3'], detach: true });
    const done = await eventually(() => t.engine.inspect(id), (c) => c.RestartCount === 2 && !c.State.Running && !c.State.Restarting && c.State.ExitCode === 3);
    expect(done).toMatchObject({ RestartCount: 2, State: { Status: 'exited', ExitCode: 3 } });
    await t.engine.remove(id);
  });

  test('always restarts a container that exits 0; a user stop is final', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', restart: 'always', cmd: ['sh', '-c', 'sleep 0.3'], detach: true });
    const restarted = await eventually(() => t.engine.inspect(id), (c) => c.RestartCount >= 1 && c.State.Running);
    expect(restarted.RestartCount).toBeGreaterThanOrEqual(1);
    await t.engine.stop(id, { timeout: 0 });
    const count = (await t.engine.inspect(id)).RestartCount;
    await new Promise((r) => setTimeout(r, 1000));
    expect(await t.engine.inspect(id)).toMatchObject({ RestartCount: count, State: { Running: false } });
    await t.engine.remove(id, { force: true });
  });

  test('a container without a policy is not restarted', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sh', '-c', 'exit 1'], detach: true });
    await t.engine.wait(id);
    await new Promise((r) => setTimeout(r, 800));
    expect(await t.engine.inspect(id)).toMatchObject({ RestartCount: 0, State: { Status: 'exited', ExitCode: 1 } });
    await t.engine.remove(id);
  });

  test('a detached auto-remove container is removed by the monitor when it exits', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', autoRemove: true, cmd: ['true'], detach: true });
    const ids = await eventually(async () => (await t.engine.ps({ all: true })).map((c) => c.Id), (list) => !list.includes(id));
    expect(ids).not.toContain(id);
  });

  test('a container waiting out its restart backoff shows as restarting, and rm -f ends it for good', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', restart: 'always', cmd: ['sh', '-c', 'exit 1'], detach: true });
    // Each quick failure doubles the wait (100 ms, 200 ms, …): soon it is caught waiting.
    const waiting = await eventually(() => t.engine.inspect(id), (c) => c.State.Restarting);
    expect(waiting.State).toMatchObject({ Status: 'restarting', Restarting: true, Running: true, ExitCode: 1 });
    const listed = (await t.engine.ps({ all: true })).find((c) => c.Id === id);
    expect(listed?.State).toBe('restarting');
    expect(listed?.Status).toMatch(/^Restarting \(1\) /);
    await t.engine.remove(id, { force: true });
    await new Promise((r) => setTimeout(r, 1000));
    await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(id);
  });

  test('the monitor emits die with the exit code', async () => {
    const since = Date.now() / 1000;
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', restart: 'on-failure:1', cmd: ['sh', '-c', 'exit 7'], detach: true });
    await eventually(() => t.engine.inspect(id), (c) => c.RestartCount === 1 && !c.State.Running && !c.State.Restarting);
    const events = [];
    for await (const e of t.engine.events({ since, until: Date.now() / 1000 + 0.5, filters: { container: [id], event: ['die'] } })) events.push(e);
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]?.Actor.Attributes.exitCode).toBe('7');
    await t.engine.remove(id);
  });
});

describe('recovery after the run directory is lost (a reboot)', () => {
  let root: string;
  let engine: Engine | undefined;
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
    root = t.root;
  });
  afterAll(async () => {
    await engine?.close();
    for (const c of await (engine ?? t.engine).ps({ all: true }).catch(() => [])) await (engine ?? t.engine).remove(c.Id, { force: true }).catch(() => undefined);
    await t?.cleanup();
  });

  test('always and unless-stopped containers that were running start again; others stay exited', async () => {
    const always = await t.engine.run({ image: 'busybox', network: 'none', restart: 'always', cmd: ['sleep', '300'], detach: true });
    const unless = await t.engine.run({ image: 'busybox', network: 'none', restart: 'unless-stopped', cmd: ['sleep', '300'], detach: true });
    const plain = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '300'], detach: true });
    const stopped = await t.engine.run({ image: 'busybox', network: 'none', restart: 'unless-stopped', cmd: ['sleep', '300'], detach: true });
    await t.engine.stop(stopped.id, { timeout: 0 });
    // The "reboot": every process gone (killed by the PIDs we started), /run wiped, mounts gone.
    for (const { id } of [always, unless, plain]) {
      const pid = (await t.engine.inspect(id)).State.Pid;
      const conmon = Number(await readFile(join(root, 'containers', id, 'conmon.pid'), 'utf8'));
      process.kill(conmon, 'SIGKILL');
      process.kill(pid, 'SIGKILL');
    }
    for (const { id } of [always, unless, plain, stopped]) {
      await promisify(execFile)('umount', [join(root, 'engine', 'rootfs', id)]).catch(() => undefined);
      await promisify(execFile)('umount', [join(t.runRoot, 'netns', id)]).catch(() => undefined);
      await removeCgroups(id);
    }
    await rm(t.runRoot, { recursive: true, force: true });
    await mkdir(t.runRoot);

    engine = new Engine({ root, runRoot: t.runRoot });
    const recovered = await engine.recover();
    expect(recovered.restarted.sort()).toEqual([always.id, unless.id].sort());
    expect((await engine.inspect(always.id)).State.Running).toBe(true);
    expect((await engine.inspect(unless.id)).State.Running).toBe(true);
    expect((await engine.inspect(plain.id)).State.Running).toBe(false);
    expect((await engine.inspect(stopped.id)).State.Running).toBe(false);
  });
});

describe('recovery of auto-remove containers', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('--rm containers that are not running are removed, created or exited, as dockerd does at its start', async () => {
    const created = await t.engine.create({ image: 'busybox', network: 'none', cmd: ['true'], autoRemove: true });
    const exited = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['true'], autoRemove: true, detach: true });
    await t.engine.wait(exited.id);
    const running = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '300'], autoRemove: true, detach: true });
    const { removed } = await t.engine.recover();
    expect(removed.sort()).toEqual([created.id, exited.id].sort());
    expect((await t.engine.inspect(running.id)).State.Running).toBe(true);
    await t.engine.remove(running.id, { force: true });
  });
});
