/**
 * compose's builds at once, as its classic builder makes them: every service's image built
 * concurrently (at most `parallel`), a build after those it waits for (`depends_on`, an
 * `additional_contexts` `service:NAME`), an image several services name built once, and the
 * first failure cancelling the rest. Real builds FROM busybox on a real engine.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComposeProgress } from '../src/compose';
import { Compose } from '../src/compose';
import { build, ensureImages } from '../src/images';
import type { BuildConfig, ServiceConfig } from '../src/model';
import { collector, testEngine, type TestEngine } from '../../engine/test/fixture';
import { project, service } from './lifecycle-project';
import { load, removeFixtures } from './load-support';

let t: TestEngine;
let work: string;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-compose-build-concurrency-'));
});

afterAll(async () => {
  await t?.cleanup();
  await rm(work, { recursive: true, force: true });
  await removeFixtures();
});

/** A build context whose Dockerfile is `dockerfile` (a FROM line first). */
async function context(name: string, dockerfile: string, extra: Partial<BuildConfig> = {}): Promise<BuildConfig> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), `${dockerfile}\n`);
  return { context: dir, args: {}, labels: {}, tags: [], cache_from: [], extra_hosts: [], secrets: [], platforms: [], ...extra };
}

/** A service built FROM busybox with these steps after the FROM line, in its own context. */
async function built(name: string, prefix: string, steps: string, extra: Partial<ServiceConfig> = {}): Promise<ServiceConfig> {
  return service(name, { build: await context(`${prefix}-${name}`, `FROM busybox\n${steps}`), ...extra });
}

/** The build progress told, as `service status` lines. */
function progress(): { events: string[]; onProgress: (event: ComposeProgress) => void } {
  const events: string[] = [];
  return { events, onProgress: (event) => events.push(`${event.name} ${event.status}`) };
}

async function imageExists(ref: string): Promise<boolean> {
  return t.engine.inspectImage(ref).then(() => true, () => false);
}

async function cat(image: string, file: string): Promise<string> {
  const stdout = collector();
  await t.engine.run({ image, cmd: ['cat', file], network: 'none', pull: 'never', autoRemove: true, stdout });
  return stdout.text();
}

describe('compose build, several services', () => {
  test('with no limit, every build starts before any has ended', async () => {
    const p = project('cc', [await built('a', 'cc', 'RUN echo a > /a'), await built('b', 'cc', 'RUN echo b > /b')]);
    const { events, onProgress } = progress();
    await build(t.engine, p, { onProgress });
    expect(events.slice(0, 2).sort()).toEqual(['a Building', 'b Building']);
    expect(events.slice(2).sort()).toEqual(['a Built', 'b Built']);
  });

  test('with parallel 1, one build at a time, in the project\'s order', async () => {
    const p = project('cs', [await built('a', 'cs', 'RUN echo a > /a'), await built('b', 'cs', 'RUN echo b > /b')]);
    const { events, onProgress } = progress();
    await build(t.engine, p, { onProgress, parallel: 1 });
    expect(events).toEqual(['a Building', 'a Built', 'b Building', 'b Built']);
  });

  test('a build whose additional_contexts names a service waits for that build, and builds on its image', async () => {
    const app = await built('app', 'cx', 'COPY --from=base /made-by /made-by', {});
    app.build = { ...app.build!, additional_contexts: { base: 'service:base' } };
    const p = project('cx', [app, await built('base', 'cx', 'RUN echo base > /made-by')]);
    const { events, onProgress } = progress();
    await build(t.engine, p, { onProgress });
    expect(events).toEqual(['base Building', 'base Built', 'app Building', 'app Built']);
    expect(await cat('cx-app', '/made-by')).toBe('base\n');
  });

  test('a build FROM the image of a service it depends on waits for that build', async () => {
    const p = project('cf', [
      service('app', { build: await context('cf-app', 'FROM cf-base\nRUN cat /made-by > /seen'), depends_on: { base: { condition: 'service_started', required: true, restart: false } } }),
      await built('base', 'cf', 'RUN echo base > /made-by'),
    ]);
    const { events, onProgress } = progress();
    await build(t.engine, p, { onProgress });
    expect(events).toEqual(['base Building', 'base Built', 'app Building', 'app Built']);
    expect(await cat('cf-app', '/seen')).toBe('base\n');
  });

  test('an image two services name is built once, by the first of them', async () => {
    const p = project('co', [await built('a', 'co', 'RUN echo a > /a', { image: 'co-shared:1' }), await built('b', 'co', 'RUN echo b > /b', { image: 'co-shared:1' })]);
    const { events, onProgress } = progress();
    await build(t.engine, p, { onProgress });
    expect(events).toEqual(['a Building', 'a Built']);
    expect(await cat('co-shared:1', '/a')).toBe('a\n');
  });

  test('a dependency, through another service, on a service naming the image it builds is no cycle', async () => {
    const started = { condition: 'service_started', required: true, restart: false } as const;
    const p = project('cl', [
      await built('api', 'cl', 'RUN echo api > /by', { image: 'cl-myapp', depends_on: { worker: started } }),
      service('worker', { image: 'busybox', depends_on: { migrate: started } }),
      await built('migrate', 'cl', 'RUN echo migrate > /by', { image: 'cl-myapp' }),
    ]);
    const { events, onProgress } = progress();
    await build(t.engine, p, { onProgress });
    expect(events).toEqual(['api Building', 'api Built']);
  });

  test('a real depends_on cycle is refused in compose\'s words, nothing built', async () => {
    const started = { condition: 'service_started', required: true, restart: false } as const;
    const p = project('cy', [await built('a', 'cy', 'RUN true', { depends_on: { b: started } }), await built('b', 'cy', 'RUN true', { depends_on: { a: started } })]);
    const { events, onProgress } = progress();
    await expect(build(t.engine, p, { onProgress })).rejects.toThrow('cycle found: a -> b -> a');
    expect(events).toEqual([]);
  });

  test('building one service builds the service its additional_contexts names too', async () => {
    const app = await built('app', 'cn', 'COPY --from=base /made-by /made-by');
    app.build = { ...app.build!, additional_contexts: { base: 'service:base' } };
    const p = project('cn', [app, await built('base', 'cn', 'RUN echo base > /made-by'), await built('other', 'cn', 'RUN true')]);
    const { events, onProgress } = progress();
    await build(t.engine, p, { services: ['app'], onProgress });
    expect(events).toEqual(['base Building', 'base Built', 'app Building', 'app Built']);
  });
});

describe('compose build, a failure', () => {
  test('is what the build throws, and cancels the builds under way', async () => {
    const p = project('cfail', [await built('bad', 'cfail', 'RUN exit 3'), await built('slow', 'cfail', 'RUN sleep 600')]);
    const failed: ComposeProgress[] = [];
    const error = await build(t.engine, p, { onProgress: (event) => event.status === 'Error' && failed.push(event) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3", details: { exitCode: 3 } });
    expect(failed.map((event) => event.name).sort()).toEqual(['bad', 'slow']);
    expect(failed.find((event) => event.name === 'slow')?.detail).toBe('canceled');
    expect(await imageExists('cfail-slow')).toBe(false);
    // The failed step's container stays, as docker's builder keeps it; the cancelled step's runs no more.
    expect(await t.engine.ps()).toEqual([]);
  });

  test('leaves the builds not yet started unstarted', async () => {
    const p = project('cfirst', [await built('bad', 'cfirst', 'RUN exit 4'), await built('next', 'cfirst', 'RUN true')]);
    const { events, onProgress } = progress();
    await expect(build(t.engine, p, { onProgress, parallel: 1 })).rejects.toThrow("returned a non-zero code: 4");
    expect(events).toEqual(['bad Building', 'bad Error']);
  });
});

describe('the builds up, create and run make', () => {
  test('are bounded by parallel as compose build\'s are', async () => {
    const p = project('ce', [await built('a', 'ce', 'RUN echo a > /a'), await built('b', 'ce', 'RUN echo b > /b')]);
    const { events, onProgress } = progress();
    await ensureImages(t.engine, p, ['a', 'b'], { onProgress, parallel: 1 });
    expect(events).toEqual(['a Building', 'a Built', 'b Building', 'b Built']);
  });
});

describe('Compose', () => {
  test('builds with its parallel setting', async () => {
    const p = project('cp', [await built('a', 'cp', 'RUN echo a > /a'), await built('b', 'cp', 'RUN echo b > /b')]);
    const { events, onProgress } = progress();
    await new Compose(t.engine, p, { parallel: 1 }).build({ onProgress });
    expect(events).toEqual(['a Building', 'a Built', 'b Building', 'b Built']);
  });
});

describe('additional_contexts, loaded', () => {
  test('a directory is made absolute as the context is; a service or an image is kept as written', async () => {
    const p = await load({
      'compose.yaml': ['services:', '  app:', '    build:', '      context: .', '      additional_contexts:', '        - dir=./extra', '        - base=service:base', '        - img=docker-image://busybox', '  base:', '    build: .', ''].join('\n'),
    });
    expect(p.services.app?.build?.additional_contexts).toEqual({ dir: join(p.working_dir, 'extra'), base: 'service:base', img: 'docker-image://busybox' });
  });
});
