import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildEvent } from '@ctr/dockerfile';
import { openStore } from '@ctr/store';
import { collector, testEngine, type TestEngine } from './fixture';

/**
 * Two builds at once in one engine (what compose's concurrent builds ask of it): they share
 * the busybox base, its unpacked snapshots, the build cache, the content store and the image
 * index, and each keeps its own scratch directory, step containers and event stream.
 */
describe('engine.build, twice at once', () => {
  let t: TestEngine;
  let work: string;
  beforeAll(async () => {
    t = await testEngine();
    work = await mkdtemp(join(tmpdir(), 'ctr-build-concurrent-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
    await t?.cleanup();
  });

  /** A context whose Dockerfile is FROM busybox, then `body`. */
  async function context(name: string, body: string): Promise<string> {
    const dir = join(work, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Dockerfile'), `FROM busybox\n${body}\n`);
    return dir;
  }

  async function cat(image: string, file: string): Promise<string> {
    const stdout = collector();
    await t.engine.run({ image, cmd: ['cat', file], network: 'none', autoRemove: true, stdout });
    return stdout.text();
  }

  /** Builds each context at once, tagged by its name, with each build's events apart. */
  async function buildAtOnce(contexts: Record<string, string>): Promise<Record<string, BuildEvent[]>> {
    const events: Record<string, BuildEvent[]> = {};
    await Promise.all(
      Object.entries(contexts).map(([tag, dir]) => {
        const mine: BuildEvent[] = (events[tag] = []);
        return t.engine.build({ context: dir, tags: [tag], onEvent: (event) => mine.push(event) });
      }),
    );
    return events;
  }

  test('each build makes its own image from the shared base, tagged by its own name', async () => {
    await buildAtOnce({
      'left:1': await context('left', 'RUN echo left > /who\nRUN echo l2 >> /who'),
      'right:1': await context('right', 'RUN echo right > /who\nRUN echo r2 >> /who'),
    });
    expect(await cat('left:1', '/who')).toBe('left\nl2\n');
    expect(await cat('right:1', '/who')).toBe('right\nr2\n');
  });

  test('the same steps built at once are both built, and cached for the next pair', async () => {
    const body = 'RUN echo same > /same\nRUN echo twice >> /same';
    const contexts = { 'same-a:1': await context('same-a', body), 'same-b:1': await context('same-b', body) };
    await buildAtOnce(contexts);
    expect(await cat('same-a:1', '/same')).toBe('same\ntwice\n');
    expect(await cat('same-b:1', '/same')).toBe('same\ntwice\n');
    const again = await buildAtOnce(contexts);
    for (const events of Object.values(again)) expect(events.filter((event) => event.type === 'cache-hit')).toHaveLength(2);
  });

  test('the same COPY at once is one layer, unpacked under both builds\' next steps', async () => {
    const contexts: Record<string, string> = {};
    for (const name of ['copy-a', 'copy-b']) {
      const dir = await context(name, 'COPY data /data\nRUN cat /data > /seen');
      // The same bytes and times in both contexts: the COPY layers are the same blob, diffID and snapshot.
      await writeFile(join(dir, 'data'), 'shared bytes\n');
      await utimes(join(dir, 'data'), 1_700_000_000, 1_700_000_000);
      contexts[`${name}:1`] = dir;
    }
    await buildAtOnce(contexts);
    const [a, b] = await Promise.all([t.engine.inspectImage('copy-a:1'), t.engine.inspectImage('copy-b:1')]);
    expect(a.RootFS.Layers[1]).toBe(b.RootFS.Layers[1]);
    expect(await cat('copy-a:1', '/seen')).toBe('shared bytes\n');
    expect(await cat('copy-b:1', '/seen')).toBe('shared bytes\n');
  });

  test('each build\'s events tell only its own steps\' output', async () => {
    const events = await buildAtOnce({
      'out-a:1': await context('out-a', 'RUN echo from-a-$((20+1))'),
      'out-b:1': await context('out-b', 'RUN echo from-b-$((20+2))'),
    });
    const said = (tag: string): string =>
      (events[tag] ?? [])
        .flatMap((event) => (event.type === 'output' ? [event.data.toString()] : []))
        .join('');
    expect(said('out-a:1')).toContain('from-a-21');
    expect(said('out-a:1')).not.toContain('from-b-22');
    expect(said('out-b:1')).toContain('from-b-22');
    expect(said('out-b:1')).not.toContain('from-a-21');
  });

  test('afterwards the store is consistent and no scratch directory or step container is left', async () => {
    await buildAtOnce({
      'tidy-a:1': await context('tidy-a', 'RUN echo a > /a'),
      'tidy-b:1': await context('tidy-b', 'RUN echo b > /b'),
    });
    const store = await openStore({ root: t.root });
    expect((await store.fsck()).problems).toEqual([]);
    expect(Object.keys((await store.snapshots.table()).snapshots).filter((name) => !name.startsWith('sha256:'))).toEqual([]);
    expect(await readdir(join(t.root, 'engine', 'tmp'))).toEqual([]);
    expect(await t.engine.ps({ all: true })).toEqual([]);
  });
});
