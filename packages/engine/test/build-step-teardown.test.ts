import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '@ctr/store';
import { testEngine, type TestEngine } from './fixture';

const exec = promisify(execFile);
/** A build step's snapshot, mount point and runc container are named by its container's ID. */
const BUILD_STEP = /^[0-9a-f]{64}$/;

describe('a build step that will not come apart', () => {
  let t: TestEngine;
  let context: string;
  let frozen: string | undefined;
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-step-teardown-'));
  });
  afterEach(async () => {
    if (frozen) await exec('chattr', ['-i', frozen]);
    frozen = undefined;
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await t?.cleanup();
  });

  const scratch = (): string => join(t.root, 'engine', 'tmp');
  const steps = (): string[] => (existsSync(scratch()) ? readdirSync(scratch()) : []).flatMap((dir) => (dir.endsWith('.lock') ? [] : readdirSync(join(scratch(), dir)).filter((name) => BUILD_STEP.test(name))));
  const buildSnapshots = async (): Promise<string[]> => {
    const keys: string[] = [];
    for await (const info of (await openStore({ root: t.root })).snapshots.walk()) if (BUILD_STEP.test(info.name)) keys.push(info.name);
    return keys;
  };

  /**
   * A build whose RUN step, once it runs, finds the snapshot table unwritable (the directory made
   * immutable, as a full disk leaves it), and then fails with exit code 3 on a SIGTERM. With
   * `--force-rm`: a failed step's container is not kept as one of the engine's.
   */
  async function buildWithStuckTeardown(): Promise<unknown> {
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN trap "exit 3" TERM; echo running; while true; do sleep 0.1; done\n');
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    const build = t.engine.build({ context, noCache: true, forceRemove: true, network: 'none', onEvent: (e) => e.type === 'output' && String(e.data).includes('running') && running() });
    const failed = build.then(() => undefined, (error: unknown) => error);
    // A build that ends before its step prints fails the test at once, not at jest's timeout.
    await Promise.race([started, failed.then((error) => Promise.reject(new Error(`the build ended before its step ran: ${String(error)}`)))]);
    const [step] = steps();
    frozen = join(t.root, 'snapshots');
    await exec('chattr', ['+i', frozen]);
    const { stdout } = await exec('runc', ['--root', join(t.runRoot, 'runc'), 'state', step as string]);
    process.kill((JSON.parse(stdout) as { pid: number }).pid, 'SIGTERM');
    return failed;
  }

  test('fails with the step\'s error, not the teardown\'s', async () => {
    const error = await buildWithStuckTeardown();
    expect((error as Error).message).toMatch(/returned a non-zero code: 3/);
  });

  test('is left where a sweep finds it, and the next system prune clears it', async () => {
    await buildWithStuckTeardown();
    expect(steps()).toHaveLength(1);
    expect(await buildSnapshots()).toHaveLength(1);
    await exec('chattr', ['-i', frozen as string]);
    frozen = undefined;
    await t.engine.prune();
    expect(steps()).toEqual([]);
    expect(await buildSnapshots()).toEqual([]);
    expect(readdirSync(scratch())).toEqual([]);
  });
});
