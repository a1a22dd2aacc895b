import { testEngine, type TestEngine } from './fixture';

describe('docker top and stats from the container cgroups (runc, cgroup v1)', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('top lists the container processes with ps -ef titles', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sh', '-c', 'sleep 61 & exec sleep 62'], detach: true });
    // The shell forks and execs just after start: wait until it has (bounded).
    let result = await t.engine.top(id);
    const settled = (): boolean => ['sleep 61', 'sleep 62'].every((c) => result.Processes.some((p) => p[7] === c));
    for (let i = 0; i < 50 && !settled(); i++) {
      await new Promise((r) => setTimeout(r, 100));
      result = await t.engine.top(id);
    }
    expect(result.Titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    const commands = result.Processes.map((p) => p[7]);
    expect(commands).toEqual(expect.arrayContaining(['sleep 61', 'sleep 62']));
    expect(commands).toHaveLength(2);
    await t.engine.remove(id, { force: true });
  });

  test('top takes ps options, and needs a PID column', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '60'], detach: true });
    const result = await t.engine.top(id, '-o pid,comm');
    expect(result).toEqual({ Titles: ['PID', 'COMMAND'], Processes: [[expect.stringMatching(/^\d+$/), 'sleep']] });
    await expect(t.engine.top(id, '-o comm')).rejects.toMatchObject({ code: 'InvalidArgument', message: "Couldn't find PID field in ps output" });
    await t.engine.remove(id, { force: true });
  });

  test('options ps refuses fail with ps: and the first line of what ps said, as dockerd answers', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '60'], detach: true });
    await expect(t.engine.top(id, '--bogus')).rejects.toMatchObject({ code: 'Internal', message: 'ps: error: unknown gnu long option' });
    await t.engine.remove(id, { force: true });
  });

  test('top of a stopped container is a Conflict; of an unknown one NotFound', async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none' });
    await expect(t.engine.top(id)).rejects.toMatchObject({ code: 'Conflict', message: `Container ${id} is not running` });
    await expect(t.engine.top('no-such-thing')).rejects.toMatchObject({ code: 'NotFound' });
    await t.engine.remove(id);
  });

  test('stats reports cpu, memory with the limit set, and pids in Docker shape', async () => {
    const { id, name } = await t.engine.run({ image: 'busybox', network: 'none', memory: '64m', pidsLimit: 50, cmd: ['sh', '-c', 'while :; do :; done'], detach: true });
    const samples = [];
    for await (const s of t.engine.stats(id, { intervalMs: 300 })) samples.push(s);
    expect(samples).toHaveLength(1);
    const s = samples[0]!;
    expect(s).toMatchObject({ id, name: `/${name}`, pids_stats: { current: 1, limit: 50 }, memory_stats: { limit: 64 * 1024 * 1024 } });
    expect(s.memory_stats.usage).toBeGreaterThan(0);
    expect(s.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(s.precpu_stats.cpu_usage.total_usage);
    expect(s.cpu_stats.system_cpu_usage).toBeGreaterThan(s.precpu_stats.system_cpu_usage);
    expect(s.cpu_stats.online_cpus).toBeGreaterThan(0);
    await t.engine.remove(id, { force: true });
  });

  test('streaming stats yields a sample per interval until aborted', async () => {
    const { id } = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['sleep', '60'], detach: true });
    const ac = new AbortController();
    const reads: string[] = [];
    for await (const s of t.engine.stats(id, { stream: true, intervalMs: 100, signal: ac.signal })) {
      reads.push(s.read);
      if (reads.length === 3) ac.abort();
    }
    expect(reads).toHaveLength(3);
    expect(new Set(reads).size).toBe(3);
    await t.engine.remove(id, { force: true });
  });

  test('stats of a container that is not running are zeros', async () => {
    const { id } = await t.engine.create({ image: 'busybox', network: 'none' });
    const [s] = await (async () => {
      const out = [];
      for await (const x of t.engine.stats(id, { oneShot: true })) out.push(x);
      return out;
    })();
    expect(s).toMatchObject({ pids_stats: { current: 0 }, memory_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0 } } });
    await t.engine.remove(id);
  });
});
