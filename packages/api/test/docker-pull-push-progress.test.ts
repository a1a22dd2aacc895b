/**
 * ctrd's JSON message streams for `POST /images/create` (pull) and `POST /images/{name}/push`
 * are dockerd's: each layer message `{"status":…,"progressDetail":{…},"progress":"[==>  ] …","id":…}`
 * in that field order, `progressDetail` empty and `progress` absent for a status without
 * bytes; the per-layer statuses in dockerd's order (classic store), layers shown by their
 * blob's short digest on a pull and by their short diffID on a push. The real docker CLI
 * renders them: without a terminal, a line per status and none for the byte counts.
 * Against ctr's registry server on 127.0.0.1; sequences, not timings.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '@ctr/engine';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { docker, request, useTestDaemon } from './fixture';
import { inOrder } from '../../registry/test/support/progress-sequences';

const t = useTestDaemon();
let work: string;
let registry: RegistryServer;
/** An engine of its own that pushes images ctrd does not have. */
let other: Engine;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-progress-'));
  registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  other = new Engine({ root: join(work, 'root'), runRoot: join(work, 'run') });
});

afterAll(async () => {
  await other?.close();
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

type Message = Record<string, unknown> & { status?: string; id?: string; progressDetail?: { current?: number; total?: number }; progress?: string };

const messages = (body: Buffer): Message[] => body.toString('utf8').trim().split('\r\n').map((line) => JSON.parse(line) as Message);

/** Each layer's statuses in order, by the message's ID. */
function byLayer(lines: readonly Message[]): Map<string, string[]> {
  const layers = new Map<string, string[]>();
  for (const line of lines) if (line.id && line.progressDetail) layers.set(line.id, [...(layers.get(line.id) ?? []), line.status ?? '']);
  return layers;
}

/** docker's progress text with the bar: `[====>    ]  1.049MB/1.5MB`. */
const PROGRESS = /^\[=*>\s*\] [ \d.]{1,7}\d[kMG]?B\/\d[\d.]*[kMG]?B$/;

/** A layer message's shape: dockerd's fields in dockerd's order, bytes only with a bar. */
function expectDockerdShape(line: Message): void {
  const detail = line.progressDetail as { current?: number; total?: number };
  if (detail.total === undefined) {
    expect(Object.keys(line)).toEqual(['status', 'progressDetail', 'id']);
    expect(detail).toEqual({});
  } else {
    expect(Object.keys(line)).toEqual(['status', 'progressDetail', 'progress', 'id']);
    expect(line.progress).toMatch(PROGRESS);
  }
}

/** A one-layer image of `bytes` random bytes (no busybox under it), pushed from the other engine as `ref`. */
async function pushedElsewhere(ref: string, bytes: number): Promise<void> {
  const dir = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(dir, 'data'), randomBytes(bytes));
  await other.importImage({ dir }, { name: ref });
  await other.push(ref);
}

test('POST /images/create streams dockerd\'s messages: every layer from "Pulling fs layer" to "Pull complete", bars on the byte counts', async () => {
  const repo = `${registry.host}/progress/raw`;
  await pushedElsewhere(`${repo}:v1`, 1_500_000);
  const answer = await request(t.socket, 'POST', `/v1.47/images/create?fromImage=${encodeURIComponent(repo)}&tag=v1`);
  expect(answer.status).toBe(200);
  const lines = messages(answer.body);
  expect(lines[0]).toEqual({ status: 'Pulling from progress/raw', id: 'v1' });
  expect(lines.at(-2)).toEqual({ status: expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/) });
  expect(lines.at(-1)).toEqual({ status: `Status: Downloaded newer image for ${repo}:v1` });
  const layerLines = lines.slice(1, -2);
  for (const line of layerLines) expectDockerdShape(line);
  const [layer] = (await t.daemon.engine.pull(`${repo}:v1`)).layers;
  const id = layer!.digest.slice(7, 19);
  const statuses = byLayer(layerLines).get(id) ?? [];
  expect([...byLayer(layerLines).keys()]).toEqual([id]);
  expect(inOrder(statuses, ['Pulling fs layer', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete'])).toBe(true);
  expect(statuses.at(-1)).toBe('Pull complete');
  // More than one "Downloading" (1.5 MB, a message every 512 kB), the last at the blob's size, its bar full.
  const downloading = layerLines.filter((line) => line.status === 'Downloading');
  expect(downloading.length).toBeGreaterThan(1);
  expect(downloading.at(-1)).toMatchObject({ progressDetail: { current: layer!.size, total: layer!.size }, progress: expect.stringMatching(/^\[={50}>\] /) });
  expect(layerLines.filter((line) => line.status === 'Extracting').at(-1)).toMatchObject({ progressDetail: { current: layer!.size, total: layer!.size } });

  // Pulled again: the image is here, and dockerd says nothing per layer.
  const again = messages((await request(t.socket, 'POST', `/v1.47/images/create?fromImage=${encodeURIComponent(repo)}&tag=v1`)).body);
  expect(again.map((line) => line.status)).toEqual(['Pulling from progress/raw', expect.stringMatching(/^Digest: /), `Status: Image is up to date for ${repo}:v1`]);
});

test('docker pull through ctrd prints a line per status and none for the byte counts, then the reference', async () => {
  const repo = `${registry.host}/progress/cli`;
  await pushedElsewhere(`${repo}:v1`, 700_000);
  const pulled = await docker(t.env, ['pull', `${repo}:v1`]);
  expect(pulled).toMatchObject({ code: 0, stderr: '' });
  const id = (await t.daemon.engine.pull(`${repo}:v1`)).layers[0]!.digest.slice(7, 19);
  expect(pulled.stdout.split('\n')).toEqual([
    'v1: Pulling from progress/cli',
    `${id}: Pulling fs layer`,
    `${id}: Verifying Checksum`,
    `${id}: Download complete`,
    `${id}: Pull complete`,
    expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/),
    `Status: Downloaded newer image for ${repo}:v1`,
    `${repo}:v1`,
    '',
  ]);
});

test('docker pull through ctrd of a second tag, another image on the first\'s layer, prints "Already exists" for that layer and downloads nothing', async () => {
  const repo = `${registry.host}/progress/shared`;
  const dir = await mkdtemp(join(work, 'rootfs-'));
  await writeFile(join(dir, 'data'), randomBytes(100_000));
  for (const tag of ['v1', 'v2']) {
    await other.importImage({ dir }, { name: `${repo}:${tag}`, comment: tag });
    await other.push(`${repo}:${tag}`);
  }
  expect(await docker(t.env, ['pull', `${repo}:v1`])).toMatchObject({ code: 0 });
  const pulled = await docker(t.env, ['pull', `${repo}:v2`]);
  expect(pulled).toMatchObject({ code: 0, stderr: '' });
  const [first, second] = await Promise.all(['v1', 'v2'].map((tag) => t.daemon.engine.inspectImage(`${repo}:${tag}`)));
  expect(second!.Id).not.toBe(first!.Id);
  const [layer] = (await t.daemon.engine.pull(`${repo}:v2`)).layers;
  expect(pulled.stdout.split('\n')).toEqual([
    'v2: Pulling from progress/shared',
    `${layer!.digest.slice(7, 19)}: Already exists`,
    expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/),
    `Status: Downloaded newer image for ${repo}:v2`,
    `${repo}:v2`,
    '',
  ]);
});

test('docker pull through ctrd of a tag the registry lacks prints only the error, no "Pulling from"', async () => {
  const repo = `${registry.host}/progress/cli`;
  await pushedElsewhere(`${repo}:v1`, 1_000);
  const pulled = await docker(t.env, ['pull', `${repo}:missing`]);
  expect(pulled.code).toBe(1);
  expect(pulled.stdout).toBe('');
  expect(pulled.stderr).toMatch(/^Error response from daemon: .*missing/);
});

test("POST /images/{name}/push streams dockerd's messages: Preparing for every layer top first under its short diffID, Pushing with bars, Pushed", async () => {
  const context = await mkdtemp(join(work, 'context-'));
  await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCOPY data /data\n');
  await writeFile(join(context, 'data'), randomBytes(1_200_000));
  const repo = `${registry.host}/progress/pushed`;
  await t.daemon.engine.build({ context, tags: [`${repo}:v1`] });
  const diffIds = (await t.daemon.engine.inspectImage(`${repo}:v1`)).RootFS.Layers.map((diffId) => diffId.slice(7, 19));
  const answer = await request(t.socket, 'POST', `/v1.47/images/${repo}/push?tag=v1`, undefined, { 'X-Registry-Auth': 'e30=' });
  expect(answer.status).toBe(200);
  const lines = messages(answer.body);
  expect(lines[0]).toEqual({ status: `The push refers to repository [${repo}]` });
  const layerLines = lines.filter((line) => line.id);
  for (const line of layerLines) expectDockerdShape(line);
  expect(layerLines.slice(0, 2).map((line) => [line.id, line.status])).toEqual([...diffIds].reverse().map((id) => [id, 'Preparing']));
  const layers = byLayer(layerLines);
  expect([...layers.keys()].sort()).toEqual([...diffIds].sort());
  for (const statuses of layers.values()) {
    expect(inOrder(statuses, ['Preparing', 'Pushing', 'Pushed'])).toBe(true);
    expect(statuses.at(-1)).toBe('Pushed');
  }
  const digestLine = lines.find((line) => line.status?.startsWith('v1: digest: '));
  expect(digestLine).toEqual({ status: expect.stringMatching(/^v1: digest: sha256:[0-9a-f]{64} size: \d+$/) });
  expect(lines.at(-1)).toEqual({ progressDetail: {}, aux: { Tag: 'v1', Digest: expect.stringMatching(/^sha256:/), Size: expect.any(Number) } });
});
