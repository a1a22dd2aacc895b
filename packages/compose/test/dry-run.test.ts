import { testEngine, type TestEngine } from '../../engine/test/fixture';
import { Compose, type ComposeProgress } from '../src/compose';
import { dryRunEngine, isDryRun } from '../src/dry-run';
import { LABEL } from '../src/labels';
import type { ComposeProject, ServiceConfig } from '../src/model';
import { project, sleeper } from './lifecycle-project';

/**
 * compose's `--dry-run` on ctr's engine: every verb runs to its end against `dryRunEngine`,
 * reports what it would do, and leaves the engine as it found it.
 */
describe('dryRunEngine', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
  }, 60_000);
  afterAll(async () => {
    await t?.cleanup();
  });
  jest.setTimeout(60_000);

  const started = { condition: 'service_started', required: true, restart: false } as const;
  /** db with a named volume, and web depending on it. */
  const app = (name: string, web: Partial<ServiceConfig> = {}): ComposeProject =>
    project(name, [sleeper('db', { volumes: [{ type: 'volume', source: 'data', target: '/data' }] }), sleeper('web', { depends_on: { db: started }, ...web })], {
      volumes: { data: { name: `${name}_data`, driver_opts: {}, labels: {} } },
    });
  const recorder = (): { onProgress: (e: ComposeProgress) => void; lines: string[] } => {
    const lines: string[] = [];
    return { lines, onProgress: (e) => lines.push(`${e.resource} ${e.name} ${e.status}`) };
  };
  /** What the engine holds of a project: its containers (name and state), networks and volumes. */
  const resources = async (name: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> => {
    const label = [`${LABEL.project}=${name}`];
    return {
      containers: (await t.engine.ps({ all: true, filters: { label } })).map((c) => `${c.Names[0]} ${c.State}`).sort(),
      networks: (await t.engine.networks({ filters: { label } })).map((n) => n.Name),
      volumes: (await t.engine.volumes({ filters: { label } })).map((v) => v.Name),
    };
  };
  const nothing = { containers: [], networks: [], volumes: [] };

  it('up reports the network, volume and containers it would create and start, and creates none of them', async () => {
    const progress = recorder();
    await new Compose(dryRunEngine(t.engine), app('dryup')).up({ onProgress: progress.onProgress });
    expect(progress.lines).toEqual([
      'Network dryup_default Creating',
      'Network dryup_default Created',
      'Volume "dryup_data" Creating',
      'Volume "dryup_data" Created',
      'Container dryup-db-1 Creating',
      'Container dryup-db-1 Created',
      'Container dryup-web-1 Creating',
      'Container dryup-web-1 Created',
      'Container dryup-db-1 Starting',
      'Container dryup-db-1 Started',
      'Container dryup-web-1 Starting',
      'Container dryup-web-1 Started',
    ]);
    expect(await resources('dryup')).toEqual(nothing);
  });

  it('up goes past the conditions of dependencies, which nothing runs to meet', async () => {
    const completed = { condition: 'service_completed_successfully', required: true, restart: false } as const;
    const progress = recorder();
    await new Compose(dryRunEngine(t.engine), app('drydeps', { depends_on: { db: completed } })).up({ onProgress: progress.onProgress, wait: true });
    expect(progress.lines).toEqual(expect.arrayContaining(['Container drydeps-db-1 Exited', 'Container drydeps-web-1 Started', 'Container drydeps-web-1 Healthy']));
    expect(await resources('drydeps')).toEqual(nothing);
  });

  describe('a dependency that must be healthy', () => {
    const healthy = { condition: 'service_healthy', required: true, restart: false } as const;
    /** web waiting for db to be healthy, db's check passing or failing. */
    const checked = (name: string, test: string): ComposeProject =>
      project(name, [sleeper('db', { healthcheck: { test: ['CMD', test], interval: '200ms', retries: 1 } }), sleeper('web', { depends_on: { db: healthy } })]);

    it('made up by the dry run, counts as healthy, as compose\'s dry-run client answers', async () => {
      const progress = recorder();
      await new Compose(dryRunEngine(t.engine), checked('dryhealthy', 'true')).up({ onProgress: progress.onProgress });
      expect(progress.lines).toEqual(expect.arrayContaining(['Container dryhealthy-db-1 Healthy', 'Container dryhealthy-web-1 Started']));
      expect(await resources('dryhealthy')).toEqual(nothing);
    });

    it('real and unhealthy, fails the up in compose\'s words, and web is not created', async () => {
      const p = checked('dryunhealthy', 'false');
      await new Compose(t.engine, p).up({ services: ['db'] });
      try {
        const [db] = await t.engine.ps({ filters: { label: [`${LABEL.project}=dryunhealthy`] } });
        // One failing probe (retries: 1) makes it unhealthy, no monitor needed.
        expect((await t.engine.healthcheck(db!.Id)).Status).toBe('unhealthy');
        const progress = recorder();
        await expect(new Compose(dryRunEngine(t.engine), p).up({ onProgress: progress.onProgress })).rejects.toThrow('dependency failed to start: container dryunhealthy-db-1 is unhealthy');
        expect(progress.lines).toContain('Container dryunhealthy-db-1 Error');
        expect((await resources('dryunhealthy')).containers).toEqual(['/dryunhealthy-db-1 running']);
      } finally {
        await new Compose(t.engine, p).down({ timeout: 0 });
      }
    });
  });

  it('an attached up only creates, as compose does, and has nothing to attach to', async () => {
    const progress = recorder();
    const result = await new Compose(dryRunEngine(t.engine), app('dryattach')).up({ onProgress: progress.onProgress, onAttach: () => undefined });
    expect(result.attached).toBeUndefined();
    expect(progress.lines.filter((line) => line.startsWith('Container'))).toEqual(['Container dryattach-db-1 Creating', 'Container dryattach-db-1 Created', 'Container dryattach-web-1 Creating', 'Container dryattach-web-1 Created']);
  });

  describe('on a running project', () => {
    const running = app('dryrunning');
    beforeAll(async () => {
      await new Compose(t.engine, running).up();
    });
    afterAll(async () => {
      await new Compose(t.engine, running).down({ timeout: 0, volumes: true });
    });
    const before = { containers: ['/dryrunning-db-1 running', '/dryrunning-web-1 running'], networks: ['dryrunning_default'], volumes: ['dryrunning_data'] };

    it('down reports every removal and leaves the project running', async () => {
      const progress = recorder();
      await new Compose(dryRunEngine(t.engine), running).down({ volumes: true, onProgress: progress.onProgress });
      expect(progress.lines).toEqual([
        'Container dryrunning-web-1 Stopping',
        'Container dryrunning-web-1 Stopped',
        'Container dryrunning-web-1 Removing',
        'Container dryrunning-web-1 Removed',
        'Container dryrunning-db-1 Stopping',
        'Container dryrunning-db-1 Stopped',
        'Container dryrunning-db-1 Removing',
        'Container dryrunning-db-1 Removed',
        'Network dryrunning_default Removing',
        'Network dryrunning_default Removed',
        'Volume dryrunning_data Removing',
        'Volume dryrunning_data Removed',
      ]);
      expect(await resources('dryrunning')).toEqual(before);
    });

    it('a recreation is reported and the containers stay the ones that run', async () => {
      const ids = (await t.engine.ps({ filters: { label: [`${LABEL.project}=dryrunning`] } })).map((c) => c.Id).sort();
      const progress = recorder();
      await new Compose(dryRunEngine(t.engine), running).up({ recreate: 'force', onProgress: progress.onProgress });
      expect(progress.lines).toEqual(expect.arrayContaining(['Container dryrunning-web-1 Recreate', 'Container dryrunning-web-1 Recreated', 'Container dryrunning-web-1 Started']));
      expect((await t.engine.ps({ filters: { label: [`${LABEL.project}=dryrunning`] } })).map((c) => c.Id).sort()).toEqual(ids);
    });

    it('rm --stop finds the containers it pretended to stop, and removes none', async () => {
      const removed = await new Compose(dryRunEngine(t.engine), running).remove({ stop: true });
      expect(removed.sort()).toEqual(['dryrunning-db-1', 'dryrunning-web-1']);
      expect(await resources('dryrunning')).toEqual(before);
    });

    it('an attached exec is refused: nothing runs to talk to', async () => {
      await expect(new Compose(dryRunEngine(t.engine), running).exec('web', { command: ['true'] })).rejects.toMatchObject({ code: 'Unsupported', message: 'interactive exec is not supported in dry-run mode' });
    });
  });

  it('reads the engine as it is', async () => {
    expect((await dryRunEngine(t.engine).inspectImage('busybox')).Id).toBe((await t.engine.inspectImage('busybox')).Id);
  });

  it('refuses a write no compose verb makes', async () => {
    await expect(dryRunEngine(t.engine).tag('busybox', 'dry:tag')).rejects.toMatchObject({ code: 'Unsupported', message: 'tag is not supported in dry-run mode' });
    await expect(t.engine.inspectImage('dry:tag')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('is told apart from the engine it wraps', () => {
    expect([isDryRun(dryRunEngine(t.engine)), isDryRun(t.engine)]).toEqual([true, false]);
  });
});
