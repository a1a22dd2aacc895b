/**
 * A pull's progress events through the engine, which unpacks the layers: each layer it
 * downloads goes dockerd's way, "Pulling fs layer", "Downloading", "Verifying Checksum",
 * "Download complete", then "Extracting" (compressed bytes read, up to the blob's size) and
 * "Pull complete"; a layer here already is "Already exists" alone; an image here in full
 * says nothing per layer. A push's layers are shown under their short diffIDs, as dockerd's
 * classic store shows them. Against ctr's registry server and the Debian docker-registry on
 * 127.0.0.1; statuses are asserted as ordered sequences, not timings.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shortId } from '@ctr/image';
import type { PullProgress, PushProgress, RegistryServer } from '@ctr/registry';
import { startBothRegistries, type BothRegistries } from '../../registry/test/support/both-registries';
import type { DockerRegistry } from '../../registry/test/support/processes';
import { testEngine, type TestEngine } from './fixture';
import { byLayer, inOrder } from '../../registry/test/support/progress-sequences';

let source: TestEngine;
let target: TestEngine;
let servers: BothRegistries | undefined;
let ctrRegistry: RegistryServer;
let distribution: DockerRegistry;

beforeAll(async () => {
  source = await testEngine();
  target = await testEngine();
  servers = await startBothRegistries('ctr-engine-pull-progress-');
  ({ ctrRegistry, distribution } = servers);
});

/** `FROM busybox` and a file saying `text`, tagged `tag` in the source engine: busybox's layer, and one of its own. */
async function buildApp(tag: string, text: string): Promise<void> {
  const context = await mkdtemp(join(servers!.work, 'context-'));
  await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCOPY file /file\n');
  await writeFile(join(context, 'file'), `${text}\n`.repeat(100_000));
  await source.engine.build({ context, tags: [tag] });
}

afterAll(async () => {
  await servers?.close();
  await source?.cleanup();
  await target?.cleanup();
});

const registries: [string, () => string][] = [
  ["ctr's registry server", () => ctrRegistry.host],
  ['the Debian docker-registry', () => distribution.host],
];

describe.each(registries)('against %s', (_name, host) => {
  test("a pulled layer goes through dockerd's statuses to Pull complete; busybox's, here already, is Already exists", async () => {
    const ref = `${host()}/progress/app:v1`;
    await buildApp(ref, host());
    const pushEvents: PushProgress[] = [];
    await source.engine.push(ref, { onProgress: (event) => pushEvents.push(event) });
    const image = await source.engine.inspectImage(ref);
    const diffIds = image.RootFS.Layers;

    // The push: every layer "Preparing", top first, under its short diffID.
    const pushLayers = pushEvents.filter((event) => event.kind === 'layer');
    expect(pushLayers.slice(0, 2).map((event) => [event.id, event.status])).toEqual([...diffIds].reverse().map((diffId) => [shortId(diffId), 'Preparing']));
    for (const statuses of byLayer(pushEvents).values()) expect(['Pushed', 'Layer already exists']).toContain(statuses.at(-1));

    const events: PullProgress[] = [];
    const pulled = await target.engine.pull(ref, { onProgress: (event) => events.push(event) });
    const [base, own] = pulled.layers;
    const layers = byLayer(events);
    expect(layers.get(base!.digest)).toEqual(['Already exists']);
    const statuses = layers.get(own!.digest) ?? [];
    expect(inOrder(statuses, ['Pulling fs layer', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete'])).toBe(true);
    expect(statuses.at(-1)).toBe('Pull complete');
    const extracting = events.filter((event) => event.digest === own!.digest && event.status === 'Extracting');
    expect(extracting.at(-1)).toMatchObject({ id: shortId(own!.digest), current: own!.size, total: own!.size });
    // Every event of a layer carries the blob's short digest: the ID docker pull shows.
    expect(events.filter((event) => event.kind === 'layer').every((event) => event.id === shortId(event.digest))).toBe(true);

    // Pulled again, the image is here in full: nothing per layer, as dockerd.
    const again: PullProgress[] = [];
    await target.engine.pull(ref, { onProgress: (event) => again.push(event) });
    expect(again.filter((event) => event.kind === 'layer')).toEqual([]);
    await target.engine.removeImage(ref);
  });
});
