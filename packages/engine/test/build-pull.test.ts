/**
 * `build({ pull: true })`, docker's `build --pull`: the base is pulled from its registry even
 * when here, the build runs on what the registry has now, and the steps cached on the old base
 * are not reused for a new one (the same one's are). Without it the base here is used as it
 * is. A pull that fails fails the build. The pull's messages are build events, under the FROM
 * step, as dockerd streams them. Against ctr's registry server on 127.0.0.1.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildEvent } from '@ctr/dockerfile';
import { CtrError } from '@ctr/errors';
import { startBaseRegistry, type BaseRegistry } from '../../../test/support/base-registry';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
let bases: BaseRegistry;
let context: string;
let base: string;
/** The image the first build made, on the base as first published. */
let first: string;

beforeAll(async () => {
  t = await testEngine();
  bases = await startBaseRegistry();
  base = `${bases.registry.host}/base:1`;
  await bases.publish(base, { 'base-version': 'one\n' });
  context = await mkdtemp(join(t.root, 'context-'));
  await writeFile(join(context, 'Dockerfile'), `FROM ${base}\nRUN cat /base-version\n`);
  first = (await t.engine.build({ context })).id;
  // The tag now names another image in the registry; this engine still has the first.
  await bases.publish(base, { 'base-version': 'two\n', 'new-file': 'only in the new base\n' });
});

afterAll(async () => {
  await bases?.close();
  await t?.cleanup();
});

/** Build the context, collecting its events. */
async function build(pull: boolean): Promise<{ id: string; events: BuildEvent[] }> {
  const events: BuildEvent[] = [];
  const { id } = await t.engine.build({ context, pull, onEvent: (event) => events.push(event) });
  return { id, events };
}

const events = (all: readonly BuildEvent[], type: BuildEvent['type']): BuildEvent[] => all.filter((event) => event.type === type);
const pulls = (all: readonly BuildEvent[]): BuildEvent[] => events(all, 'pull');
const output = (all: readonly BuildEvent[]): string => all.map((event) => (event.type === 'output' ? event.data.toString() : '')).join('');

test('without pull the base here is used: nothing is pulled and every step is cached', async () => {
  const built = await build(false);
  expect(built.id).toBe(first);
  expect(pulls(built.events)).toEqual([]);
  expect(events(built.events, 'cache-hit')).toHaveLength(1);
});

describe('with pull', () => {
  /** The first build with pull: the base pulled anew. */
  let pulled: { id: string; events: BuildEvent[] };

  beforeAll(async () => {
    pulled = await build(true);
  });

  test('the base is pulled anew and the build is of it: its new file is in the image', async () => {
    expect(pulled.id).not.toBe(first);
    const out = collector();
    const ran = await t.engine.run({ image: pulled.id, network: 'none', cmd: ['cat', '/new-file'], stdout: out, autoRemove: true });
    expect(ran.exitCode).toBe(0);
    expect(out.text()).toBe('only in the new base\n');
  });

  test("no step is taken from the old base's cache: each runs on the new one", () => {
    expect(pulled.events.some((event) => event.type === 'cache-hit')).toBe(false);
    expect(output(pulled.events)).toBe('two\n');
  });

  test("the pull's messages are the FROM step's events, as dockerd streams a pull", () => {
    const messages = pulls(pulled.events);
    expect(messages.every((event) => event.type === 'pull' && event.step === 1)).toBe(true);
    const lines = messages.map((event) => (event.type === 'pull' ? [event.id, event.status] : []));
    expect(lines[0]).toEqual(['1', 'Pulling from base']);
    // busybox's layer is here; the new base's own is downloaded and unpacked.
    expect(lines).toContainEqual([expect.stringMatching(/^[0-9a-f]{12}$/), 'Already exists']);
    expect(lines).toContainEqual([expect.stringMatching(/^[0-9a-f]{12}$/), 'Pull complete']);
    expect(lines.slice(-2)).toEqual([
      [undefined, expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/)],
      [undefined, `Status: Downloaded newer image for ${base}`],
    ]);
  });

  test('pulled again unchanged, the base is up to date and the steps on it are cached', async () => {
    const again = await build(true);
    expect(again.id).toBe(pulled.id);
    expect(events(again.events, 'cache-hit')).toHaveLength(1);
    expect(pulls(again.events).at(-1)).toMatchObject({ status: `Status: Image is up to date for ${base}` });
  });
});

describe('with the registry stopped', () => {
  beforeAll(async () => {
    await bases.registry.close();
  });

  test('a build with pull fails with a CtrError naming the registry, and builds nothing', async () => {
    const before = (await t.engine.images()).length;
    const failed = await build(true).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(CtrError);
    expect((failed as CtrError).message).toContain(bases.registry.host);
    expect((await t.engine.images()).length).toBe(before);
  });

  test('a build without pull needs no registry', async () => {
    expect((await build(false)).events.some((event) => event.type === 'pull')).toBe(false);
  });
});
