import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGitDaemon, type GitDaemon } from '../../../test/support/git-daemon';
import { cleanEnv, ctr as run, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let work: string;
let git: GitDaemon;

/** `ctr -H unix://<the test daemon> args…`, with no context or host from the environment. */
function ctr(...args: string[]): Promise<Result> {
  return run(['-H', `unix://${t.socket}`, ...args], { env: cleanEnv({ CTR_CONFIG: join(work, 'config') }) });
}

beforeAll(async () => {
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-remote-build-'));
  git = await startGitDaemon();
  await git.repository('tool', [{ files: { Dockerfile: 'FROM busybox\nCOPY VERSION /\nRUN cat /VERSION\n', VERSION: '3.1\n' }, tag: 'v3.1' }]);
});
afterAll(async () => {
  await git?.stop();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});
afterEach(() => {
  expect(t.internalErrors.splice(0)).toEqual([]);
});

describe('ctr -H … build: what docker\'s CLI does on its side', () => {
  test('--compress: the context goes up gzipped and the daemon builds it', async () => {
    const context = join(work, 'compressed');
    await mkdir(context);
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCOPY data /\n');
    await writeFile(join(context, 'data'), 'x'.repeat(10_000));
    const built = await ctr('build', '-q', '--compress', '-t', 'remote/compressed', context);
    expect(built).toMatchObject({ code: 0, stderr: '' });
    expect((await t.daemon.engine.inspectImage('remote/compressed')).Id).toBe(built.stdout.trim());
  });

  test('a git URL is cloned here and sent up as the context; the step output comes back as docker prints it', async () => {
    const built = await ctr('build', '--no-cache', '-t', 'remote/git', `${git.url('tool')}#v3.1`);
    expect(built.code).toBe(0);
    const id = /Running in ([0-9a-f]{12})\n/.exec(built.stdout)?.[1];
    expect(built.stdout).toContain(` ---> Running in ${id}\n3.1\n ---> Removed intermediate container ${id}\n`);
    expect(built.stdout).toContain('Successfully tagged remote/git:latest\n');
  });

  test('--network none reaches the daemon\'s RUN steps', async () => {
    const context = join(work, 'network');
    await mkdir(context);
    await writeFile(join(context, 'Dockerfile'), "FROM busybox\nRUN ip -o link | awk -F': ' '{print $2}' > /links\n");
    const built = await ctr('build', '-q', '--network', 'none', context);
    expect(built.code).toBe(0);
    expect((await ctr('run', '--rm', '--network', 'none', built.stdout.trim(), 'cat', '/links')).stdout).toBe('lo\n');
  });
});
