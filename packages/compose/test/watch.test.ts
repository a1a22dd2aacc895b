/**
 * compose watch on a real engine: busybox containers under runc, real files changed in a
 * temporary project directory, the changes seen by the watch and carried into the containers.
 */
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catIn, collector, eventually, testEngine, type TestEngine } from '../../engine/test/fixture';
import * as lifecycle from '../src/lifecycle';
import type { ComposeProject, ServiceConfig } from '../src/model';
import { watch, watchEventText, type WatchEvent, type WatchOptions } from '../src/watch';
import { project, service } from './lifecycle-project';

let t: TestEngine;
let dir: string;

beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t?.engine.close();
  await t?.cleanup();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-compose-watch-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
jest.setTimeout(120_000);

/** A busybox service that sleeps, with these `develop.watch` rules. */
const watched = (name: string, rules: Record<string, unknown>[], extra: Partial<ServiceConfig> = {}): ServiceConfig =>
  ({ ...service(name, { image: 'busybox', command: ['sleep', '300'], stop_signal: 'SIGKILL', ...extra }), develop: { watch: rules } }) as ServiceConfig;

/** A running watch of `p`, its events so far, and its end. */
interface Running {
  events: WatchEvent[];
  texts(): string[];
  stop(): Promise<void>;
}

async function startWatch(p: ComposeProject, options: WatchOptions = {}): Promise<Running> {
  const controller = new AbortController();
  const events: WatchEvent[] = [];
  let enabled: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (enabled = resolve));
  const done = watch(t.engine, p, {
    ...options,
    signal: controller.signal,
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'enabled') enabled();
    },
  });
  await Promise.race([started, done]);
  return {
    events,
    texts: () => events.map(watchEventText),
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/** What `cat FILE` prints in the service's first container, `missing`, or `busy` while a sync holds it paused. */
const read = (p: ComposeProject, file: string): Promise<string> =>
  catIn(t, `${p.name}-web-1`, file).then(
    (text) => text || 'missing',
    (error: Error) => {
      // The engine pauses a container while it extracts into it; the engine or runc may say so.
      if (/paused/.test(error.message)) return 'busy';
      throw error;
    },
  );

describe('sync', () => {
  test('a new file, a changed file and a deleted file reach the running container', async () => {
    await mkdir(join(dir, 'src'));
    const p = project('wsync', [watched('web', [{ path: './src', action: 'sync', target: '/app' }])], { working_dir: dir });
    await lifecycle.up(t.engine, p, {});
    const w = await startWatch(p);
    try {
      await writeFile(join(dir, 'src', 'new.txt'), 'one\n');
      expect(await eventually(() => read(p, '/app/new.txt'), (text) => text === 'one\n')).toBe('one\n');
      await writeFile(join(dir, 'src', 'new.txt'), 'two\n');
      expect(await eventually(() => read(p, '/app/new.txt'), (text) => text === 'two\n')).toBe('two\n');
      await unlink(join(dir, 'src', 'new.txt'));
      expect(await eventually(() => read(p, '/app/new.txt'), (text) => text === 'missing')).toBe('missing');
      expect(w.texts()).toContain('Syncing service "web" after 1 changes were detected');
    } finally {
      await w.stop();
      await lifecycle.down(t.engine, p, {});
    }
  });

  test('a directory made after the watch began is synced with what it holds, and followed', async () => {
    const p = project('wdir', [watched('web', [{ path: '.', action: 'sync', target: '/app' }])], { working_dir: dir });
    await lifecycle.up(t.engine, p, {});
    const w = await startWatch(p);
    try {
      await mkdir(join(dir, 'lib', 'deep'), { recursive: true });
      await writeFile(join(dir, 'lib', 'deep', 'a.txt'), 'a\n');
      expect(await eventually(() => read(p, '/app/lib/deep/a.txt'), (text) => text === 'a\n')).toBe('a\n');
      await writeFile(join(dir, 'lib', 'deep', 'b.txt'), 'b\n');
      expect(await eventually(() => read(p, '/app/lib/deep/b.txt'), (text) => text === 'b\n')).toBe('b\n');
    } finally {
      await w.stop();
      await lifecycle.down(t.engine, p, {});
    }
  });

  test('ignored files, .git and editor swap files stay out while their neighbours go in', async () => {
    await mkdir(join(dir, 'src', '.git'), { recursive: true });
    const p = project('wignore', [watched('web', [{ path: './src', action: 'sync', target: '/app', ignore: ['*.log', 'tmp/'] }])], { working_dir: dir });
    await lifecycle.up(t.engine, p, {});
    const w = await startWatch(p);
    try {
      await mkdir(join(dir, 'src', 'tmp'));
      await writeFile(join(dir, 'src', 'debug.log'), 'log\n');
      await writeFile(join(dir, 'src', 'tmp', 'scratch'), 'scratch\n');
      await writeFile(join(dir, 'src', '.git', 'HEAD'), 'ref\n');
      await writeFile(join(dir, 'src', '.main.c.swp'), 'swap\n');
      await writeFile(join(dir, 'src', 'main.c'), 'code\n');
      expect(await eventually(() => read(p, '/app/main.c'), (text) => text === 'code\n')).toBe('code\n');
      const listing = collector();
      await t.engine.exec('wignore-web-1', { cmd: ['find', '/app'], stdout: listing });
      expect(listing.text().split('\n').filter(Boolean).sort()).toEqual(['/app', '/app/main.c']);
    } finally {
      await w.stop();
      await lifecycle.down(t.engine, p, {});
    }
  });

  test('initial_sync brings in what the path holds before any change', async () => {
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'already.txt'), 'here\n');
    await writeFile(join(dir, 'src', 'Dockerfile'), 'FROM busybox\n');
    const p = project('winit', [watched('web', [{ path: './src', action: 'sync', target: '/app', initial_sync: true }])], { working_dir: dir });
    await lifecycle.up(t.engine, p, {});
    const w = await startWatch(p);
    try {
      expect(await read(p, '/app/already.txt')).toBe('here\n');
      expect(await read(p, '/app/Dockerfile')).toBe('missing');
    } finally {
      await w.stop();
      await lifecycle.down(t.engine, p, {});
    }
  });
});

test('sync+restart syncs, then restarts the containers', async () => {
  await mkdir(join(dir, 'conf'));
  const p = project('wrestart', [watched('web', [{ path: './conf', action: 'sync+restart', target: '/etc/app' }])], { working_dir: dir });
  await lifecycle.up(t.engine, p, {});
  const before = (await t.engine.inspect('wrestart-web-1')).State.StartedAt;
  const w = await startWatch(p);
  try {
    await writeFile(join(dir, 'conf', 'app.conf'), 'x=1\n');
    await eventually(async () => w.events.map((e) => e.type), (types) => types.includes('restarted'));
    expect(w.texts()).toContain('service(s) ["web"] restarted');
    const after = await t.engine.inspect('wrestart-web-1');
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).not.toBe(before);
    expect(await read(p, '/etc/app/app.conf')).toBe('x=1\n');
  } finally {
    await w.stop();
    await lifecycle.down(t.engine, p, {});
  }
});

test('sync+exec runs the command in each container after the sync, with its user, workdir and environment', async () => {
  await mkdir(join(dir, 'src'));
  const exec = { command: 'sh -c "echo $GREETING $(id -u) $(pwd) >> /tmp/hook.log"', user: '1000', working_dir: '/app', environment: { GREETING: 'synced' } };
  const p = project('wexec', [watched('web', [{ path: './src', action: 'sync+exec', target: '/app', exec }])], { working_dir: dir });
  await lifecycle.up(t.engine, p, {});
  const w = await startWatch(p);
  try {
    await writeFile(join(dir, 'src', 'index.js'), 'x\n');
    expect(await eventually(() => read(p, '/tmp/hook.log'), (text) => text !== 'missing' && text !== 'busy')).toBe('synced 1000 /app\n');
  } finally {
    await w.stop();
    await lifecycle.down(t.engine, p, {});
  }
});

test('rebuild builds the image again and replaces the container with one of the new image', async () => {
  await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY version /version\nCMD ["sleep", "300"]\n');
  await writeFile(join(dir, 'version'), 'v1\n');
  const build = { context: dir, args: {}, labels: {}, tags: [], cache_from: [], extra_hosts: [], secrets: [], platforms: [] };
  const p = project('wrebuild', [watched('web', [{ path: './version', action: 'rebuild' }], { image: undefined, build })], { working_dir: dir });
  await lifecycle.up(t.engine, p, {});
  const before = await t.engine.inspect('wrebuild-web-1');
  const w = await startWatch(p, { prune: true });
  try {
    await writeFile(join(dir, 'version'), 'v2\n');
    await eventually(async () => w.events.map((e) => e.type), (types) => types.includes('built'));
    const after = await eventually(() => t.engine.inspect('wrebuild-web-1').catch(() => before), (c) => c.Id !== before.Id && c.State.Running);
    expect(after.Image).not.toBe(before.Image);
    expect(await read(p, '/version')).toBe('v2\n');
    expect(w.texts().slice(1, 3)).toEqual(['Rebuilding service(s) ["web"] after changes were detected...', 'service(s) ["web"] successfully built']);
    // --prune: the image the old container ran is gone once nothing uses it.
    await expect(t.engine.inspectImage(before.Image)).rejects.toMatchObject({ code: 'NotFound' });
  } finally {
    await w.stop();
    await lifecycle.down(t.engine, p, {});
  }
});

test('a project with no develop.watch is refused in compose\'s words, before anything is watched', async () => {
  const p = project('wnone', [service('web', { image: 'busybox' })], { working_dir: dir });
  await expect(watch(t.engine, p, {})).rejects.toThrow("none of the selected services is configured for watch, consider setting a 'develop' section");
});

test('aborting ends the watch: "Watch disabled", no file watch left open, later changes not synced', async () => {
  await mkdir(join(dir, 'src'));
  const p = project('wabort', [watched('web', [{ path: './src', action: 'sync', target: '/app' }])], { working_dir: dir });
  await lifecycle.up(t.engine, p, {});
  const watches = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'FSEventWrap').length;
  const open = watches();
  const w = await startWatch(p);
  try {
    expect(watches()).toBeGreaterThan(open);
    await w.stop();
    // A closed watch's handle goes in the event loop's close phase, a turn later.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(watches()).toBe(open);
    expect(w.texts()).toEqual(['Watch enabled', 'Watch disabled']);
    await writeFile(join(dir, 'src', 'late.txt'), 'late\n');
    // The quiet period and more: had anything still watched, the file would be in by then.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await read(p, '/app/late.txt')).toBe('missing');
  } finally {
    await lifecycle.down(t.engine, p, {});
  }
});
