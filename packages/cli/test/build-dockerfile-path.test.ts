import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as runCtr, startTestDaemon, type TestDaemon } from './remote-fixture';

/**
 * `ctr build`'s Dockerfile as docker's CLI finds it (getDockerfileRelPath): `-f` from the
 * current directory, one outside the context sent inside it under a name of its own, a
 * lower-case `dockerfile` in place of a missing `Dockerfile`; in-process and through `-H`.
 * Each build's image is run to print what it holds.
 */
let work: string;
let local: LocalCtr;
let t: TestDaemon;

/** A directory holding `files`, for the build to be started from. */
async function directory(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(work, name);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  return dir;
}

/** `ctr args…` started from `cwd`, given `input`. */
type Ctr = (cwd: string, args: string[], input?: string) => Promise<CtrResult>;

/** The engine in the ctr process. */
const inProcess: Ctr = (cwd, args, input) => local.runWith({ env: process.env, cwd, ...(input !== undefined ? { input } : {}) }, ...args);

/** `ctr -H <the test daemon>`. */
const throughDaemon: Ctr = (cwd, args, input) =>
  runCtr(['-H', `unix://${t.socket}`, ...args], { env: cleanEnv({ CTR_CONFIG: join(work, 'config') }), cwd, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-cli-build-dockerfile-'));
  local = await localCtr('build-dockerfile');
  t = await startTestDaemon();
});
afterAll(async () => {
  await local?.cleanup();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each([
  { how: 'in-process', dir: 'local', ctr: inProcess },
  { how: 'through -H', dir: 'remote', ctr: throughDaemon },
])('ctr build $how', ({ dir, ctr }) => {
  test('takes -f from the current directory: a Dockerfile beside the context builds it', async () => {
    const cwd = await directory(`beside-${dir}`, { 'Other.df': 'FROM busybox\nCOPY f /f\nCMD ["cat", "/f"]\n', 'ctx/f': 'from the context\n' });
    const built = await ctr(cwd, ['build', '-q', '-f', 'Other.df', 'ctx']);
    expect(built).toMatchObject({ code: 0, stderr: '' });
    expect((await ctr(cwd, ['run', '--rm', '--network', 'none', built.stdout.trim()])).stdout).toBe('from the context\n');
  });

  test('sends a Dockerfile from outside the context where COPY . does not see it', async () => {
    const cwd = await directory(`unseen-${dir}`, { 'Other.df': 'FROM busybox\nCOPY . /c/\nCMD ["ls", "-A", "/c"]\n', 'ctx/f': 'x\n' });
    const built = await ctr(cwd, ['build', '-q', '-f', join(cwd, 'Other.df'), 'ctx']);
    expect(built.code).toBe(0);
    expect((await ctr(cwd, ['run', '--rm', '--network', 'none', built.stdout.trim()])).stdout).toBe('f\n');
  });

  test('takes a -f inside the context from the current directory too', async () => {
    const cwd = await directory(`inside-${dir}`, { 'ctx/In.df': 'FROM busybox\nCMD ["echo", "inside"]\n' });
    const built = await ctr(cwd, ['build', '-q', '-f', 'ctx/In.df', 'ctx']);
    expect(built.code).toBe(0);
    expect((await ctr(cwd, ['run', '--rm', '--network', 'none', built.stdout.trim()])).stdout).toBe('inside\n');
  });

  test("refuses a -f that is only relative to the context, in docker's CLI's words", async () => {
    const cwd = await directory(`context-relative-${dir}`, { 'ctx/In.df': 'FROM busybox\n' });
    const refused = await ctr(cwd, ['build', '-f', 'In.df', 'ctx']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${join(cwd, 'In.df')}: no such file or directory\n`);
  });

  test("refuses a context without a Dockerfile in docker's CLI's words", async () => {
    const cwd = await directory(`none-${dir}`, { 'ctx/f': 'x\n' });
    const refused = await ctr(cwd, ['build', 'ctx']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${join(cwd, 'ctx', 'Dockerfile')}: no such file or directory\n`);
  });

  test('builds a context whose only Dockerfile is a lower-case dockerfile', async () => {
    const cwd = await directory(`lower-${dir}`, { 'ctx/dockerfile': 'FROM busybox\nCMD ["echo", "lower"]\n' });
    const built = await ctr(cwd, ['build', '-q', 'ctx']);
    expect(built.code).toBe(0);
    expect((await ctr(cwd, ['run', '--rm', '--network', 'none', built.stdout.trim()])).stdout).toBe('lower\n');
  });

  test('reads -f - from stdin, with the context from PATH', async () => {
    const cwd = await directory(`stdin-${dir}`, { 'ctx/f': 'from the context\n' });
    const built = await ctr(cwd, ['build', '-q', '-f', '-', 'ctx'], 'FROM busybox\nCOPY f /f\nCMD ["cat", "/f"]\n');
    expect(built.code).toBe(0);
    expect((await ctr(cwd, ['run', '--rm', '--network', 'none', built.stdout.trim()])).stdout).toBe('from the context\n');
  });
});
