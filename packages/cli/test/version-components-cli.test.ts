/**
 * `ctr version` shows the server's components (the engine, then conmon, runc and docker-init)
 * as docker 28's `docker version` shows ctrd's: the same lines in its default output, the same
 * Platform, Components and MinAPIVersion in `{{json .Server}}` and `{{.Server}}`, whether ctr
 * drives its engine in-process or a daemon over the API (RemoteEngine).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker } from '../../api/test/fixture';
import { ctrOn, type CtrOn } from './local-ctr';
import { cleanEnv, ctr as run, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let local: CtrOn;

/** `ctr -H unix://<the test daemon> args…`, with no context or host from the environment. */
function remote(...args: string[]): Promise<Result> {
  return run(['-H', `unix://${t.socket}`, ...args], { env: cleanEnv({ CTR_CONFIG: join(t.root, 'ctr-config') }) });
}

/** The docker CLI's answer against the test daemon, which must succeed. */
async function dockerVersion(...args: string[]): Promise<string> {
  const result = await docker(t.env, ['version', ...args]);
  if (result.code !== 0) throw new Error(`docker version failed: ${result.stderr}`);
  return result.stdout;
}

/** What follows the `Server:` line: the components, which docker's template prints for any server. */
function components(stdout: string): string {
  return stdout.slice(stdout.indexOf('\n', stdout.indexOf('\nServer:') + 1) + 1);
}

beforeAll(async () => {
  t = await startTestDaemon();
  const root = await mkdtemp(join(tmpdir(), 'ctr-version-'));
  local = ctrOn(root, join(root, 'run'));
}, 60_000);

afterAll(async () => {
  await t?.cleanup();
  if (local) await rm(local.root, { recursive: true, force: true });
});

afterEach(() => {
  expect(t.internalErrors.splice(0)).toEqual([]);
});

describe('ctr version in-process (the engine, no daemon)', () => {
  test("lists the engine, conmon, runc and docker-init with their details, in docker version's layout", async () => {
    const { code, stdout } = await local.run('version');
    expect(code).toBe(0);
    expect(stdout).toMatch(/\nServer: ctr \(in-process, no daemon\)\n Engine:\n  Version: {10}0\.1\.0\n  API version: {6}1\.47 \(minimum version 1\.24\)\n  Go version: {7}node\S+\n/);
    expect(stdout).toMatch(/\n conmon:\n  Version: {10}\S+\n  GitCommit: {8}.*\n runc:\n  Version: {10}\S+\n  GitCommit: {8}.*\n docker-init:\n  Version: {10}\S+\n  GitCommit: {8}.*\n$/);
    expect(components(stdout)).toBe(components(await dockerVersion()));
  });

  test('{{json .Server}} has the platform, the components and the oldest API, as docker shows ctrd', async () => {
    const { stdout } = await local.run('version', '--format', '{{json .Server}}');
    const server = JSON.parse(stdout) as { Platform: unknown; Components: { Name: string }[]; MinAPIVersion: string };
    expect(server.Platform).toEqual({ Name: 'ctr' });
    expect(server.Components.map((c) => c.Name)).toEqual(['Engine', 'conmon', 'runc', 'docker-init']);
    expect(server.MinAPIVersion).toBe('1.24');
    expect(stdout).toBe(await dockerVersion('--format', '{{json .Server}}'));
  });

  test('{{.Server}} prints the components as Go prints types.ComponentVersion, Details a sorted map', async () => {
    const { stdout } = await local.run('version', '--format', '{{.Server}}');
    expect(stdout).toMatch(/^\{\{ctr\} \[\{Engine 0\.1\.0 map\[ApiVersion:1\.47 Arch:\w+ BuildTime:.* Experimental:false .*MinAPIVersion:1\.24 Os:linux\]\} \{conmon \S+ map\[GitCommit:.*\]\} \{runc /);
    expect(stdout).toBe(await dockerVersion('--format', '{{.Server}}'));
  });
});

describe('ctr -H unix://… version (RemoteEngine against ctrd)', () => {
  test("prints the daemon's components as docker version does", async () => {
    const { code, stdout } = await remote('version');
    expect(code).toBe(0);
    expect(stdout).toContain(`\nServer: unix://${t.socket}\n Engine:\n`);
    expect(stdout).toMatch(/\n conmon:\n  Version: {10}\S+\n  GitCommit: {8}.*\n runc:\n/);
    expect(components(stdout)).toBe(components(await dockerVersion()));
  });

  test("{{json .Server}} keeps the daemon's Platform, Components and MinAPIVersion", async () => {
    const { stdout } = await remote('version', '--format', '{{json .Server}}');
    const server = JSON.parse(stdout) as { Platform: unknown; Components: { Name: string }[]; MinAPIVersion: string };
    expect(server.Platform).toEqual({ Name: 'ctr' });
    expect(server.Components.map((c) => c.Name)).toEqual(['Engine', 'conmon', 'runc', 'docker-init']);
    expect(server.MinAPIVersion).toBe('1.24');
    expect(stdout).toBe(await dockerVersion('--format', '{{json .Server}}'));
  });

  test('{{.Server}} is what docker prints of the same daemon', async () => {
    expect((await remote('version', '--format', '{{.Server}}')).stdout).toBe(await dockerVersion('--format', '{{.Server}}'));
  });
});
