/**
 * `--health-start-interval` (Docker 25+) without a daemon: the timer a start leaves behind
 * probes every start interval while the container is starting within its start period, and
 * every interval once it is healthy. Intervals here are a minute, start intervals a fifth of
 * a second: counts tell which ran.
 */
import { localCtr, type LocalCtr } from './local-ctr';

let local: LocalCtr;
const ctr = (...args: string[]): ReturnType<LocalCtr['run']> => local.run(...args);

beforeAll(async () => {
  local = await localCtr('health-start');
});

afterAll(async () => {
  await local?.cleanup();
});

interface Health {
  Status: string;
  Log: unknown[];
}

async function health(name: string): Promise<Health> {
  return JSON.parse((await ctr('inspect', '--format', '{{json .State.Health}}', name)).stdout) as Health;
}

/** Ask until `check` holds (the probes run in the timer's own processes); the last value after ~15 s. */
async function eventually(name: string, check: (h: Health) => boolean): Promise<Health> {
  let value = await health(name);
  for (let i = 0; i < 150 && !check(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await health(name);
  }
  return value;
}

function runChecked(name: string, cmd: string): ReturnType<LocalCtr['run']> {
  return ctr(
    'run', '-d', '--pull', 'never', '--network', 'none', '--name', name,
    '--health-cmd', cmd, '--health-interval', '1m', '--health-start-period', '1m', '--health-start-interval', '200ms',
    'busybox', 'sleep', '60',
  );
}

test('--health-start-interval is the check\'s StartInterval, in nanoseconds', async () => {
  expect((await runChecked('hsi-config', 'true')).code).toBe(0);
  expect((await ctr('inspect', '--format', '{{.Config.Healthcheck.StartInterval}}', 'hsi-config')).stdout).toBe('200000000\n');
});

test('while starting within the start period, the timer probes every start interval', async () => {
  expect((await runChecked('hsi-starting', 'false')).code).toBe(0);
  const seen = await eventually('hsi-starting', (h) => h.Log.length >= 3);
  expect(seen.Status).toBe('starting');
  expect(seen.Log.length).toBeGreaterThanOrEqual(3);
});

test('once healthy, the timer probes every interval again', async () => {
  expect((await runChecked('hsi-healthy', 'true')).code).toBe(0);
  expect((await eventually('hsi-healthy', (h) => h.Status === 'healthy')).Status).toBe('healthy');
  // Five start intervals' wait: at the start interval, several more probes would have run.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect((await health('hsi-healthy')).Log).toHaveLength(1);
});
