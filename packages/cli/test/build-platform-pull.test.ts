/**
 * `ctr build --platform P --pull`, the same through a daemon (`POST /build?platform=`), and
 * `ctr compose build` of a service with a `platform`: the base is pulled for P from the
 * registry's multi-platform index, so the image is built on P's image, as docker's classic
 * builder builds it. The index is in ctr's registry server on 127.0.0.1; P is not this
 * machine's platform, and nothing of P's runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPlatform } from '@ctr/image';
import { HOST_PLATFORM as HOST, OTHER_PLATFORM as OTHER, servePlatformIndex, type PlatformRegistry } from '../../../test/support/platform-index';
import { localCtr, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as remoteCtr, startTestDaemon, type TestDaemon } from './remote-fixture';

let ctr: LocalCtr;
let work: string;
let registry: PlatformRegistry;
let base: string;
/** A context whose Dockerfile is `FROM <base>`. */
let context: string;

beforeAll(async () => {
  ctr = await localCtr('build-platform-pull');
  work = await mkdtemp(join(tmpdir(), 'ctr-cli-build-platform-'));
  registry = await servePlatformIndex();
  ({ base } = registry);
  context = await mkdtemp(join(work, 'context-'));
  await writeFile(join(context, 'Dockerfile'), `FROM ${base}\nLABEL built=yes\n`);
}, 120_000);

afterAll(async () => {
  await registry?.close();
  await ctr?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
}, 120_000);

test("ctr build --platform --pull builds on the base's image for that platform", async () => {
  expect((await ctr.run('pull', '-q', base)).code).toBe(0);
  const built = await ctr.run('build', '--platform', formatPlatform(OTHER), '--pull', '-t', 'platform/app', context);
  expect(built).toMatchObject({ code: 0, stderr: '' });
  expect(await ctr.run('image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}', 'platform/app')).toMatchObject({ code: 0, stdout: `${formatPlatform(OTHER)}\n` });
});

test("ctr compose build of a service with a platform builds on the base's image for it, though the base here is another platform's", async () => {
  expect((await ctr.run('pull', '-q', '--platform', formatPlatform(HOST), base)).code).toBe(0);
  await writeFile(join(context, 'compose.yaml'), ['services:', '  app:', '    build: .', `    platform: ${formatPlatform(OTHER)}`, ''].join('\n'));
  const built = await ctr.runWith({ env: { ...process.env, COMPOSE_FILE: '', COMPOSE_PROJECT_NAME: '' }, cwd: context, timeoutMs: 180_000 }, 'compose', '-p', 'platform', 'build', 'app');
  expect(built.code).toBe(0);
  expect((await ctr.run('image', 'inspect', '-f', '{{.Architecture}}', 'platform-app')).stdout).toBe(`${OTHER.architecture}\n`);
});

describe('through a daemon', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await startTestDaemon();
  });

  afterAll(async () => {
    await daemon?.cleanup();
  });

  test("ctr -H build --platform (POST /build?platform=) builds on the base's image for that platform", async () => {
    const built = await remoteCtr(['-H', `unix://${daemon.socket}`, 'build', '--platform', formatPlatform(OTHER), '-t', 'platform/remote', context], { env: cleanEnv() });
    expect(built).toMatchObject({ code: 0, stderr: '' });
    expect((await daemon.daemon.engine.inspectImage('platform/remote')).Architecture).toBe(OTHER.architecture);
  });
});
