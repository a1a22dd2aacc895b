/**
 * A start while the container's removal is under way (`claimRemoval`) is refused, as moby's
 * start refuses a container whose removal is in progress, and leaves the container as it was:
 * not running, its root filesystem unmounted, no start failure recorded against it.
 */
import { execFileSync } from 'node:child_process';
import { claimRemoval } from '../src/container-root';
import type { EngineContext } from '../src/context';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

/** The engine's context, as its containers see it. */
async function context(): Promise<EngineContext> {
  return (await (t.engine as unknown as { ready(): Promise<{ ctx: EngineContext }> }).ready()).ctx;
}

const mounted = (dir: string): boolean => execFileSync('findmnt', ['-rno', 'TARGET'], { encoding: 'utf8' }).split('\n').includes(dir);

test('a start during a removal is a Conflict that says the container is marked for removal, and nothing starts', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['sleep', '300'] });
  const { Name, GraphDriver } = await t.engine.inspect(id);
  const claim = (await claimRemoval(await context(), id))!;
  try {
    await expect(t.engine.start(id)).rejects.toMatchObject({ code: 'Conflict', message: `container ${Name.replace(/^\//, '')} is marked for removal and cannot be started` });
  } finally {
    claim.cancel();
  }
  const { State } = await t.engine.inspect(id);
  expect(State).toMatchObject({ Status: 'created', Running: false, ExitCode: 0, Error: '' });
  expect(mounted(GraphDriver.Data.MergedDir!)).toBe(false);
  await t.engine.remove(id);
});
