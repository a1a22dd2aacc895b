/**
 * `compose run` on a real engine: the one-off container's name and labels, its exit code and
 * output, `--rm`, `-d`, the overrides (command, entrypoint, -e, -u, -w, -l), ports published
 * only when asked, and its dependencies brought up first unless `--no-deps`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collector, testEngine, type TestEngine } from '../../engine/test/fixture';
import { LABEL } from '../src/labels';
import { run } from '../src/operations';
import { project, service } from './lifecycle-project';

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
});

afterAll(async () => {
  await t?.cleanup();
});

const SLEEP = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

describe('run', () => {
  test('makes a one-off container <project>-<service>-run-<12 hex>, labelled oneoff, and returns its exit code and output', async () => {
    const p = project('rn', [service('web', { image: 'busybox', command: ['sh', '-c', 'echo from web; exit 4'] })]);
    const stdout = collector();
    const result = await run(t.engine, p, 'web', { stdout });
    expect(result.container).toMatch(/^rn-web-run-[0-9a-f]{12}$/);
    expect(result.exitCode).toBe(4);
    expect(stdout.text()).toBe('from web\n');
    const inspect = await t.engine.inspect(result.container);
    expect(inspect.Config.Labels).toMatchObject({ [LABEL.project]: 'rn', [LABEL.service]: 'web', [LABEL.oneoff]: 'True' });
    expect(inspect.Config.Labels[LABEL.slug]).toMatch(new RegExp(`^${result.container.slice(-12)}[0-9a-f]{52}$`));
  });

  test('--rm removes the container once it exits', async () => {
    const p = project('rr', [service('web', { image: 'busybox', command: ['true'] })]);
    const result = await run(t.engine, p, 'web', { rm: true });
    expect(result.exitCode).toBe(0);
    await expect(t.engine.inspect(result.container)).rejects.toThrow();
  });

  test('the command, -e, -u, -w and -l override the service\'s; --name names the container', async () => {
    const p = project('ro', [service('web', { image: 'busybox', command: ['echo', 'service command'], environment: { KEPT: 'k', OVER: 'old' } })], { environment: { FROM_HOST: 'h' } });
    const stdout = collector();
    const result = await run(t.engine, p, 'web', {
      name: 'my-one-off',
      command: ['sh', '-c', 'echo $KEPT $OVER $FROM_HOST $(id -u) $(pwd)'],
      env: ['OVER=new', 'FROM_HOST', 'UNSET_ANYWHERE'],
      user: '1000',
      workdir: '/tmp',
      labels: { mine: 'yes' },
      stdout,
    });
    expect(result.container).toBe('my-one-off');
    expect(stdout.text()).toBe('k new h 1000 /tmp\n');
    expect((await t.engine.inspect('my-one-off')).Config.Labels).toMatchObject({ mine: 'yes' });
  });

  test('--entrypoint replaces the entrypoint and drops the service command', async () => {
    const p = project('re', [service('web', { image: 'busybox', command: ['not', 'run'] })]);
    const stdout = collector();
    const result = await run(t.engine, p, 'web', { entrypoint: ['echo', 'entry'], stdout });
    expect(result.exitCode).toBe(0);
    expect(stdout.text()).toBe('entry\n');
  });

  test('publishes no port of the service by default, and the service\'s with servicePorts', async () => {
    const p = project('rp', [service('web', { image: 'busybox', command: SLEEP, ports: [{ target: 80, host_ip: '127.0.0.1', protocol: 'tcp', mode: 'ingress' }] })]);
    const plain = await run(t.engine, p, 'web', { detach: true });
    expect(plain.exitCode).toBeUndefined();
    expect((await t.engine.inspect(plain.container)).State.Running).toBe(true);
    expect((await t.engine.inspect(plain.container)).HostConfig.PortBindings).toEqual({});
    const withPorts = await run(t.engine, p, 'web', { detach: true, servicePorts: true, publish: ['127.0.0.1::81'] });
    const bindings = (await t.engine.inspect(withPorts.container)).HostConfig.PortBindings;
    expect(Object.keys(bindings).sort()).toEqual(['80/tcp', '81/tcp']);
    for (const id of [plain.container, withPorts.container]) await t.engine.stop(id, { timeout: 5 });
  });

  test('brings up what the service depends on first, and not with noDeps', async () => {
    const db = service('db', { image: 'busybox', command: SLEEP });
    const web = service('web', { image: 'busybox', command: ['true'], depends_on: { db: { condition: 'service_started', required: true, restart: false } } });
    const alone = project('rd1', [db, web]);
    await run(t.engine, alone, 'web', { noDeps: true, rm: true });
    expect(await t.engine.ps({ all: true, filters: { label: [`${LABEL.project}=rd1`, `${LABEL.service}=db`] } })).toEqual([]);
    const withDeps = project('rd2', [db, web]);
    await run(t.engine, withDeps, 'web', { rm: true });
    const dbs = await t.engine.ps({ filters: { label: [`${LABEL.project}=rd2`, `${LABEL.service}=db`] } });
    expect(dbs.map((c) => [c.Names[0], c.State])).toEqual([['/rd2-db-1', 'running']]);
    await t.engine.stop(dbs[0]!.Id, { timeout: 5 });
  });

  test("a seccomp profile file in security_opt, relative to the project's directory, denies the calls it lists", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-compose-seccomp-'));
    try {
      await writeFile(join(dir, 'deny-mkdir.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }, null, 2));
      const web = service('web', { image: 'busybox', command: ['mkdir', '/x'], security_opt: ['seccomp=deny-mkdir.json'] });
      const stderr = collector();
      const result = await run(t.engine, project('rseccomp', [web], { working_dir: dir }), 'web', { rm: true, stderr });
      expect(result.exitCode).toBe(1);
      expect(stderr.text()).toContain('Operation not permitted');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an unknown service is compose\'s error', async () => {
    const p = project('ru', [service('web', { image: 'busybox' })]);
    await expect(run(t.engine, p, 'nope', {})).rejects.toThrow('no such service: nope');
  });

  test('dependencies in a cycle are compose\'s cycle error, before anything is made', async () => {
    const dependsOn = (name: string) => ({ [name]: { condition: 'service_started' as const, required: true, restart: false } });
    const p = project('rc', [service('a', { image: 'busybox', depends_on: dependsOn('b') }), service('b', { image: 'busybox', depends_on: dependsOn('a') })]);
    await expect(run(t.engine, p, 'a', {})).rejects.toThrow(/^cycle found: (a -> b -> a|b -> a -> b)$/);
    expect(await t.engine.ps({ all: true, filters: { label: [`${LABEL.project}=rc`] } })).toEqual([]);
  });
});
