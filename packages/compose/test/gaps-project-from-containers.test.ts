import { testEngine, type TestEngine } from '../../engine/test/fixture';
import * as lifecycle from '../src/lifecycle';
import { project, service } from './lifecycle-project';

/** `-p NAME` without a compose file: the project as its resources' labels record it (compose's projectFromName). */
describe('projectFromContainers', () => {
  let t: TestEngine;
  const declared = project(
    'byname',
    [
      service('db', { image: 'busybox', command: ['sleep', '300'], stop_signal: 'SIGKILL' }),
      service('web', { image: 'busybox', command: ['sleep', '300'], stop_signal: 'SIGKILL', scale: 2, depends_on: { db: { condition: 'service_started', required: true, restart: true } } }),
    ],
    { volumes: { data: { name: 'byname_data', driver_opts: {}, labels: {} } } },
  );
  declared.services.db!.volumes = [{ type: 'volume', source: 'data', target: '/data' }];

  beforeAll(async () => {
    t = await testEngine();
    await lifecycle.up(t.engine, declared, {});
  }, 60_000);
  afterAll(async () => {
    await lifecycle.down(t.engine, declared, { timeout: 0, volumes: true }).catch(() => undefined);
    await t?.cleanup();
  });

  it('has a service per service label, with its image, replica count and recorded dependencies', async () => {
    const found = await lifecycle.projectFromContainers(t.engine, 'byname');
    expect(Object.keys(found.services).sort()).toEqual(['db', 'web']);
    expect(found.services.web).toMatchObject({ image: 'busybox', scale: 2, depends_on: { db: { condition: 'service_started', required: true, restart: true } } });
    expect(found.services.db).toMatchObject({ image: 'busybox', scale: 1, depends_on: {} });
  });

  it('has the networks and volumes labelled with the project, under their keys', async () => {
    const found = await lifecycle.projectFromContainers(t.engine, 'byname');
    expect(Object.entries(found.networks).map(([key, n]) => [key, n.name])).toEqual([['default', 'byname_default']]);
    expect(Object.entries(found.volumes).map(([key, v]) => [key, v.name])).toEqual([['data', 'byname_data']]);
  });

  it('is empty for a project nothing is left of', async () => {
    const found = await lifecycle.projectFromContainers(t.engine, 'nosuchproject');
    expect(found).toMatchObject({ name: 'nosuchproject', services: {}, networks: {}, volumes: {} });
  });

  it('is enough for down -v to remove everything the project made', async () => {
    await lifecycle.down(t.engine, await lifecycle.projectFromContainers(t.engine, 'byname'), { timeout: 0, volumes: true });
    expect(await t.engine.ps({ all: true, filters: { label: ['com.docker.compose.project=byname'] } })).toEqual([]);
    expect((await t.engine.networks()).map((n) => n.Name)).not.toContain('byname_default');
    expect((await t.engine.volumes()).map((v) => v.Name)).not.toContain('byname_data');
  }, 60_000);
});
