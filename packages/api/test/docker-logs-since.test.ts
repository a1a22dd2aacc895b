import { docker, useTestDaemon } from './fixture';

/**
 * `docker logs --since/--until` against ctrd with a time `docker logs -t` printed: the docker
 * CLI sends it as `<seconds>.<nanoseconds>`, and dockerd compares to the nanosecond, both
 * bounds inclusive, so the line at that time is in either answer.
 */
const t = useTestDaemon();

let lines: string[];
beforeAll(async () => {
  // A pause between the lines gives each its own time.
  const run = await docker(t.env, ['run', '--pull', 'never', '--network', 'none', '--name', 'logs-since', 'busybox', 'sh', '-c', 'echo a; sleep 0.1; echo b; sleep 0.1; echo c']);
  expect(run.code).toBe(0);
  lines = (await docker(t.env, ['logs', '-t', 'logs-since'])).stdout.split('\n').filter(Boolean);
});
afterAll(async () => {
  await docker(t.env, ['rm', 'logs-since']);
});

const timeOf = (line: string | undefined): string => (line ?? '').split(' ')[0] as string;

test('docker logs -t shows each time in UTC with nine digits of the fraction', () => {
  expect(lines).toEqual([expect.stringMatching(/^\S+T\S+\.\d{9}Z a$/), expect.stringMatching(/^\S+T\S+\.\d{9}Z b$/), expect.stringMatching(/^\S+T\S+\.\d{9}Z c$/)]);
});

test('docker logs --since a time logs -t printed includes the line at that time', async () => {
  expect((await docker(t.env, ['logs', '--since', timeOf(lines[1]), 'logs-since'])).stdout).toBe('b\nc\n');
});

test('docker logs --until a time logs -t printed includes the line at that time', async () => {
  expect((await docker(t.env, ['logs', '--until', timeOf(lines[1]), 'logs-since'])).stdout).toBe('a\nb\n');
});
