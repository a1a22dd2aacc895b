/**
 * `docker run/create --platform` against ctrd (`POST /containers/create?platform=`): the image
 * must be for that platform, as dockerd's GetImage with a platform finds it. One here for
 * another platform is a 404 in dockerd's words, which docker's CLI takes for a missing image:
 * with `--pull never` the run fails, by default it pulls the image for the platform and creates
 * the container again. The multi-platform index is in ctr's registry server on 127.0.0.1; the
 * other platform's container is only created, never started.
 */
import { formatPlatform } from '@ctr/image';
import { HOST_PLATFORM as HOST, OTHER_PLATFORM as OTHER, servePlatformIndex, type PlatformImage, type PlatformRegistry } from '../../../test/support/platform-index';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
let registry: PlatformRegistry;
let base: string;
let images: Map<string, PlatformImage>;

beforeAll(async () => {
  registry = await servePlatformIndex();
  ({ base, images } = registry);
}, 120_000);

afterAll(async () => {
  await registry?.close();
});

test("docker run --pull never --platform of another platform than the image's fails in dockerd's words (exit 125), making nothing", async () => {
  const run = await docker(t.env, ['run', '--rm', '--pull', 'never', '--platform', formatPlatform(OTHER), 'busybox', 'true']);
  expect(run.code).toBe(125);
  expect(run.stderr).toContain(
    `docker: Error response from daemon: image with reference busybox was found but does not match the specified platform: wanted ${formatPlatform(OTHER)}, actual: ${formatPlatform(HOST)}`,
  );
  expect(await t.daemon.engine.ps({ all: true })).toEqual([]);
});

test("docker run --platform of the image's own platform runs it", async () => {
  const run = await docker(t.env, ['run', '--rm', '--pull', 'never', '--network', 'none', '--platform', formatPlatform(HOST), 'busybox', 'echo', 'ran']);
  expect(run).toMatchObject({ code: 0, stdout: 'ran\n' });
});

test('docker create --platform of an image here for another platform pulls it for that one and makes the container of it', async () => {
  expect((await docker(t.env, ['pull', '-q', '--platform', formatPlatform(HOST), base])).code).toBe(0);
  // The image has no command of its own; nothing runs it here.
  const created = await docker(t.env, ['create', '--network', 'none', '--platform', formatPlatform(OTHER), base, 'true']);
  expect(created.code).toBe(0);
  expect(created.stderr).toContain(`Unable to find image '${base}' locally`);
  expect((await t.daemon.engine.inspect(created.stdout.trim())).Image).toBe(images.get(formatPlatform(OTHER))?.id);
});
