import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@ctr/store';
import { childBuild, mountsUnder, testEngine, type TestEngine } from './fixture';

/** A child Node process with its own Engine on the same root, building the context in argv[3]; it says `running` once its RUN step has started. */
const builder = `
const { Engine } = require(${JSON.stringify(require.resolve('@ctr/engine').replace(/src(\/index\.ts)?$/, 'dist'))});
const engine = new Engine({ root: process.argv[1], runRoot: process.argv[2] });
engine.build({ context: process.argv[3], noCache: true, onEvent: (e) => { if (e.type === 'output' && String(e.data).includes('running')) process.stdout.write('running\\n'); } })
  .then(({ id }) => process.stdout.write('built ' + id + '\\n'))
  .catch((e) => { process.stdout.write('failed ' + (e && e.message) + '\\n'); process.exit(1); });
`;

/** A build step's snapshot and runc container are named by the step container's ID (no other container runs here). */
const BUILD_STEP = /^[0-9a-f]{64}$/;

describe('a build whose process is killed', () => {
  let t: TestEngine;
  let context: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    t = await testEngine();
    context = await mkdtemp(join(tmpdir(), 'ctr-build-scratch-'));
  });
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await t?.cleanup();
  });

  const scratch = (): string => join(t.root, 'engine', 'tmp');
  const buildSnapshots = async (): Promise<string[]> => {
    const keys: string[] = [];
    for await (const info of (await openStore({ root: t.root })).snapshots.walk()) if (BUILD_STEP.test(info.name)) keys.push(info.name);
    return keys;
  };
  const runcContainers = (): string[] => readdirSync(join(t.runRoot, 'runc')).filter((name) => BUILD_STEP.test(name));

  /** Start a child build of `run` and resolve once its RUN step runs; `done` settles with its last line. */
  async function build(run: string): Promise<{ child: ChildProcess; done: Promise<string> }> {
    await writeFile(join(context, 'Dockerfile'), `FROM busybox\nRUN echo running; ${run}\n`);
    return childBuild(builder, [t.root, t.runRoot, context], children);
  }

  test('leaves its step mounted and running until the next build clears it', async () => {
    const { child, done } = await build('sleep 60');
    child.kill('SIGKILL');
    await done;
    expect(await mountsUnder(scratch())).toHaveLength(1);
    expect(await buildSnapshots()).toHaveLength(1);
    expect(runcContainers()).toHaveLength(1);

    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN true\n');
    await t.engine.build({ context, noCache: true });
    expect(await mountsUnder(scratch())).toEqual([]);
    expect(await buildSnapshots()).toEqual([]);
    expect(runcContainers()).toEqual([]);
    expect(readdirSync(scratch())).toEqual([]);
  });

  test('image prune clears what it left, so that its layers can be collected', async () => {
    const { child, done } = await build('sleep 60');
    child.kill('SIGKILL');
    await done;
    await t.engine.pruneImages();
    expect(await mountsUnder(scratch())).toEqual([]);
    expect(await buildSnapshots()).toEqual([]);
    expect(runcContainers()).toEqual([]);
    expect(existsSync(scratch()) ? readdirSync(scratch()) : []).toEqual([]);
  });

  test('a build still running in another process is left alone by a prune', async () => {
    const { done } = await build('sleep 2');
    await t.engine.pruneImages();
    expect(await mountsUnder(scratch())).toHaveLength(1);
    expect(await done).toMatch(/^built sha256:[0-9a-f]{64}$/);
    expect(await mountsUnder(scratch())).toEqual([]);
  });
});
