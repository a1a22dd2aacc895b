import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collector, testEngine, type TestEngine } from './fixture';

describe("engine.build's step options: what every RUN step's container gets", () => {
  let t: TestEngine;
  let context: string;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-build-steps-'));
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await t?.cleanup();
  });

  /** Build a Dockerfile whose RUN step writes what it sees to /seen, and read that file back from the image. */
  async function seenBy(run: string, steps: Parameters<TestEngine['engine']['build']>[0]['steps']): Promise<string> {
    await writeFile(join(context, 'Dockerfile'), `FROM busybox\nRUN { ${run}; } > /seen\n`);
    const { id } = await t.engine.build({ context, noCache: true, ...(steps ? { steps } : {}) });
    const stdout = collector();
    await t.engine.run({ image: id, cmd: ['cat', '/seen'], network: 'none', autoRemove: true, stdout });
    return stdout.text();
  }

  test('--add-host entries are in the step\'s /etc/hosts', async () => {
    expect(await seenBy('grep registry.test /etc/hosts', { extraHosts: ['registry.test:127.0.0.9'] })).toBe('127.0.0.9\tregistry.test\n');
  });

  test('memory, shm size and ulimits bound the step', async () => {
    const seen = await seenBy('cat /sys/fs/cgroup/memory/memory.limit_in_bytes; df -k /dev/shm | tail -1 | awk \'{print $2}\'; ulimit -Sn', {
      memory: '96m',
      shmSize: '4m',
      ulimits: [{ name: 'nofile', soft: 321, hard: 654 }],
    });
    expect(seen).toBe(`${96 * 1024 * 1024}\n4096\n321\n`);
  });

  test('without step options a step runs with no limit of its own', async () => {
    expect(await seenBy('grep -c registry.test /etc/hosts || true', undefined)).toBe('0\n');
  });
});
