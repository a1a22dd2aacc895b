/**
 * A build's platform (`--platform`, or `FROM --platform` for its stage) is the platform its base
 * is pulled for, as docker's classic builder pulls it: from a registry's multi-platform index,
 * that platform's image. A base here for another platform is not here for the build (dockerd's
 * GetImage for a platform finds none), so it is pulled even without `pull`; one here for the
 * build's platform is used as it is; a build with no platform uses the base here whatever its
 * platform. The other platform's image never runs: which one a build got is read from its
 * architecture and layers. Against ctr's registry server on 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildEvent } from '@ctr/dockerfile';
import { formatPlatform, type Platform } from '@ctr/image';
import { HOST_PLATFORM as HOST, OTHER_PLATFORM as OTHER, servePlatformIndex, type PlatformImage, type PlatformRegistry } from '../../../test/support/platform-index';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let work: string;
/** An empty build context. */
let context: string;
let registry: PlatformRegistry;
let base: string;
let images: Map<string, PlatformImage>;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-engine-build-platform-'));
  context = await mkdtemp(join(work, 'context-'));
  registry = await servePlatformIndex();
  ({ base, images } = registry);
});

afterAll(async () => {
  await registry?.close();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The published image for `platform`. */
const imageFor = (platform: Platform): PlatformImage => images.get(formatPlatform(platform)) as PlatformImage;

/** The base here for `platform` (pulled for it), before a build. */
async function baseHereFor(platform: Platform): Promise<void> {
  await t.engine.pull(base, { platform });
  expect((await t.engine.inspectImage(base)).Id).toBe(imageFor(platform).id);
}

/** Build `dockerfile` (its base named by `BASE`), with its pull messages and the built image's platform and first layer. */
async function build(options: { dockerfile?: string; platform?: Platform; pull?: boolean } = {}): Promise<{ pulls: BuildEvent[]; platform: string; firstLayer: string | undefined }> {
  const events: BuildEvent[] = [];
  const dockerfile = (options.dockerfile ?? 'FROM BASE\nENV BUILT=yes\n').replace('BASE', base);
  const { id } = await t.engine.build({
    context,
    dockerfileContent: dockerfile,
    ...(options.platform ? { platform: formatPlatform(options.platform) } : {}),
    ...(options.pull ? { pull: true } : {}),
    onEvent: (event) => events.push(event),
  });
  const built = await t.engine.inspectImage(id);
  return {
    pulls: events.filter((event) => event.type === 'pull'),
    platform: formatPlatform({ os: built.Os, architecture: built.Architecture, ...(built.Variant ? { variant: built.Variant } : {}) }),
    firstLayer: built.RootFS.Layers[0],
  };
}

test("a base not here is pulled for the build's platform, and the image is built on that platform's image", async () => {
  await t.engine.removeImage(base).catch(() => undefined);
  const built = await build({ platform: OTHER });
  expect(built.pulls).not.toEqual([]);
  expect(built.platform).toBe(formatPlatform(OTHER));
  expect(built.firstLayer).toBe(imageFor(OTHER).diffId);
  expect((await t.engine.inspectImage(base)).Id).toBe(imageFor(OTHER).id);
});

test("with pull, the base is pulled for the build's platform though here for another", async () => {
  await baseHereFor(HOST);
  const built = await build({ platform: OTHER, pull: true });
  expect(built.pulls.at(-1)).toMatchObject({ status: `Status: Downloaded newer image for ${base}` });
  expect(built.platform).toBe(formatPlatform(OTHER));
  expect(built.firstLayer).toBe(imageFor(OTHER).diffId);
});

test("without pull, a base here for another platform is not the build's: the build's platform's image is pulled", async () => {
  await baseHereFor(HOST);
  const built = await build({ platform: OTHER });
  expect(built.pulls.at(-1)).toMatchObject({ status: `Status: Downloaded newer image for ${base}` });
  expect(built.firstLayer).toBe(imageFor(OTHER).diffId);
});

test("without pull, a base here for the build's platform is used as it is: nothing is pulled", async () => {
  await baseHereFor(OTHER);
  const built = await build({ platform: OTHER });
  expect(built.pulls).toEqual([]);
  expect(built.firstLayer).toBe(imageFor(OTHER).diffId);
});

test('without a platform, the base here is used whatever its platform: nothing is pulled', async () => {
  await baseHereFor(OTHER);
  const built = await build();
  expect(built.pulls).toEqual([]);
  expect(built.platform).toBe(formatPlatform(OTHER));
});

test("FROM --platform wins for its stage over the build's platform", async () => {
  await baseHereFor(HOST);
  const built = await build({ dockerfile: `FROM --platform=${formatPlatform(OTHER)} BASE\nENV BUILT=yes\n`, platform: HOST });
  expect(built.platform).toBe(formatPlatform(OTHER));
  expect(built.firstLayer).toBe(imageFor(OTHER).diffId);
});
