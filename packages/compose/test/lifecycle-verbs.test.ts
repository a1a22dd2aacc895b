import { testEngine, type TestEngine } from '../../engine/test/fixture';
import { LABEL } from '../src/labels';
import * as lifecycle from '../src/lifecycle';
import type { ComposeProject } from '../src/model';
import { project, sleeper } from './lifecycle-project';
import { freePort } from '../../../test/support/free-port';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 60_000);
afterAll(async () => {
  await t?.cleanup();
});
jest.setTimeout(60_000);

const states = async (p: ComposeProject): Promise<string[]> => (await lifecycle.ps(t.engine, p, { all: true })).map((r) => `${r.Service} ${r.State}`);

describe('stop, start, restart, kill, pause, unpause', () => {
  const p = project('verbs', [sleeper('web'), sleeper('db')]);
  beforeAll(async () => {
    await lifecycle.up(t.engine, p, {});
  });
  afterAll(async () => {
    await lifecycle.down(t.engine, p, {});
  });

  it('stop stops the running containers and start starts them again', async () => {
    await lifecycle.stop(t.engine, p, { timeout: 1 });
    expect(await states(p)).toEqual(['db exited', 'web exited']);
    await lifecycle.start(t.engine, p, {});
    expect(await states(p)).toEqual(['db running', 'web running']);
  });

  it('restart starts a stopped service anew', async () => {
    await lifecycle.stop(t.engine, p, { services: ['web'] });
    await lifecycle.restart(t.engine, p, { services: ['web'], timeout: 1 });
    expect(await states(p)).toEqual(['db running', 'web running']);
  });

  it('pause and unpause the running containers', async () => {
    await lifecycle.pause(t.engine, p, {});
    expect(await states(p)).toEqual(['db paused', 'web paused']);
    await lifecycle.unpause(t.engine, p, {});
    expect(await states(p)).toEqual(['db running', 'web running']);
  });

  it('kill sends the signal to the named service only', async () => {
    await lifecycle.kill(t.engine, p, { services: ['db'] });
    // A kill returns once the signal is sent (as docker's); the exit is recorded after it.
    await t.engine.wait('verbs-db-1');
    expect(await states(p)).toEqual(['db exited', 'web running']);
    expect((await t.engine.inspect('verbs-db-1')).State.ExitCode).toBe(137);
  });

  it('rm removes the stopped containers and says which', async () => {
    expect(await lifecycle.remove(t.engine, p, {})).toEqual(['verbs-db-1']);
    expect(await states(p)).toEqual(['web running']);
  });
});

describe('restart', () => {
  const restartWithDb = { db: { condition: 'service_started' as const, required: true, restart: true } };
  const p = project('rsdeps', [sleeper('db'), sleeper('web', { depends_on: restartWithDb }), sleeper('other', { depends_on: { db: { ...restartWithDb.db, restart: false } } })]);
  const restarted = async (options: Parameters<typeof lifecycle.restart>[2]): Promise<string[]> => {
    const seen: string[] = [];
    await lifecycle.restart(t.engine, p, { ...options, timeout: 1, onProgress: (e) => e.status === 'Restarting' && seen.push(e.name) });
    return seen.sort();
  };
  beforeAll(async () => {
    await lifecycle.up(t.engine, p, {});
  });
  afterAll(async () => {
    await lifecycle.down(t.engine, p, {});
  });

  it('of a service restarts the services that depend on it with restart: true', async () => {
    expect(await restarted({ services: ['db'] })).toEqual(['rsdeps-db-1', 'rsdeps-web-1']);
  });

  it('with noDeps restarts the named service alone', async () => {
    expect(await restarted({ services: ['db'], noDeps: true })).toEqual(['rsdeps-db-1']);
  });
});

describe('down', () => {
  it('removes the containers and the networks, and with volumes the project volumes', async () => {
    const web = sleeper('web', { volumes: [{ type: 'volume', source: 'data', target: '/data' }] });
    const p = project('downv', [web], { volumes: { data: { name: 'downv_data', driver_opts: {}, labels: {} } } });
    const created: string[] = [];
    await lifecycle.up(t.engine, p, { onProgress: (e) => e.done && created.push(`${e.resource} ${e.name} ${e.status}`) });
    expect(created).toContain('Volume "downv_data" Created');
    expect((await t.engine.inspectVolume('downv_data')).Labels).toMatchObject({ [LABEL.project]: 'downv', [LABEL.volume]: 'data' });
    const removed: string[] = [];
    await lifecycle.down(t.engine, p, { volumes: true, onProgress: (e) => e.done && removed.push(`${e.resource} ${e.name} ${e.status}`) });
    expect(removed).toEqual(['Container downv-web-1 Removed', 'Network downv_default Removed', 'Volume downv_data Removed']);
    expect(await t.engine.ps({ all: true, filters: { label: [`${LABEL.project}=downv`] } })).toEqual([]);
    expect((await t.engine.networks()).map((n) => n.Name)).not.toContain('downv_default');
    expect((await t.engine.volumes()).map((v) => v.Name)).not.toContain('downv_data');
  });

  it('of a project with nothing left only warns', async () => {
    const seen: string[] = [];
    await lifecycle.down(t.engine, project('downnone', [sleeper('web')]), { onProgress: (e) => seen.push(`${e.status}: ${e.detail}`) });
    expect(seen).toEqual(['Warning: No resource found to remove for project "downnone".']);
  });
});

describe('ps and ls', () => {
  // A port nothing holds now: a fixed one may be another suite's (or program's) on a busy host.
  let port: number;
  let p: ComposeProject;
  beforeAll(async () => {
    port = await freePort();
    p = project('psls', [sleeper('web', { ports: [{ target: 80, published: String(port), host_ip: '127.0.0.1', protocol: 'tcp', mode: 'ingress' }] })]);
    await lifecycle.up(t.engine, p, {});
  });
  afterAll(async () => {
    await lifecycle.down(t.engine, p, {});
  });

  it('ps rows are shaped as docker compose ps --format json', async () => {
    const [row] = await lifecycle.ps(t.engine, p, {});
    expect(row).toMatchObject({
      Name: 'psls-web-1',
      Names: 'psls-web-1',
      Image: 'busybox',
      Command: '"sleep 300"',
      Project: 'psls',
      Service: 'web',
      State: 'running',
      Health: '',
      ExitCode: 0,
      Networks: 'psls_default',
      Ports: `127.0.0.1:${port}->80/tcp`,
      Publishers: [{ URL: '127.0.0.1', TargetPort: 80, PublishedPort: port, Protocol: 'tcp' }],
    });
    expect(row?.Status).toMatch(/^Up /);
    expect(row?.RunningFor).toMatch(/ ago$/);
    expect(row?.Labels).toContain(`${LABEL.service}=web`);
  });

  it('ls lists the project with its state counts and config files', async () => {
    expect(await lifecycle.listProjects(t.engine)).toContainEqual({ Name: 'psls', Status: 'running(1)', ConfigFiles: '/tmp/psls/compose.yaml' });
  });
});
