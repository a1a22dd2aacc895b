import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, dockerCompose, useTestDaemon } from './fixture';

/**
 * `docker events` against ctrd (GET /events) as the real docker CLI and docker-compose 1.29 use
 * it, and the restarting state they act on: compose filters events by its project's labels,
 * follows a service's restarts by its die and start events, and stops what `ps` lists.
 */
const t = useTestDaemon();

const seconds = (): string => String(Date.now() / 1000);
const later = (): string => String(Math.ceil(Date.now() / 1000) + 1);

/** Poll `docker inspect --format` until it prints `wanted` (or give up after ~15 s). */
async function inspectUntil(name: string, format: string, wanted: RegExp): Promise<string> {
  let out = '';
  for (let i = 0; i < 150; i++) {
    out = (await docker(t.env, ['inspect', '--format', format, name])).stdout.trim();
    if (wanted.test(out)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return out;
}

test('docker events with two label filters gives the events of containers that carry both', async () => {
  const since = seconds();
  await docker(t.env, ['run', '--pull', 'never', '--network', 'none', '--name', 'ev-both', '--label', 'proj=p', '--label', 'oneoff=False', 'busybox', 'true']);
  await docker(t.env, ['run', '--pull', 'never', '--network', 'none', '--name', 'ev-one', '--label', 'proj=p', 'busybox', 'true']);
  const events = await docker(t.env, ['events', '--since', since, '--until', later(), '--filter', 'label=proj=p', '--filter', 'label=oneoff=False', '--format', '{{.Actor.Attributes.name}} {{.Action}}']);
  expect(events.stdout.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['ev-both create', 'ev-both start', 'ev-both die']));
  expect(events.stdout).not.toContain('ev-one');
  await docker(t.env, ['rm', 'ev-both', 'ev-one']);
});

test('docker stop of a container in its restart wait leaves it exited, with a stop event', async () => {
  await docker(t.env, ['run', '-d', '--pull', 'never', '--network', 'none', '--restart', 'always', '--name', 'ev-looping', 'busybox', 'sh', '-c', 'sleep 0.2; exit 1']);
  expect(await inspectUntil('ev-looping', '{{.State.Status}} {{.State.Running}}', /^restarting true$/)).toBe('restarting true');
  const since = seconds();
  expect((await docker(t.env, ['stop', 'ev-looping'])).code).toBe(0);
  const count = await inspectUntil('ev-looping', '{{.RestartCount}}', /./);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect((await docker(t.env, ['inspect', '--format', '{{.State.Status}} {{.RestartCount}}', 'ev-looping'])).stdout.trim()).toBe(`exited ${count}`);
  const stopped = await docker(t.env, ['events', '--since', since, '--until', later(), '--filter', 'container=ev-looping', '--filter', 'event=stop', '--format', '{{.Action}}']);
  expect(stopped.stdout).toBe('stop\n');
  await docker(t.env, ['rm', 'ev-looping']);
});

test('docker events with --since after --until is refused in dockerd\'s words, not followed forever', async () => {
  const refused = await docker(t.env, ['events', '--since', '2099-01-01T00:00:00Z', '--until', '2098-01-01T00:00:00Z']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe('Error response from daemon: `since` time (4070908800.000000000) cannot be after `until` time (4039372800.000000000)\n');
});

test('docker exec has exec_create, exec_start and exec_die events naming one exec ID', async () => {
  await docker(t.env, ['run', '-d', '--pull', 'never', '--network', 'none', '--name', 'ev-exec', 'busybox', 'sleep', '300']);
  const since = seconds();
  expect((await docker(t.env, ['exec', 'ev-exec', 'sh', '-c', 'exit 4'])).code).toBe(4);
  const events = await docker(t.env, ['events', '--since', since, '--until', later(), '--filter', 'container=ev-exec', '--format', '{{.Action}}|{{.Actor.Attributes.execID}}|{{.Actor.Attributes.exitCode}}']);
  const lines = events.stdout.split('\n').filter(Boolean).map((line) => line.split('|'));
  expect(lines.map(([action]) => action)).toEqual(['exec_create: sh -c exit 4', 'exec_start: sh -c exit 4', 'exec_die']);
  expect(new Set(lines.map(([, execId]) => execId)).size).toBe(1);
  expect(lines[2]?.[2]).toBe('4');
  await docker(t.env, ['rm', '-f', 'ev-exec']);
});

test('docker restart reports the stop, the start, and then restart', async () => {
  expect((await docker(t.env, ['run', '-d', '--pull', 'never', '--network', 'none', '--name', 'ev-restart', 'busybox', 'sleep', '300'])).code).toBe(0);
  const since = seconds();
  expect((await docker(t.env, ['restart', '-t', '0', 'ev-restart'])).code).toBe(0);
  const events = await docker(t.env, ['events', '--since', since, '--until', later(), '--filter', 'container=ev-restart', '--format', '{{.Action}}']);
  const actions = events.stdout.split('\n').filter(Boolean);
  expect(actions.slice(-3)).toEqual(['stop', 'start', 'restart']);
  expect(actions).toContain('die');
  await docker(t.env, ['rm', '-f', 'ev-restart']);
});

describe('docker-compose 1.29', () => {
  let project: string;
  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'ctr-api-events-compose-'));
    await writeFile(
      join(project, 'docker-compose.yml'),
      [
        'version: "2.4"',
        'services:',
        '  flaky:',
        '    image: busybox',
        '    network_mode: none',
        '    restart: always',
        '    command: ["sh", "-c", "sleep 0.5; echo run-$$(cat /proc/uptime); sleep 0.5; exit 1"]',
        '  steady:',
        '    image: busybox',
        '    network_mode: none',
        '    command: ["sleep", "300"]',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await dockerCompose(t.env, project, 'ctrev', ['down', '-t', '0']);
    await rm(project, { recursive: true, force: true });
  });

  test('logs -f follows a restart: always service across its restarts', async () => {
    expect((await dockerCompose(t.env, project, 'ctrev', ['up', '-d'])).code).toBe(0);
    // Followed until it has shown what is asked (restarts are slow on a busy machine; ~20 s at most), then ended.
    const follower = spawn('docker-compose', ['-p', 'ctrev', 'logs', '-f', '--no-color', 'flaky', 'steady'], { env: t.env, cwd: project, stdio: ['ignore', 'pipe', 'ignore'] });
    let shown = '';
    follower.stdout.on('data', (chunk: Buffer) => (shown += chunk.toString()));
    const ended = new Promise((resolve) => follower.once('close', resolve));
    const runs = (): Set<string> => new Set(shown.split('\n').filter((line) => line.includes('run-')));
    // One line per run it followed to its end: after the first, each is a run it re-attached to on
    // the start event that followed a die (events it asked for by the project's labels).
    const followed = (): string[] => shown.split('\n').filter((line) => line === 'ctrev_flaky_1 exited with code 1');
    for (let i = 0; i < 400 && (runs().size < 3 || followed().length < 2); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    follower.kill();
    await ended;
    expect(runs().size).toBeGreaterThanOrEqual(3);
    expect(followed().length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  test('down stops and removes a crash-looping service', async () => {
    expect((await dockerCompose(t.env, project, 'ctrev', ['up', '-d'])).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const down = await dockerCompose(t.env, project, 'ctrev', ['down', '-t', '1']);
    expect(down.stderr).not.toMatch(/error/i);
    expect(down.code).toBe(0);
    expect((await docker(t.env, ['ps', '-aq'])).stdout).toBe('');
  }, 60_000);
});
