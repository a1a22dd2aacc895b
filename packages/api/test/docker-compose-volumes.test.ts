import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, dockerCompose, useTestDaemon, type Run } from './fixture';

const t = useTestDaemon();
let project: string;
let hostData: string;

/** A service that appends its GREETING to a file on a named volume (a host directory bound by driver_opts), then waits. */
async function writeProject(greeting: string): Promise<void> {
  await writeFile(
    join(project, 'docker-compose.yml'),
    [
      'version: "3.8"',
      'services:',
      '  app:',
      '    image: busybox',
      '    command: ["sh", "-c", "echo $$GREETING >> /data/log; sleep 300"]',
      '    environment:',
      `      - GREETING=${greeting}`,
      '    volumes:',
      '      - data:/data',
      'volumes:',
      '  data:',
      '    driver_opts:',
      '      type: none',
      '      o: bind',
      `      device: ${hostData}`,
      '',
    ].join('\n'),
  );
}

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'ctr-api-compose-volumes-'));
  hostData = await mkdtemp(join(tmpdir(), 'ctr-api-compose-data-'));
  await writeProject('hello');
});
afterAll(async () => {
  await compose(['down', '-v', '-t', '0']).catch(() => undefined);
  if (project) await rm(project, { recursive: true, force: true });
  if (hostData) await rm(hostData, { recursive: true, force: true });
});
function compose(args: string[]): Promise<Run> {
  return dockerCompose(t.env, project, 'ctrvol', args);
}
async function dataLog(): Promise<string> {
  return (await compose(['exec', '-T', 'app', 'cat', '/data/log'])).stdout;
}

test('docker-compose 1.29 starts a service with a named volume mounted, bound to the host directory its driver_opts name', async () => {
  const up = await compose(['up', '-d']);
  expect(up.stderr).toMatch(/Creating ctrvol_app_1 \.\.\. done/);
  expect(up.code).toBe(0);
  const mounts = await docker(t.env, ['inspect', '--format', '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}', 'ctrvol_app_1']);
  expect(mounts.stdout.trim()).toBe('volume ctrvol_data /data');
  expect(await dataLog()).toBe('hello\n');
  expect(await readFile(join(hostData, 'log'), 'utf8')).toBe('hello\n');
}, 120_000);

test('docker-compose 1.29 finds an unchanged project up to date, its network included', async () => {
  const up = await compose(['up', '-d']);
  expect(up.stderr).toContain('ctrvol_app_1 is up-to-date');
  expect(up.code).toBe(0);
  expect((await docker(t.env, ['network', 'inspect', '--format', '{{json .Options}}', 'ctrvol_default'])).stdout.trim()).toBe('{}');
}, 120_000);

test('docker-compose 1.29 recreates a changed service, and the named volume keeps its data', async () => {
  await writeProject('again');
  // -t 1: the old container's shell ignores SIGTERM, as a PID 1 does.
  const up = await compose(['up', '-d', '-t', '1']);
  expect(up.stderr).toMatch(/Recreating ctrvol_app_1 \.\.\. done/);
  expect(up.code).toBe(0);
  expect(await dataLog()).toBe('hello\nagain\n');
  expect((await docker(t.env, ['ps', '-a', '--format', '{{.Names}}'])).stdout.trim()).toBe('ctrvol_app_1');
}, 120_000);

test('docker-compose 1.29 down -v removes the containers, the network and the named volume, and leaves the host directory as it was', async () => {
  const down = await compose(['down', '-v', '-t', '0']);
  expect(down.code).toBe(0);
  expect((await docker(t.env, ['ps', '-aq'])).stdout).toBe('');
  expect((await docker(t.env, ['network', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain('ctrvol_default');
  expect((await docker(t.env, ['volume', 'ls', '-q'])).stdout).not.toContain('ctrvol_data');
  expect(await readFile(join(hostData, 'log'), 'utf8')).toBe('hello\nagain\n');
}, 120_000);
