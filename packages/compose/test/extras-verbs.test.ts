/**
 * compose's wait, events, cp targets, attach, scale, commit and export on a real engine:
 * busybox containers labelled as compose labels them, or made by `up`.
 */
import { PassThrough } from 'node:stream';
import { testEngine, type TestEngine } from '../../engine/test/fixture';
import { Compose } from '../src/compose';
import type { ComposeEngine } from '../src/labels';
import { LABEL } from '../src/labels';
import { project, service } from './lifecycle-project';

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
}, 120_000);

const SLEEP = ['sh', '-c', 'trap "exit 4" TERM; while true; do sleep 0.2; done'];

/** A container of `serviceName` in `projectName`, as compose labels it. */
async function composeContainer(projectName: string, serviceName: string, number: number, options: { cmd: string[]; oneoff?: boolean; openStdin?: boolean; start?: boolean }): Promise<string> {
  const oneoff = options.oneoff === true;
  const { id } = await t.engine.create({
    image: 'busybox',
    name: oneoff ? `${projectName}-${serviceName}-run-${number}` : `${projectName}-${serviceName}-${number}`,
    cmd: options.cmd,
    labels: { [LABEL.project]: projectName, [LABEL.service]: serviceName, [LABEL.containerNumber]: String(number), [LABEL.oneoff]: oneoff ? 'True' : 'False' },
    ...(options.openStdin ? { openStdin: true } : {}),
    pull: 'never',
  });
  if (options.start !== false) await t.engine.start(id);
  return id;
}

/** The engine, telling when a container is first waited on (so a test stops it only then). */
function waitedOn(): { engine: ComposeEngine; waiting: Promise<void> } {
  let resolve: () => void = () => undefined;
  const waiting = new Promise<void>((r) => (resolve = r));
  const engine = Object.assign(Object.create(t.engine) as ComposeEngine, {
    wait: (id: string, signal?: AbortSignal) => {
      resolve();
      return t.engine.wait(id, signal);
    },
  });
  return { engine, waiting };
}

describe('wait', () => {
  test('answers the exit code of the container once it stops, and reports its exit', async () => {
    const id = await composeContainer('wt1', 'web', 1, { cmd: SLEEP });
    const { engine, waiting } = waitedOn();
    const exits: Array<[string, number]> = [];
    const done = new Compose(engine, project('wt1', [service('web', { image: 'busybox' })])).wait({ onExit: (c, code) => exits.push([c.name, code]) });
    await waiting;
    await t.engine.stop(id, { timeout: 5 });
    expect(await done).toBe(4);
    expect(exits).toEqual([['wt1-web-1', 4]]);
  }, 60_000);

  test('refuses a project with no running container, in compose\'s words', async () => {
    await expect(new Compose(t.engine, project('wt2', [service('web', { image: 'busybox' })])).wait()).rejects.toThrow('no containers for project "wt2"');
  });

  test('downProject takes the project down once its containers have stopped', async () => {
    const id = await composeContainer('wt3', 'web', 1, { cmd: SLEEP });
    const { engine, waiting } = waitedOn();
    const done = new Compose(engine, project('wt3', [service('web', { image: 'busybox' })])).wait({ downProject: true });
    await waiting;
    await t.engine.stop(id, { timeout: 5 });
    await done;
    expect(await t.engine.ps({ all: true, filters: { label: [`${LABEL.project}=wt3`] } })).toEqual([]);
  }, 60_000);
});

describe('events', () => {
  test('hands on the service containers\' events, without compose\'s labels and without run\'s containers', async () => {
    const since = new Date();
    const id = await composeContainer('ev1', 'web', 1, { cmd: ['true'] });
    await composeContainer('ev1', 'web', 1, { cmd: ['true'], oneoff: true });
    const seen = [];
    for await (const event of new Compose(t.engine, project('ev1', [service('web', { image: 'busybox' })])).events({ since, until: new Date() })) seen.push(event);
    expect(seen.map((e) => e.container)).toEqual(seen.map(() => id));
    expect(seen.find((e) => e.action === 'start')).toMatchObject({ service: 'web', attributes: { name: 'ev1-web-1', image: 'busybox' } });
    expect(seen.flatMap((e) => Object.keys(e.attributes)).filter((key) => key.startsWith('com.docker.compose.'))).toEqual([]);
  }, 60_000);
});

describe('copyTargets', () => {
  const p = project('cpt', [service('web', { image: 'busybox' })]);
  let first: string;
  let second: string;

  beforeAll(async () => {
    first = await composeContainer('cpt', 'web', 1, { cmd: ['true'], start: false });
    second = await composeContainer('cpt', 'web', 2, { cmd: ['true'], start: false });
  }, 60_000);

  test('copying out of a service uses its first container, stopped ones too', async () => {
    expect((await new Compose(t.engine, p).copyTargets('web', { direction: 'from' })).map((c) => c.Id)).toEqual([first]);
  });

  test('copying into a service copies into every replica', async () => {
    expect((await new Compose(t.engine, p).copyTargets('web', { direction: 'to' })).map((c) => c.Id)).toEqual([first, second]);
  });

  test('index picks one replica', async () => {
    expect((await new Compose(t.engine, p).copyTargets('web', { direction: 'to', index: 2 })).map((c) => c.Id)).toEqual([second]);
  });

  test('a service with no container is refused in compose\'s words', async () => {
    await expect(new Compose(t.engine, project('cpt', [service('db', { image: 'busybox' })])).copyTargets('db', { direction: 'from' })).rejects.toThrow('no container found for service "db"');
  });
});

describe('attach', () => {
  test('attaches to the replica: its stdin in, its output out', async () => {
    await composeContainer('at1', 'web', 1, { cmd: ['sh', '-c', 'read line; echo "got $line"'], openStdin: true });
    const stdout = new PassThrough();
    let output = '';
    stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const stdin = new PassThrough();
    stdin.end('hello\n');
    await new Compose(t.engine, project('at1', [service('web', { image: 'busybox' })])).attach('web', { stdin, stdout, stderr: new PassThrough() });
    expect(output).toBe('got hello\n');
  }, 60_000);
});

describe('scale', () => {
  const p = project('sc1', [service('web', { image: 'busybox', command: SLEEP })]);
  const running = async (): Promise<string[]> =>
    (await t.engine.ps({ filters: { label: [`${LABEL.project}=sc1`] } })).map((c) => (c.Names[0] ?? '').replace(/^\//, '')).sort();

  afterAll(async () => {
    await new Compose(t.engine, p).down({ timeout: 1 });
  }, 60_000);

  test('scaling up converges the service to that many running replicas', async () => {
    await new Compose(t.engine, p).up();
    await new Compose(t.engine, p).scale({ web: 3 });
    expect(await running()).toEqual(['sc1-web-1', 'sc1-web-2', 'sc1-web-3']);
  }, 60_000);

  test('scaling to 0 removes the service\'s containers', async () => {
    await new Compose(t.engine, p).scale({ web: 0 });
    expect(await t.engine.ps({ all: true, filters: { label: [`${LABEL.project}=sc1`] } })).toEqual([]);
  }, 60_000);
});

describe('commit and export', () => {
  const p = project('ce1', [service('web', { image: 'busybox' })]);

  beforeAll(async () => {
    await composeContainer('ce1', 'web', 1, { cmd: ['sh', '-c', 'echo one > /replica; exec sleep 60'] });
    await composeContainer('ce1', 'web', 2, { cmd: ['sh', '-c', 'echo two > /replica; exec sleep 60'] });
  }, 60_000);

  test('commit makes an image of the replica, named as asked', async () => {
    const progress: string[] = [];
    const { id } = await new Compose(t.engine, p).commit('web', { index: 2, reference: 'ce1-snapshot:v1', onProgress: (e) => progress.push(`${e.name} ${e.status}`) });
    expect((await t.engine.inspectImage('ce1-snapshot:v1')).Id).toBe(id);
    expect(progress).toEqual(['ce1-web-2 Committing', `ce1-web-2 Committed as ${id}`]);
  }, 60_000);

  test('export streams the replica\'s filesystem as a tar', async () => {
    const tar = await new Compose(t.engine, p).export('web', { index: 2 });
    const chunks: Buffer[] = [];
    for await (const chunk of tar) chunks.push(chunk as Buffer);
    const archive = Buffer.concat(chunks);
    // A tar entry's name starts its 512-byte header; the file's content is the block after it.
    const header = archive.indexOf('replica\0');
    expect(header % 512).toBe(0);
    expect(archive.subarray(header + 512, header + 516).toString()).toBe('two\n');
  }, 60_000);
});
