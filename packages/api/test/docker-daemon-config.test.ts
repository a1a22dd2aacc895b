/** ctrd started with `--config-file`: what the file sets is what `docker info` and `docker run` see, and SIGHUP reloads it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { NetworkManager } from '@ctr/network';
import { docker } from './fixture';

const CTRD = join(__dirname, '..', 'bin', 'ctrd.js');

let work: string;
let configFile: string;
let env: NodeJS.ProcessEnv;
let child: ChildProcess;
let output = '';

const CONFIG = {
  labels: ['stage=test'],
  debug: true,
  'log-driver': 'local',
  'default-ulimits': { nofile: { Name: 'nofile', Soft: 1111, Hard: 2222 } },
  'registry-mirrors': ['http://127.0.0.1:5999'],
  'insecure-registries': ['127.0.0.1:5998'],
  experimental: true,
};

async function waitFor(test: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !test(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!test()) throw new Error(`${what} did not happen: ${output}`);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-daemon-config-'));
  const root = join(work, 'root');
  const runRoot = join(work, 'run');
  const engine = new Engine({ root, runRoot });
  await engine.importBusybox();
  await engine.close();
  configFile = join(work, 'daemon.json');
  await writeFile(configFile, JSON.stringify({ ...CONFIG, hosts: [`unix://${join(work, 'ctr.sock')}`], 'data-root': root, 'exec-root': runRoot }));
  child = spawn(process.execPath, [CTRD, '--config-file', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor(() => output.includes('API listening'), 'ctrd start');
  env = { ...process.env, DOCKER_HOST: `unix://${join(work, 'ctr.sock')}`, DOCKER_CONFIG: join(work, 'docker-config') };
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const ps = await docker(env, ['ps', '-aq']);
    for (const id of ps.stdout.split('\n').filter(Boolean)) await docker(env, ['rm', '-f', id]);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  await new NetworkManager({ root: join(work, 'root'), runRoot: join(work, 'run') }).gc().catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

async function info(): Promise<Record<string, unknown>> {
  const run = await docker(env, ['info', '--format', '{{json .}}']);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

test("docker info shows the file's labels, debug mode, log driver and registries", async () => {
  const shown = await info();
  expect(shown).toMatchObject({ Labels: ['stage=test'], Debug: true, LoggingDriver: 'local' });
  expect(shown.RegistryConfig).toMatchObject({
    Mirrors: ['http://127.0.0.1:5999/'],
    IndexConfigs: { '127.0.0.1:5998': { Name: '127.0.0.1:5998', Secure: false } },
  });
});

test('an experimental daemon says so in its version and its ping', async () => {
  const version = await docker(env, ['version', '--format', '{{.Server.Experimental}}']);
  expect(version).toMatchObject({ code: 0, stdout: 'true\n' });
  const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
    get({ socketPath: join(work, 'ctr.sock'), path: '/_ping' }, (res) => resolve(res.resume().headers)).on('error', reject);
  });
  expect(headers['docker-experimental']).toBe('true');
});

test("docker run gets the file's default ulimits", async () => {
  const run = await docker(env, ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn']);
  expect(run).toMatchObject({ code: 0, stdout: '1111\n2222\n' });
});

test("docker run gets the file's log driver when it names none", async () => {
  expect((await docker(env, ['create', '--name', 'logged', '--network', 'none', 'busybox', 'true'])).code).toBe(0);
  const inspected = await docker(env, ['inspect', '--format', '{{json .HostConfig.LogConfig}}', 'logged']);
  expect(JSON.parse(inspected.stdout)).toEqual({ Type: 'local', Config: {} });
});

test('SIGHUP reloads the labels, logged as dockerd logs it', async () => {
  await writeFile(configFile, JSON.stringify({ ...CONFIG, labels: ['stage=reloaded'], hosts: [`unix://${join(work, 'ctr.sock')}`], 'data-root': join(work, 'root'), 'exec-root': join(work, 'run') }));
  child.kill('SIGHUP');
  await waitFor(() => output.includes('Reloaded configuration'), 'the reload');
  expect((await info()).Labels).toEqual(['stage=reloaded']);
});

test('a reload is a daemon reload event, with the reloaded values as attributes', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const before = output.split('Reloaded configuration').length;
  child.kill('SIGHUP');
  await waitFor(() => output.split('Reloaded configuration').length > before, 'the reload');
  const run = await docker(env, ['events', '--filter', 'type=daemon', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--format', '{{json .}}']);
  const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { Type: string; Action: string; Actor: { Attributes: Record<string, string> } });
  expect(events.at(-1)).toMatchObject({ Type: 'daemon', Action: 'reload', Actor: { Attributes: { debug: 'true', 'registry-mirrors': '["http://127.0.0.1:5999"]' } } });
});
