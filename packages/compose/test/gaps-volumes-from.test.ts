import { testEngine, type TestEngine } from '../../engine/test/fixture';
import { containerOptions } from '../src/convert';
import { serviceDependencies } from '../src/dependencies';
import * as lifecycle from '../src/lifecycle';
import { project, service } from './lifecycle-project';

/** `volumes_from`: a service's first container or a named container, mounted before the service that takes from it. */
describe('volumes_from', () => {
  const p = project('vf', [
    service('db', { image: 'busybox', container_name: 'vf-database' }),
    service('cache', { image: 'busybox' }),
    service('app', { image: 'busybox', volumes_from: ['db:ro', 'service:cache', 'container:legacy:rw'] }),
  ]);

  it('names the service\'s first container (its container_name, else <project>-<service>-1) and a container as given, with their modes', () => {
    expect(containerOptions(p, p.services.app!, { number: 1 }).volumesFrom).toEqual(['vf-database:ro', 'vf-cache-1', 'legacy:rw']);
  });

  it('makes the services it takes volumes from dependencies, the containers not', () => {
    expect(serviceDependencies(p.services.app!)).toEqual(['db', 'cache']);
  });

  it('refuses a service the project does not have, in compose\'s words', () => {
    const broken = project('vf', [service('app', { image: 'busybox', volumes_from: ['nothere'] })]);
    expect(() => containerOptions(broken, broken.services.app!, { number: 1 })).toThrow('no such service: nothere');
  });
});

describe('volumes_from on the engine', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await testEngine();
  }, 60_000);
  afterAll(async () => {
    await t?.cleanup();
  });

  it('up creates the source first and the taker sees its volume', async () => {
    // Listed taker first: only the dependency order puts `data` before it.
    const p = project('vfup', [
      service('reader', { image: 'busybox', command: ['sleep', '300'], stop_signal: 'SIGKILL', volumes_from: ['data:ro'] }),
      service('data', {
        image: 'busybox',
        command: ['sh', '-c', 'echo shared > /shared/file; sleep 300'],
        stop_signal: 'SIGKILL',
        volumes: [{ type: 'volume', target: '/shared' }],
      }),
    ]);
    try {
      await lifecycle.up(t.engine, p, {});
      const reader = await t.engine.inspect('vfup-reader-1');
      const data = await t.engine.inspect('vfup-data-1');
      expect(reader.HostConfig.VolumesFrom).toEqual(['vfup-data-1:ro']);
      const shared = data.Mounts.find((m) => m.Destination === '/shared');
      expect(reader.Mounts.find((m) => m.Destination === '/shared')).toMatchObject({ Name: shared?.Name, RW: false });
    } finally {
      await lifecycle.down(t.engine, p, { timeout: 0, volumes: true });
    }
  }, 60_000);
});
