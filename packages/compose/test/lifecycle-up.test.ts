import { testEngine, type TestEngine } from '../../engine/test/fixture';
import type { AttachEvent, ComposeProgress } from '../src/compose';
import { LABEL } from '../src/labels';
import * as lifecycle from '../src/lifecycle';
import type { ComposeProject } from '../src/model';
import { project, service, sleeper } from './lifecycle-project';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
  // Health checks are probed by the engine's monitor, as a daemon's would.
  await t.engine.startMonitor();
}, 60_000);
afterAll(async () => {
  await t?.engine.close();
  await t?.cleanup();
});
jest.setTimeout(60_000);

const events = (): { list: ComposeProgress[]; onProgress: (e: ComposeProgress) => void; lines(): string[] } => {
  const list: ComposeProgress[] = [];
  return { list, onProgress: (e) => list.push(e), lines: () => list.map((e) => `${e.resource} ${e.name} ${e.status}`) };
};
const names = async (p: ComposeProject): Promise<string[]> => (await lifecycle.ps(t.engine, p, { all: true })).map((r) => `${r.Name} ${r.State}`);

describe('up', () => {
  it('creates the default network and the containers with compose names and labels', async () => {
    const p = project('upnames', [sleeper('web')]);
    const progress = events();
    await lifecycle.up(t.engine, p, { onProgress: progress.onProgress });
    expect(progress.lines()).toEqual(['Network upnames_default Creating', 'Network upnames_default Created', 'Container upnames-web-1 Creating', 'Container upnames-web-1 Created', 'Container upnames-web-1 Starting', 'Container upnames-web-1 Started']);
    const inspect = await t.engine.inspect('upnames-web-1');
    expect(inspect.State.Running).toBe(true);
    expect(inspect.Config.Labels).toMatchObject({ [LABEL.project]: 'upnames', [LABEL.service]: 'web', [LABEL.containerNumber]: '1', [LABEL.oneoff]: 'False' });
    expect(Object.keys(inspect.NetworkSettings.Networks)).toEqual(['upnames_default']);
    expect((await t.engine.inspectNetwork('upnames_default')).Labels).toMatchObject({ [LABEL.project]: 'upnames', [LABEL.network]: 'default' });
    await lifecycle.down(t.engine, p, {});
  });

  it('is idempotent: a second up keeps the same containers running', async () => {
    const p = project('upagain', [sleeper('web')]);
    await lifecycle.up(t.engine, p, {});
    const before = (await t.engine.inspect('upagain-web-1')).Id;
    const progress = events();
    await lifecycle.up(t.engine, p, { onProgress: progress.onProgress });
    expect((await t.engine.inspect('upagain-web-1')).Id).toBe(before);
    expect(progress.lines()).toEqual(['Container upagain-web-1 Running']);
    await lifecycle.down(t.engine, p, {});
  });

  it('recreates a container whose configuration changed, under the same name', async () => {
    const p = project('uprecreate', [sleeper('web')]);
    await lifecycle.up(t.engine, p, {});
    const before = (await t.engine.inspect('uprecreate-web-1')).Id;
    const changed = project('uprecreate', [sleeper('web', { environment: { CHANGED: '1' } })]);
    const progress = events();
    await lifecycle.up(t.engine, changed, { onProgress: progress.onProgress });
    const after = await t.engine.inspect('uprecreate-web-1');
    expect(after.Id).not.toBe(before);
    expect(after.Config.Env).toContain('CHANGED=1');
    expect(after.Config.Labels[LABEL.replace]).toBe(before);
    expect(progress.lines()).toEqual(['Container uprecreate-web-1 Recreate', 'Container uprecreate-web-1 Recreated', 'Container uprecreate-web-1 Starting', 'Container uprecreate-web-1 Started']);
    await lifecycle.down(t.engine, changed, {});
  });

  it('scales up with the next numbers and down by removing the highest', async () => {
    const p = project('upscale', [sleeper('web')]);
    await lifecycle.up(t.engine, p, { scale: { web: 3 } });
    expect(await names(p)).toEqual(['upscale-web-1 running', 'upscale-web-2 running', 'upscale-web-3 running']);
    await lifecycle.up(t.engine, p, { scale: { web: 1 } });
    expect(await names(p)).toEqual(['upscale-web-1 running']);
    await lifecycle.down(t.engine, p, {});
  });

  it('starts a service once the one it depends on completed successfully', async () => {
    const init = service('init', { image: 'busybox', command: ['sh', '-c', 'exit 0'] });
    const web = sleeper('web', { depends_on: { init: { condition: 'service_completed_successfully', required: true, restart: false } } });
    const p = project('updone', [web, init]);
    const progress = events();
    await lifecycle.up(t.engine, p, { onProgress: progress.onProgress });
    const lines = progress.lines();
    expect(lines.indexOf('Container updone-init-1 Exited')).toBeLessThan(lines.indexOf('Container updone-web-1 Starting'));
    expect(await names(p)).toEqual(['updone-init-1 exited', 'updone-web-1 running']);
    await lifecycle.down(t.engine, p, {});
  });

  it("fails when a dependency does not complete successfully, in compose's words", async () => {
    const init = service('init', { image: 'busybox', command: ['sh', '-c', 'exit 3'] });
    const web = sleeper('web', { depends_on: { init: { condition: 'service_completed_successfully', required: true, restart: false } } });
    const p = project('upfail', [init, web]);
    await expect(lifecycle.up(t.engine, p, {})).rejects.toThrow('service "init" didn\'t complete successfully: exit 3');
    expect(await names(p)).toEqual(['upfail-init-1 exited', 'upfail-web-1 created']);
    await lifecycle.down(t.engine, p, {});
  });

  it('waits for a healthy dependency', async () => {
    const db = sleeper('db', { healthcheck: { test: ['CMD', 'true'], interval: '200ms', retries: 3 } });
    const web = sleeper('web', { depends_on: { db: { condition: 'service_healthy', required: true, restart: false } } });
    const p = project('uphealthy', [web, db]);
    const progress = events();
    await lifecycle.up(t.engine, p, { onProgress: progress.onProgress });
    const lines = progress.lines();
    expect(lines.indexOf('Container uphealthy-db-1 Healthy')).toBeLessThan(lines.indexOf('Container uphealthy-web-1 Starting'));
    await lifecycle.down(t.engine, p, {});
  });

  it('fails on an unhealthy dependency', async () => {
    const db = sleeper('db', { healthcheck: { test: ['CMD', 'false'], interval: '200ms', retries: 1 } });
    const web = sleeper('web', { depends_on: { db: { condition: 'service_healthy', required: true, restart: false } } });
    const p = project('upunhealthy', [web, db]);
    await expect(lifecycle.up(t.engine, p, {})).rejects.toThrow('dependency failed to start: container upunhealthy-db-1 is unhealthy');
    await lifecycle.down(t.engine, p, {});
  });

  it('refuses a dependency cycle', async () => {
    const a = sleeper('a', { depends_on: { b: { condition: 'service_started', required: true, restart: false } } });
    const b = sleeper('b', { depends_on: { a: { condition: 'service_started', required: true, restart: false } } });
    await expect(lifecycle.up(t.engine, project('upcycle', [a, b]), {})).rejects.toThrow(/^cycle found: (a -> b -> a|b -> a -> b)$/);
    expect(await t.engine.ps({ all: true, filters: { label: [`${LABEL.project}=upcycle`] } })).toEqual([]);
  });

  it("refuses a missing external network in compose's words", async () => {
    const p = project('upext', [sleeper('web')], { networks: { default: { name: 'nosuchnet', external: true, driver_opts: {}, labels: {} } } });
    await expect(lifecycle.up(t.engine, p, {})).rejects.toThrow('network nosuchnet declared as external, but could not be found');
  });

  it('reports the attached services\' output and exits, and settles once they have exited', async () => {
    const p = project('upattach', [service('hello', { image: 'busybox', command: ['sh', '-c', 'echo one; echo two >&2; exit 4'] })]);
    const seen: AttachEvent[] = [];
    const result = await lifecycle.up(t.engine, p, { onAttach: (e) => seen.push(e) });
    await result.attached;
    expect(seen).toEqual(
      expect.arrayContaining([
        { type: 'log', service: 'hello', container: 'upattach-hello-1', stream: 'stdout', line: 'one' },
        { type: 'log', service: 'hello', container: 'upattach-hello-1', stream: 'stderr', line: 'two' },
      ]),
    );
    expect(seen.at(-1)).toEqual({ type: 'exit', service: 'hello', container: 'upattach-hello-1', exitCode: 4 });
    await lifecycle.down(t.engine, p, {});
  });

  it("refuses a service whose platform: the local image is not for, with pull_policy: never, in dockerd's words", async () => {
    const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    const other = hostArch === 'arm64' ? 'linux/amd64' : 'linux/arm64';
    const p = project('upplatform', [sleeper('web', { platform: other, pull_policy: 'never' })]);
    try {
      await expect(lifecycle.up(t.engine, p, {})).rejects.toThrow(`image with reference busybox was found but does not match the specified platform: wanted ${other}, actual: linux/${hostArch}`);
      expect(await names(p)).toEqual([]);
    } finally {
      await lifecycle.down(t.engine, p, {});
    }
  });
});

describe('orphans', () => {
  it('warns of containers of services no longer in the project, and removes them when asked', async () => {
    await lifecycle.up(t.engine, project('orph', [sleeper('web'), sleeper('old')]), {});
    const p = project('orph', [sleeper('web')]);
    const progress = events();
    await lifecycle.up(t.engine, p, { onProgress: progress.onProgress });
    expect(progress.list).toContainEqual({
      resource: 'Service',
      name: '',
      status: 'Warning',
      done: true,
      detail: 'Found orphan containers ([orph-old-1]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.',
    });
    await lifecycle.up(t.engine, p, { removeOrphans: true });
    expect((await t.engine.ps({ all: true, filters: { label: [`${LABEL.project}=orph`] } })).map((c) => c.Names[0])).toEqual(['/orph-web-1']);
    await lifecycle.down(t.engine, p, {});
  });
});
