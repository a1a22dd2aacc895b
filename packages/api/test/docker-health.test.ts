import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, dockerCompose, useTestDaemon } from './fixture';

/** Health checks through the daemon, as the docker CLI and docker-compose ask for them and read them. */
const t = useTestDaemon();

async function healthOf(name: string): Promise<string> {
  return (await docker(t.env, ['inspect', '--format', '{{.State.Health.Status}}', name])).stdout.trim();
}

test('docker run --health-cmd: the daemon probes the container, and inspect and ps show it healthy', async () => {
  const run = await docker(t.env, ['run', '-d', '--name', 'probed', '--health-cmd', 'true', '--health-interval', '200ms', '--network', 'none', 'busybox', 'sleep', '60']);
  expect(run.code).toBe(0);
  let health = await healthOf('probed');
  for (let i = 0; i < 100 && health !== 'healthy'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    health = await healthOf('probed');
  }
  expect(health).toBe('healthy');
  expect((await docker(t.env, ['ps', '--filter', 'health=healthy', '--format', '{{.Names}} {{.Status}}'])).stdout).toMatch(/^probed Up .* \(healthy\)\n$/);
  expect((await docker(t.env, ['inspect', '--format', '{{json .Config.Healthcheck}}', 'probed'])).stdout.trim()).toBe('{"Test":["CMD-SHELL","true"],"Interval":200000000}');
  await docker(t.env, ['rm', '-f', 'probed']);
});

test('docker-compose starts a service that depends on another being healthy once it is', async () => {
  const project = await mkdtemp(join(tmpdir(), 'ctr-api-health-'));
  try {
    await writeFile(
      join(project, 'docker-compose.yml'),
      [
        'version: "2.4"',
        'services:',
        '  db:',
        '    image: busybox',
        '    command: ["sh", "-c", "sleep 1; touch /tmp/ready; sleep 60"]',
        '    healthcheck:',
        '      test: ["CMD", "test", "-f", "/tmp/ready"]',
        '      interval: 300ms',
        '      retries: 20',
        '  app:',
        '    image: busybox',
        '    command: ["sleep", "60"]',
        '    depends_on:',
        '      db:',
        '        condition: service_healthy',
        '',
      ].join('\n'),
    );
    const up = await dockerCompose(t.env, project, 'ctrhealth', ['up', '-d']);
    expect(up.code).toBe(0);
    expect(await healthOf('ctrhealth_db_1')).toBe('healthy');
    expect((await docker(t.env, ['inspect', '--format', '{{.State.Status}}', 'ctrhealth_app_1'])).stdout.trim()).toBe('running');
    expect((await dockerCompose(t.env, project, 'ctrhealth', ['down', '-t', '1'])).code).toBe(0);
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}, 120_000);
