/**
 * compose's `--parallel` in the library: the most services a verb acts on at once (in
 * dependency order, as compose's WithMaxConcurrency) and the most images it pulls or pushes at
 * once (as compose's errgroup SetLimit); -1, the default, for no limit. Measured on a real
 * engine, through a wrapper that only counts the calls in flight.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { Compose } from '../src/compose';
import { checkParallel, concurrencyLimit } from '../src/concurrency';
import type { ComposeEngine } from '../src/labels';
import * as lifecycle from '../src/lifecycle';
import type { BuildConfig, ComposeProject } from '../src/model';
import { testEngine, type TestEngine } from '../../engine/test/fixture';
import { project, sleeper } from './lifecycle-project';

jest.setTimeout(120_000);

let t: TestEngine;
let work: string;
beforeAll(async () => {
  t = await testEngine();
  work = await mkdtemp(join(tmpdir(), 'ctr-compose-parallel-'));
}, 60_000);
afterAll(async () => {
  await t?.engine.close();
  await t?.cleanup();
  await rm(work, { recursive: true, force: true });
});

type Counted = 'create' | 'start' | 'remove' | 'pull' | 'push';

/**
 * The engine, each call of the `counted` methods held until `together` of them are in flight
 * (or all that are left of the `total` each will get): `most` is the most that were ever in
 * flight at once, `called` how many were made. A limit a verb breaks shows as more than
 * `together`; a verb that runs fewer at once than it may never lets the held calls go (the
 * test times out).
 */
function counting(engine: ComposeEngine, counted: readonly Counted[], together: number, total: number): { engine: ComposeEngine; most: Partial<Record<Counted, number>>; called: Partial<Record<Counted, number>> } {
  const most: Partial<Record<Counted, number>> = {};
  const called: Partial<Record<Counted, number>> = {};
  const calls = new Map(counted.map((method) => [method as string, { inFlight: 0, finished: 0, held: [] as (() => void)[] }]));
  const proxy = new Proxy(engine, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      const state = typeof property === 'string' ? calls.get(property) : undefined;
      if (!state) return method.bind(target);
      const name = property as Counted;
      const releaseIfTogether = (): void => {
        if (state.inFlight >= Math.min(together, total - state.finished)) for (const go of state.held.splice(0)) go();
      };
      return async (...args: unknown[]): Promise<unknown> => {
        state.inFlight++;
        called[name] = (called[name] ?? 0) + 1;
        most[name] = Math.max(most[name] ?? 0, state.inFlight);
        const held = new Promise<void>((go) => state.held.push(go));
        releaseIfTogether();
        await held;
        try {
          return await method.apply(target, args);
        } finally {
          state.inFlight--;
          state.finished++;
          releaseIfTogether();
        }
      };
    },
  });
  return { engine: proxy, most, called };
}

const four = (name: string): ComposeProject => project(name, ['a', 'b', 'c', 'd'].map((s) => sleeper(s)));

describe('the limit', () => {
  test('runs at most its number of tasks at once, the next one as soon as one ends', async () => {
    const limit = concurrencyLimit(2);
    const ends: (() => void)[] = [];
    const started: number[] = [];
    const tasks = [0, 1, 2].map((i) => limit(() => new Promise<void>((end) => (started.push(i), ends.push(end)))));
    await new Promise(setImmediate);
    expect(started).toEqual([0, 1]);
    ends[0]!();
    await new Promise(setImmediate);
    expect(started).toEqual([0, 1, 2]);
    for (const end of ends) end();
    await Promise.all(tasks);
  });

  test('a fraction is refused; any integer is taken', () => {
    for (const taken of [-2, -1, 0, 3]) expect(checkParallel(taken)).toBe(taken);
    expect(() => checkParallel(1.5, '--parallel')).toThrow('--parallel must be an integer (found: 1.5)');
  });
});

describe('services in dependency order', () => {
  test('up with parallel 2 creates and starts at most two services at once, and down removes two at once', async () => {
    const p = four('par2');
    const counted = counting(t.engine, ['create', 'start', 'remove'], 2, 4);
    const compose = new Compose(counted.engine, p, { parallel: 2 });
    await compose.up();
    await compose.down({ timeout: 0 });
    expect(counted.most).toEqual({ create: 2, start: 2, remove: 2 });
  });

  test('without a limit (the default, -1), every independent service is created and started at once', async () => {
    const p = four('parall');
    const counted = counting(t.engine, ['create', 'start'], 4, 4);
    await new Compose(counted.engine, p).up();
    await lifecycle.down(t.engine, p, { timeout: 0 });
    expect(counted.most).toEqual({ create: 4, start: 4 });
  });

  test('a verb\'s own parallel wins over the one the Compose was made with', async () => {
    const p = four('parown');
    const counted = counting(t.engine, ['create'], 1, 4);
    await new Compose(counted.engine, p, { parallel: 3 }).create({ parallel: 1 });
    await lifecycle.down(t.engine, p, {});
    expect(counted.most).toEqual({ create: 1 });
  });

  test('a service waiting for its dependency holds no slot: a chain comes up under parallel 1', async () => {
    const started = { condition: 'service_started', required: true, restart: false } as const;
    const p = project('parchain', [sleeper('web', { depends_on: { api: started } }), sleeper('api', { depends_on: { db: started } }), sleeper('db')]);
    await lifecycle.up(t.engine, p, { parallel: 1 });
    expect((await lifecycle.ps(t.engine, p, {})).map((c) => `${c.Service} ${c.State}`)).toEqual(['api running', 'db running', 'web running']);
    await lifecycle.down(t.engine, p, { timeout: 0, parallel: 1 });
  });

  test('parallel 0, as compose takes it, is no limit', async () => {
    const p = four('parzero');
    const counted = counting(t.engine, ['create'], 4, 4);
    await new Compose(counted.engine, p, { parallel: 0 }).create();
    await lifecycle.down(t.engine, p, {});
    expect(counted.most).toEqual({ create: 4 });
  });

  test('a fractional parallel is refused before anything is made', async () => {
    const p = four('parfrac');
    await expect(lifecycle.up(t.engine, p, { parallel: 1.5 })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'parallel must be an integer (found: 1.5)' });
    expect(() => new Compose(t.engine, p, { parallel: 1.5 })).toThrow('parallel must be an integer (found: 1.5)');
    expect(await t.engine.networks({ filters: { name: ['parfrac_default'] } })).toEqual([]);
  });
});

describe('images against a registry on 127.0.0.1', () => {
  let registry: RegistryServer;
  const refs = (repo: string): string[] => ['a', 'b', 'c'].map((s) => `${registry.host}/${repo}/${s}:1`);
  const built = (ref: string, i: number): ComposeProject['services'][string] => {
    const build: BuildConfig = { context: work, args: {}, labels: {}, tags: [], cache_from: [], extra_hosts: [], secrets: [], platforms: [] };
    return sleeper(`s${i}`, { image: ref, build });
  };
  beforeAll(async () => {
    registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
    await registry.listen();
    // Three images in the registry, pushed one at a time: what the pull tests fetch.
    for (const ref of refs('par')) {
      await t.engine.tag('busybox', ref);
      await t.engine.push(ref);
    }
  });
  afterAll(async () => {
    await registry?.close();
  });

  test('push with parallel 2 sends at most two images at once', async () => {
    const p = project('parpush', refs('par').map(built));
    const counted = counting(t.engine, ['push'], 2, 3);
    await new Compose(counted.engine, p, { parallel: 2 }).push();
    expect(counted.most).toEqual({ push: 2 });
  });

  test('with parallel 1, a failed push leaves the images still waiting for their turn unpushed, as compose\'s cancelled group', async () => {
    const p = project('parfail', refs('parfail').map(built));
    const counted = counting(t.engine, ['push'], 1, 3);
    await expect(new Compose(counted.engine, p, { parallel: 1 }).push()).rejects.toMatchObject({ code: 'NotFound' });
    expect(counted.called).toEqual({ push: 1 });
  });

  test('pull with parallel 2 fetches at most two images at once', async () => {
    const p = project('parpull', refs('par').map((ref, i) => sleeper(`s${i}`, { image: ref })));
    for (const ref of refs('par')) await t.engine.removeImage(ref);
    const counted = counting(t.engine, ['pull'], 2, 3);
    await new Compose(counted.engine, p, { parallel: 2 }).pull();
    expect(counted.most).toEqual({ pull: 2 });
  });

  test('pull without a limit fetches every image at once', async () => {
    const p = project('parpulls', refs('par').map((ref, i) => sleeper(`s${i}`, { image: ref })));
    for (const ref of refs('par')) await t.engine.removeImage(ref);
    const counted = counting(t.engine, ['pull'], 3, 3);
    await new Compose(counted.engine, p).pull();
    expect(counted.most).toEqual({ pull: 3 });
  });
});
