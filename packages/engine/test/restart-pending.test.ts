import { Engine } from '@ctr/engine';
import { eventually, testEngine, type TestEngine } from './fixture';

/**
 * dockerd marks a container restarting in the step that sees its exit, so docker-compose never
 * finds one exited between a run and its restart. Daemonless, the exit's observer (conmon's exit
 * command, a monitor) comes a moment later: until it answers, a container whose policy will
 * start it again shows restarting from its exit on. Here the exit command does nothing, so the
 * state in that moment stays to be looked at.
 */
let t: TestEngine;
let unanswered: Engine;
beforeAll(async () => {
  t = await testEngine();
  unanswered = new Engine({ root: t.root, runRoot: t.runRoot, exitCommand: ['/bin/true'] });
});
afterAll(async () => {
  await unanswered?.close();
  await t?.cleanup();
});

async function exited(engine: Engine, restart: string, cmd: string[]): Promise<string> {
  const { id } = await engine.run({ image: 'busybox', pull: 'never', network: 'none', restart, cmd, detach: true });
  await engine.wait(id);
  return id;
}

test('a container whose policy will start it again is restarting from its exit, before its exit is answered', async () => {
  const id = await exited(unanswered, 'always', ['sh', '-c', 'exit 3']);
  expect((await t.engine.inspect(id)).State).toMatchObject({ Status: 'restarting', Running: true, Restarting: true, ExitCode: 3 });
  expect((await t.engine.ps()).map((c) => c.Id)).toContain(id);
  await t.engine.remove(id, { force: true });
});

test('stop of a container whose exit is not yet answered leaves it exited', async () => {
  const id = await exited(unanswered, 'unless-stopped', ['true']);
  await t.engine.stop(id);
  expect((await t.engine.inspect(id)).State).toMatchObject({ Status: 'exited', Running: false, Restarting: false });
  await t.engine.remove(id);
});

test('an on-failure container that exits 0 is exited at once', async () => {
  const id = await exited(unanswered, 'on-failure', ['true']);
  expect((await t.engine.inspect(id)).State).toMatchObject({ Status: 'exited', Restarting: false });
  await t.engine.remove(id);
});

test('a container started where nobody answers its exit (no monitor, no exit command) shows exited', async () => {
  const id = await exited(t.engine, 'always', ['true']);
  expect((await t.engine.inspect(id)).State).toMatchObject({ Status: 'exited', Restarting: false });
  await t.engine.remove(id);
});

test("a monitor that starts after an exit whose answer is owed gives it: the container is started again", async () => {
  // Its first run exits; the run its restart gives keeps going.
  const id = await exited(unanswered, 'always', ['sh', '-c', '[ -e /ran ] && exec sleep 300; touch /ran; exit 1']);
  const watcher = new Engine({ root: t.root, runRoot: t.runRoot });
  try {
    await watcher.startMonitor({ scanIntervalMs: 200 });
    const restarted = await eventually(() => t.engine.inspect(id), (c) => c.State.Running && !c.State.Restarting);
    expect(restarted.RestartCount).toBe(1);
  } finally {
    await watcher.close();
  }
  await t.engine.remove(id, { force: true });
});
