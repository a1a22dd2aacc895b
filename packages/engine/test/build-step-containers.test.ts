import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { formatEvent } from '@ctr/dockerfile';
import type { BuildImageOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});
afterEach(async () => {
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true });
});

/** Build `dockerfile`, sent as the build's only input (`docker build - < Dockerfile`), on no network; the image and what the build printed. */
async function build(dockerfile: string, options: Partial<BuildImageOptions> = {}): Promise<{ id: string; output: string }> {
  let output = '';
  const { id } = await t.engine.build({ context: Readable.from([dockerfile]), network: 'none', noCache: true, onEvent: (e) => (output += formatEvent(e)), ...options });
  return { id, output };
}

/** Like `build`, for a build that fails: its error and what it printed. */
async function failedBuild(dockerfile: string, options: Partial<BuildImageOptions> = {}): Promise<{ error: Error; output: string }> {
  let output = '';
  const error = await t.engine
    .build({ context: Readable.from([dockerfile]), network: 'none', noCache: true, onEvent: (e) => (output += formatEvent(e)), ...options })
    .then(() => new Error('the build succeeded'), (e: Error) => e);
  return { error, output };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The entries of a tar (gzip or not), by name, in order; `.wh.` whiteouts as they are written. */
async function tarNames(bytes: Buffer): Promise<string[]> {
  const plain = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const names: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    names.push(header.name);
    stream.on('end', next).resume();
  });
  await new Promise<void>((resolve, reject) => extract.on('finish', resolve).on('error', reject).end(plain));
  return names;
}

/** What each layer of `image` holds, bottom first, read from `docker save`'s archive. */
async function layers(image: string): Promise<string[][]> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    readAll(stream).then((data) => files.set(header.name, data), next).then(() => next());
  });
  const archive = await readAll(await t.engine.save([image]));
  await new Promise<void>((resolve, reject) => extract.on('finish', resolve).on('error', reject).end(archive));
  const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as Array<{ Layers: string[] }>;
  return Promise.all(manifest[0]!.Layers.map((name) => tarNames(files.get(name)!)));
}

async function diffIds(image: string): Promise<string[]> {
  return (await t.engine.inspectImage(image)).RootFS.Layers;
}

describe('a RUN step\'s layer holds what the step changed, not what the runtime made to mount over', () => {
  test('RUN true adds no layer, as docker\'s does for a step that changed nothing', async () => {
    const { id } = await build('FROM busybox\nRUN true\n');
    expect(await diffIds(id)).toEqual(await diffIds('busybox'));
  });

  test('a file the step writes in /etc is kept, with /etc and nothing else of it', async () => {
    const { id } = await build('FROM busybox\nRUN echo x > /etc/foo\n');
    expect((await layers(id)).slice(-1)).toEqual([['etc/', 'etc/foo']]);
  });

  test('a file the step deletes from /etc is a whiteout in the layer', async () => {
    const { id } = await build('FROM busybox\nRUN rm /etc/group\n');
    expect((await layers(id)).slice(-1)).toEqual([['etc/', 'etc/.wh.group']]);
  });

  test('a step that only touches /etc itself has /etc in its layer', async () => {
    const { id } = await build('FROM busybox\nRUN touch /etc\n');
    expect((await layers(id)).slice(-1)).toEqual([['etc/']]);
  });

  test('a step writing elsewhere has only that in its layer', async () => {
    const { id } = await build('FROM busybox\nRUN echo hi > /hello\n');
    expect((await layers(id)).slice(-1)).toEqual([['hello']]);
  });
});

describe("docker's --rm and --force-rm: which RUN steps' containers stay", () => {
  const running = (output: string): string[] => [...output.matchAll(/ ---> Running in ([0-9a-f]{12})\n/g)].map((m) => m[1]!);

  test('by default a successful step\'s container is removed, and the build says so', async () => {
    const { output } = await build('FROM busybox\nRUN true\n');
    const [id] = running(output);
    expect(output).toContain(` ---> Removed intermediate container ${id}\n`);
    expect(await t.engine.ps({ all: true })).toEqual([]);
  });

  test('by default a failed step\'s container stays, exited with the step\'s code, and the build does not say it was removed', async () => {
    const { error, output } = await failedBuild('FROM busybox\nRUN echo ok\nRUN echo bad > /bad; exit 3\n');
    expect(error.message).toBe("The command '/bin/sh -c echo bad > /bad; exit 3' returned a non-zero code: 3");
    const [first, failed] = running(output);
    expect(output).toContain(` ---> Removed intermediate container ${first}\n`);
    expect(output).not.toContain(`Removed intermediate container ${failed}`);
    const containers = await t.engine.ps({ all: true });
    expect(containers.map((c) => [c.Id.slice(0, 12), c.Command, c.State, /^Exited \(\d+\)/.exec(c.Status)?.[0]])).toEqual([[failed, "/bin/sh -c 'echo bad > /bad; exit 3'", 'exited', 'Exited (3)']]);
  });

  test('a kept container shows what its step changed and can be committed: the image it ran on plus its changes', async () => {
    await failedBuild('FROM busybox\nRUN echo ok > /ok\nRUN echo bad > /bad; exit 3\n');
    const [kept] = await t.engine.ps({ all: true });
    expect(await t.engine.changes(kept!.Id)).toEqual([{ Path: '/bad', Kind: 1 }]);
    const { id } = await t.engine.commit(kept!.Id);
    const stdout = collector();
    await t.engine.run({ image: id, cmd: ['cat', '/ok', '/bad'], network: 'none', autoRemove: true, stdout });
    expect(stdout.text()).toBe('ok\nbad\n');
  });

  test("a kept container outlives the sweep of a build that went before it could take its step's mount point away", async () => {
    await failedBuild('FROM busybox\nRUN echo bad > /bad; exit 3\n');
    const [kept] = await t.engine.ps({ all: true });
    // What a build killed between the kept container's record and its mount point's removal leaves: an unclaimed scratch directory naming the step.
    const abandoned = join(t.root, 'engine', 'tmp', 'build-0123456789ab');
    mkdirSync(join(abandoned, kept!.Id), { recursive: true });
    await build('FROM busybox\nRUN true\n');
    expect(existsSync(abandoned)).toBe(false);
    expect(await t.engine.changes(kept!.Id)).toEqual([{ Path: '/bad', Kind: 1 }]);
  });

  test('--force-rm removes a failed step\'s container too, and says so before the error', async () => {
    const { output } = await failedBuild('FROM busybox\nRUN exit 3\n', { forceRemove: true });
    const [id] = running(output);
    expect(output).toMatch(new RegExp(` ---> Running in ${id}\n ---> Removed intermediate container ${id}\n$`));
    expect(await t.engine.ps({ all: true })).toEqual([]);
  });

  test('--rm=false keeps every step\'s container: RUN steps\' exited, each with its step\'s changes, a metadata step\'s created', async () => {
    const { output } = await build('FROM busybox\nRUN echo one > /one\nENV A=1\nRUN echo two > /two\n', { remove: false });
    expect(output).not.toContain('Removed intermediate container');
    const containers = await t.engine.ps({ all: true });
    const byId = new Map(containers.map((c) => [c.Id.slice(0, 12), c]));
    const steps = running(output).map((id) => byId.get(id));
    expect(steps.map((c) => [c?.Command, c?.State])).toEqual([
      ['/bin/sh -c \'echo one > /one\'', 'exited'],
      ['/bin/sh -c \'#(nop) \' \'ENV A=1\'', 'created'],
      ['/bin/sh -c \'echo two > /two\'', 'exited'],
    ]);
    expect(await t.engine.changes(steps[2]!.Id)).toEqual([{ Path: '/two', Kind: 1 }]);
  });

  test('a kept container is a container of the stage so far: of the base image itself right after FROM', async () => {
    await build('FROM busybox\nRUN true\n', { remove: false });
    const [kept] = await t.engine.ps({ all: true });
    expect(kept!.ImageID).toBe((await t.engine.inspectImage('busybox')).Id);
  });

  test('a kept container is removed like any other', async () => {
    await build('FROM busybox\nENV A=1\nRUN true\n', { remove: false });
    for (const kept of await t.engine.ps({ all: true })) await t.engine.remove(kept.Id);
    expect(await t.engine.ps({ all: true })).toEqual([]);
  });
});

describe('a Dockerfile sent alone as the build\'s input', () => {
  test('builds with an empty context', async () => {
    const { id } = await build('FROM busybox\nRUN echo hi > /hi\n');
    const stdout = collector();
    await t.engine.run({ image: id, cmd: ['cat', '/hi'], network: 'none', autoRemove: true, stdout });
    expect(stdout.text()).toBe('hi\n');
  });

  test('COPY of anything but the Dockerfile fails, in docker\'s words', async () => {
    const { error } = await failedBuild('FROM busybox\nCOPY app.sh /\n');
    expect(error).toMatchObject({ code: 'NotFound', message: 'COPY failed: file not found in build context or excluded by .dockerignore: stat app.sh: file does not exist' });
  });
});
