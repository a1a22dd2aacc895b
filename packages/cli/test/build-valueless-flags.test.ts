import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as runCtr, startTestDaemon, type TestDaemon } from './remote-fixture';

/**
 * What docker's CLI sends for `--build-arg NAME` (NAME unset here: nil) and `--label key`
 * (the empty value), and for a Dockerfile inside a directory `.dockerignore` excludes, with
 * and without a daemon.
 */
const DOCKERFILE = 'FROM busybox\nARG BAR\nRUN echo "[${BAR-unset}]"\n';
const UNUSED = '[Warning] One or more build-args [FOO] were not consumed\n';

let work: string;
let context: string;
/** The environment without FOO and BAR: the flags' values come from nowhere. */
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const { FOO: _foo, BAR: _bar, ...rest } = cleanEnv(extra);
  return rest;
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-build-valueless-'));
  context = join(work, 'ctx');
  await mkdir(join(context, 'sub'), { recursive: true });
  await writeFile(join(context, 'Dockerfile'), DOCKERFILE);
  await writeFile(join(context, 'sub', 'Dockerfile.x'), 'FROM busybox\nCOPY . /c/\nRUN ls -A /c\n');
  await writeFile(join(context, 'sub', 'other'), 'ignored\n');
  await writeFile(join(context, '.dockerignore'), 'sub\n');
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('daemonless', () => {
  let local: LocalCtr;
  const ctr = (...args: string[]): Promise<CtrResult> => local.runWith({ env: env() }, ...args);
  beforeAll(async () => {
    local = await localCtr('build-valueless');
  });
  afterAll(async () => {
    await local?.cleanup();
  });

  test('a --build-arg without a value set nowhere sets no ARG and is said among those not consumed', async () => {
    const built = await ctr('build', '--network', 'none', '--build-arg', 'FOO', '--build-arg', 'BAR', context);
    expect(built.code).toBe(0);
    expect(built.stdout).toContain('\n[unset]\n');
    expect(built.stdout).toContain(UNUSED);
  });

  test('a --label without a value is the empty value', async () => {
    const built = await ctr('build', '-q', '--label', 'c', context);
    expect(built.code).toBe(0);
    expect((await ctr('image', 'inspect', '--format', '{{json .Config.Labels}}', built.stdout.trim())).stdout).toBe('{"c":""}\n');
  });

  test('-f names a Dockerfile in a directory .dockerignore excludes', async () => {
    const built = await ctr('build', '--network', 'none', '-f', join(context, 'sub', 'Dockerfile.x'), context);
    expect(built.code).toBe(0);
  });
});

describe('through a daemon', () => {
  let t: TestDaemon;
  const ctr = (...args: string[]): Promise<CtrResult> => runCtr(['-H', `unix://${t.socket}`, ...args], { env: env({ CTR_CONFIG: join(work, 'config') }) });
  beforeAll(async () => {
    t = await startTestDaemon();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('a --build-arg without a value set nowhere goes up as null: no ARG value, said among those not consumed', async () => {
    const built = await ctr('build', '--network', 'none', '--build-arg', 'FOO', '--build-arg', 'BAR', context);
    expect(built.code).toBe(0);
    expect(built.stdout).toContain('\n[unset]\n');
    expect(built.stdout).toContain(UNUSED);
  });

  test('a --label without a value goes up as the empty value', async () => {
    const built = await ctr('build', '-q', '--label', 'c', context);
    expect(built.code).toBe(0);
    expect((await t.daemon.engine.inspectImage(built.stdout.trim())).Config.Labels).toEqual({ c: '' });
  });

  test('-f names a Dockerfile in a directory .dockerignore excludes: it alone of that directory is sent', async () => {
    const built = await ctr('build', '--network', 'none', '-f', join(context, 'sub', 'Dockerfile.x'), context);
    expect(built.code).toBe(0);
    expect(built.stdout).not.toContain('other');
  });
});
