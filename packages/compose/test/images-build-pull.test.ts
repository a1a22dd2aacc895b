/**
 * compose's image verbs on a real engine: `build` (tags `<project>-<service>`, args, labels),
 * `ensureImages` (what up/create/run build or pull: the pull policy, `--build`, `--no-build`),
 * `pull` and `push` against ctr's registry server on 127.0.0.1, and `images`' rows.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import type { ComposeProgress } from '../src/compose';
import { build, ensureImages, images, pull, push, serviceImage } from '../src/images';
import { LABEL } from '../src/labels';
import type { BuildConfig } from '../src/model';
import { collector, testEngine, type TestEngine } from '../../engine/test/fixture';
import { project, service } from './lifecycle-project';

let t: TestEngine;
let work: string;

beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-compose-images-'));
});

afterAll(async () => {
  await t?.cleanup();
  await rm(work, { recursive: true, force: true });
});

/** A build context FROM busybox with this Dockerfile body after the FROM line. */
async function context(name: string, body: string): Promise<BuildConfig> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), `FROM busybox\n${body}\n`);
  return { context: dir, args: {}, labels: {}, tags: [], cache_from: [], extra_hosts: [], secrets: [], platforms: [] };
}

async function imageExists(ref: string): Promise<boolean> {
  return t.engine.inspectImage(ref).then(() => true, () => false);
}

describe('serviceImage', () => {
  test('is the service image when it names one, else <project>-<service>', () => {
    const p = project('shop', [service('web', { image: 'nginx:1' }), service('api', { build: { context: '/x' } as BuildConfig })]);
    expect(serviceImage(p, p.services.web!)).toBe('nginx:1');
    expect(serviceImage(p, p.services.api!)).toBe('shop-api');
  });
});

describe('build', () => {
  test('tags the built image <project>-<service> and the build tags, with compose labels', async () => {
    const p = project('bt', [service('web', { build: { ...(await context('bt', 'LABEL mine=yes')), tags: ['bt-extra:1'], labels: { team: 'a' } } })]);
    const events: ComposeProgress[] = [];
    const lines: string[] = [];
    await build(t.engine, p, { onProgress: (e) => events.push(e), onOutput: (_s, line) => lines.push(line) });
    const image = await t.engine.inspectImage('bt-web');
    expect(image.RepoTags).toEqual(expect.arrayContaining(['bt-web:latest', 'bt-extra:1']));
    expect(image.Config.Labels).toMatchObject({ mine: 'yes', team: 'a', [LABEL.project]: 'bt', [LABEL.service]: 'web' });
    expect(events.map((e) => `${e.resource} ${e.name} ${e.status}`)).toEqual(['Service web Building', 'Service web Built']);
    expect(lines).toContain('Step 1/6 : FROM busybox');
  });

  test('passes args, a valueless one from the project environment, and --build-arg over them', async () => {
    const dockerfile = 'ARG A\nARG B\nARG C\nRUN echo "$A-$B-$C" > /args';
    const p = project('ba', [service('web', { build: { ...(await context('ba', dockerfile)), args: { A: 'one', B: null, C: 'three' } } })], { environment: { B: 'two' } });
    await build(t.engine, p, { buildArgs: { C: 'over' } });
    const stdout = collector();
    const run = await t.engine.run({ image: 'ba-web', cmd: ['cat', '/args'], pull: 'never', autoRemove: true, stdout });
    expect(run.exitCode).toBe(0);
    expect(stdout.text()).toBe('one-two-over\n');
  });

  test("refuses a DOCKER_DEFAULT_PLATFORM that build.platforms does not list, in compose's words", async () => {
    const p = project('bdp', [service('web', { build: { ...(await context('bdp', 'LABEL x=1')), platforms: ['linux/amd64', 'linux/arm64'] } })], { environment: { DOCKER_DEFAULT_PLATFORM: 'linux/s390x' } });
    await expect(build(t.engine, p, {})).rejects.toThrow('service "web" build.platforms does not support value set by DOCKER_DEFAULT_PLATFORM: linux/s390x');
  });
});

describe('ensureImages', () => {
  test('builds a service with build: whose image is missing, and not again once it exists', async () => {
    const p = project('em', [service('web', { build: await context('em', 'LABEL built=1') })]);
    const events: string[] = [];
    await ensureImages(t.engine, p, ['web'], { onProgress: (e) => events.push(`${e.name} ${e.status}`) });
    expect(await imageExists('em-web')).toBe(true);
    await ensureImages(t.engine, p, ['web'], { onProgress: (e) => events.push(`${e.name} ${e.status}`) });
    expect(events).toEqual(['web Building', 'web Built']);
  });

  test('--build rebuilds an image that exists', async () => {
    const p = project('eb', [service('web', { build: await context('eb', 'LABEL built=1') })]);
    await ensureImages(t.engine, p, ['web']);
    const events: string[] = [];
    await ensureImages(t.engine, p, ['web'], { build: 'always', onProgress: (e) => events.push(`${e.name} ${e.status}`) });
    expect(events).toEqual(['web Building', 'web Built']);
  });

  test('an image present locally is not pulled under pull_policy missing', async () => {
    const p = project('ep', [service('web', { image: 'busybox', pull_policy: 'missing' }), service('db', { image: 'busybox:latest' })]);
    const events: ComposeProgress[] = [];
    await ensureImages(t.engine, p, ['web', 'db'], { onProgress: (e) => events.push(e) });
    expect(events).toEqual([]);
  });

  test('--no-build with a built image missing is an error naming the service, and nothing is pulled', async () => {
    const p = project('enb', [service('web', { build: await context('enb', 'LABEL x=1') })]);
    const events: ComposeProgress[] = [];
    await expect(ensureImages(t.engine, p, ['web'], { build: 'never', onProgress: (e) => events.push(e) })).rejects.toThrow(
      'image enb-web for service "web" is not built, and --no-build was given',
    );
    expect(events).toEqual([]);
  });

  test('pull_policy never leaves a missing image to the create, without pulling', async () => {
    const p = project('env', [service('web', { image: 'not-here-anywhere:1', pull_policy: 'never' })]);
    const events: ComposeProgress[] = [];
    await ensureImages(t.engine, p, ['web'], { onProgress: (e) => events.push(e) });
    expect(events).toEqual([]);
  });

  test('a service with neither image nor build is compose\'s error', async () => {
    const p = project('enone', [service('web')]);
    await expect(ensureImages(t.engine, p, ['web'])).rejects.toThrow('invalid service "web". Must specify either image or build');
  });

  test('an unknown service is compose\'s error', async () => {
    const p = project('eunk', [service('web', { image: 'busybox' })]);
    await expect(ensureImages(t.engine, p, ['nope'])).rejects.toThrow('no such service: nope');
  });
});

describe('pull and push against a registry on 127.0.0.1', () => {
  let registry: RegistryServer;
  beforeAll(async () => {
    registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
    await registry.listen();
  });
  afterAll(async () => {
    await registry?.close();
  });

  test('push sends the images of services with both build and image; pull brings them back', async () => {
    const ref = `${registry.host}/compose/web:1`;
    const p = project('pp', [service('web', { image: ref, build: await context('pp', 'LABEL pushed=1') }), service('plain', { image: 'busybox' })]);
    await build(t.engine, p, { services: ['web'] });
    const events: string[] = [];
    await push(t.engine, p, { onProgress: (e) => e.done && events.push(`${e.resource} ${e.name} ${e.status}`) });
    expect(events).toEqual([`Image ${ref} Pushed`]);
    await t.engine.removeImage(ref);
    const pulled: string[] = [];
    await pull(t.engine, p, { services: ['web'], onProgress: (e) => e.done && pulled.push(`${e.resource} ${e.name} ${e.status}`) });
    expect(pulled).toEqual([`Image ${ref} Pulled`]);
    expect(await imageExists(ref)).toBe(true);
  });

  test('pull --policy missing skips a tagged image already present', async () => {
    await t.engine.tag('busybox', 'busybox:compose-test');
    const p = project('pm', [service('web', { image: 'busybox:compose-test' }), service('src', { build: await context('pm', 'LABEL a=1') })]);
    const events: string[] = [];
    await pull(t.engine, p, { policy: 'missing', onProgress: (e) => events.push(`${e.name} ${e.status} ${e.detail ?? ''}`.trim()) });
    expect(events).toEqual(['web Skipped Image is already present locally', 'src Skipped No image to be pulled']);
  });

  test("an image here for another platform than the service's platform: is pulled for that one under pull_policy missing", async () => {
    const other = process.arch === 'arm64' ? 'amd64' : 'arm64';
    const ref = `${registry.host}/compose/platformed:1`;
    const rootfs = await mkdtemp(join(work, 'rootfs-'));
    await t.engine.importImage({ dir: rootfs }, { name: ref, platform: { os: 'linux', architecture: other } });
    await t.engine.push(ref);
    await t.engine.removeImage(ref);
    await t.engine.tag('busybox', ref);
    const p = project('ppl', [service('web', { image: ref, platform: `linux/${other}`, pull_policy: 'missing' })]);
    await ensureImages(t.engine, p, ['web']);
    expect((await t.engine.inspectImage(ref)).Architecture).toBe(other);
  });

  test('a failed pull fails the verb, and --ignore-pull-failures lets it pass', async () => {
    const p = project('pf', [service('web', { image: `${registry.host}/compose/absent:1` })]);
    await expect(pull(t.engine, p, {})).rejects.toThrow();
    await expect(pull(t.engine, p, { ignorePullFailures: true })).resolves.toBeUndefined();
  });
});

describe('images', () => {
  test('lists each project container with its image repository, tag, ID and size', async () => {
    const p = project('im', [service('web', { image: 'busybox' })]);
    const labels = (n: number, oneoff: string): Record<string, string> => ({ [LABEL.project]: 'im', [LABEL.service]: 'web', [LABEL.containerNumber]: String(n), [LABEL.oneoff]: oneoff });
    await t.engine.create({ image: 'busybox', name: 'im-web-2', labels: labels(2, 'False'), pull: 'never' });
    await t.engine.create({ image: 'busybox:latest', name: 'im-web-1', labels: labels(1, 'False'), pull: 'never' });
    await t.engine.create({ image: 'busybox', name: 'other-web-1', labels: { ...labels(1, 'False'), [LABEL.project]: 'other' }, pull: 'never' });
    const busybox = await t.engine.inspectImage('busybox');
    const rows = await images(t.engine, p, {});
    expect(rows).toEqual([
      { Container: 'im-web-1', Repository: 'busybox', Tag: 'latest', ID: busybox.Id, Size: busybox.Size },
      { Container: 'im-web-2', Repository: 'busybox', Tag: 'latest', ID: busybox.Id, Size: busybox.Size },
    ]);
  });
});
