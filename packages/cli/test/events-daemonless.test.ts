import { eventually, localCtr, type LocalCtr } from './local-ctr';

/**
 * `ctr events` without a daemon: conmon's exit command (`ctr container cleanup`) reports every
 * detached container's exit, and `ctr stop` ends a restart policy's pending restart.
 */
let local: LocalCtr;
const ctr = (...args: string[]): ReturnType<LocalCtr['run']> => local.run(...args);

beforeAll(async () => {
  local = await localCtr('events');
});
afterAll(async () => {
  await local.cleanup();
});

const until = (): string => String(Math.ceil(Date.now() / 1000) + 1);

test('a detached container without a restart policy has its die event, found by its label', async () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  expect((await ctr('run', '-d', '--network', 'none', '--name', 'ev-plain', '--label', 'evproj=one', 'busybox', 'sh', '-c', 'exit 3')).code).toBe(0);
  const died = async (): Promise<string> =>
    (await ctr('events', '--since', since, '--until', until(), '--filter', 'event=die', '--filter', 'label=evproj=one', '--format', '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}')).stdout;
  expect(await eventually(async () => (await died()) !== '')).toBe(true);
  expect(await died()).toBe('ev-plain 3\n');
  await ctr('rm', 'ev-plain');
});

test('ctr stop of a container in its restart wait leaves it exited: the pending restart is cancelled', async () => {
  expect((await ctr('run', '-d', '--network', 'none', '--restart', 'always', '--name', 'ev-looping', 'busybox', 'sh', '-c', 'sleep 0.2; exit 1')).code).toBe(0);
  const restarting = async (): Promise<boolean> => (await ctr('inspect', '--format', '{{.State.Status}}', 'ev-looping')).stdout.trim() === 'restarting';
  expect(await eventually(restarting)).toBe(true);
  expect((await ctr('stop', 'ev-looping')).code).toBe(0);
  const count = (await ctr('inspect', '--format', '{{.RestartCount}}', 'ev-looping')).stdout.trim();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect((await ctr('inspect', '--format', '{{.State.Status}} {{.RestartCount}}', 'ev-looping')).stdout.trim()).toBe(`exited ${count}`);
  await ctr('rm', 'ev-looping');
});

test('ctr events prints each time to the nanosecond, all nine digits as docker does', async () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  await ctr('create', '--network', 'none', '--name', 'ev-timed', 'busybox');
  const events = await ctr('events', '--since', since, '--until', until(), '--filter', 'container=ev-timed');
  expect(events.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(?!\d{3}000000)\d{9}(Z|[+-]\d\d:\d\d) container create /);
  await ctr('rm', 'ev-timed');
});

test('ctr events --format printf "%d" .TimeNano prints the nanoseconds as the integer they are', async () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  await ctr('create', '--network', 'none', '--name', 'ev-nano', 'busybox');
  const end = until();
  const events = await ctr('events', '--since', since, '--until', end, '--filter', 'container=ev-nano', '--format', '{{printf "%d" .TimeNano}}');
  expect(events.stdout).toMatch(/^\d{19}\n$/);
  const nano = BigInt(events.stdout.trim());
  expect(nano >= BigInt(since) * 1_000_000_000n && nano <= BigInt(end) * 1_000_000_000n).toBe(true);
  await ctr('rm', 'ev-nano');
});

test('ctr events with --since after --until is refused, in dockerd\'s words', async () => {
  const refused = await ctr('events', '--since', '4070908800', '--until', '4039372800');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('`since` time (4070908800.000000000) cannot be after `until` time (4039372800.000000000)');
});
