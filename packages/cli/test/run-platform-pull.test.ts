/**
 * `ctr create --platform P` of an image here for another platform: as docker's CLI, the create
 * finds no image for P (dockerd's GetImage with a platform), says "Unable to find image …
 * locally", pulls P's from the registry's multi-platform index and makes the container of it.
 * The index is in ctr's registry server on 127.0.0.1; P is not this machine's platform, so the
 * container is only created, never started.
 */
import { formatPlatform } from '@ctr/image';
import { HOST_PLATFORM as HOST, OTHER_PLATFORM as OTHER, servePlatformIndex, type PlatformImage, type PlatformRegistry } from '../../../test/support/platform-index';
import { localCtr, type LocalCtr } from './local-ctr';

let ctr: LocalCtr;
let registry: PlatformRegistry;
let base: string;
let images: Map<string, PlatformImage>;

beforeAll(async () => {
  ctr = await localCtr('run-platform-pull');
  registry = await servePlatformIndex();
  ({ base, images } = registry);
}, 120_000);

afterAll(async () => {
  await registry?.close();
  await ctr?.cleanup();
}, 120_000);

test('ctr create --platform of an image here for another platform pulls it for that one and makes the container of it', async () => {
  expect((await ctr.run('pull', '-q', '--platform', formatPlatform(HOST), base)).code).toBe(0);
  // The image has no command of its own; nothing runs it here.
  const created = await ctr.run('create', '--network', 'none', '--platform', formatPlatform(OTHER), base, 'true');
  expect(created.code).toBe(0);
  expect(created.stderr).toContain(`Unable to find image '${base}' locally`);
  expect((await ctr.run('inspect', '-f', '{{.Image}}', created.stdout.trim())).stdout).toBe(`${images.get(formatPlatform(OTHER))?.id}\n`);
});
