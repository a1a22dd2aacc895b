/**
 * `StartInterval` (`--health-start-interval`, Docker 25+), as moby's monitor uses it: within
 * the start period, while the container is still starting, probes come every StartInterval
 * instead of every Interval; once it is healthy (or the period is over), every Interval.
 * Intervals here are a minute, start intervals a fifth of a second: counts tell which ran.
 */
import { Engine } from '@ctr/engine';
import { eventually, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let monitor: Engine;
beforeAll(async () => {
  t = await testEngine();
  monitor = new Engine({ root: t.root, runRoot: t.runRoot });
  await monitor.startMonitor({ scanIntervalMs: 100 });
});
afterAll(async () => {
  await monitor?.close();
  await t?.cleanup();
});

const ms = 1e6;
const MINUTE = 60_000 * ms;

async function started(name: string, Test: string[]): Promise<string> {
  const healthcheck = { Test, Interval: MINUTE, StartPeriod: MINUTE, StartInterval: 200 * ms };
  const { id } = await t.engine.create({ image: 'busybox', name, cmd: ['sleep', '60'], network: 'none', pull: 'never', healthcheck });
  await t.engine.start(id);
  return id;
}

const health = async (id: string) => (await t.engine.inspect(id)).State.Health;

test('while starting within the start period, the monitor probes every StartInterval', async () => {
  const id = await started('hcsi-starting', ['CMD', 'false']);
  const seen = await eventually(
    () => health(id),
    (h) => (h?.Log.length ?? 0) >= 3,
  );
  expect(seen).toMatchObject({ Status: 'starting', FailingStreak: 0 });
  expect(seen?.Log.length).toBeGreaterThanOrEqual(3);
});

test('once healthy, the monitor probes every Interval again', async () => {
  const id = await started('hcsi-healthy', ['CMD', 'true']);
  await eventually(
    () => health(id),
    (h) => h?.Status === 'healthy',
  );
  // Five start intervals' wait: at the start interval, several more probes would have run.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect((await health(id))?.Log).toHaveLength(1);
});
