import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as runRemote, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

const composeEnv = { NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '' };
const sleeper = (name: string, extra: string[] = []): string[] => [`  ${name}:`, '    image: busybox', '    command: ["sleep", "300"]', '    stop_signal: SIGKILL', ...extra];

/** `ctr compose` with no daemon: builds' output, health conditions, and a project found by `-p` alone. */
describe('ctr compose, daemonless', () => {
  let ctr: LocalCtr;
  let dir: string;
  const composeIn = (cwd: string, ...args: string[]): Promise<CtrResult> => ctr.runWith({ env: { ...process.env, ...composeEnv }, cwd, timeoutMs: 120_000 }, 'compose', ...args);
  const project = async (name: string, lines: string[]): Promise<string> => {
    const where = join(dir, name);
    await mkdir(where);
    await writeFile(join(where, 'compose.yaml'), ['services:', ...lines, ''].join('\n'));
    return where;
  };

  beforeAll(async () => {
    ctr = await localCtr('compose-gaps');
    dir = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-gaps-'));
  }, 120_000);
  afterAll(async () => {
    await ctr.cleanup();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test('up prints the output of the builds it makes on stderr, as compose build does', async () => {
    const where = await project('buildout', ['  web:', '    build: .', '    command: ["true"]']);
    await writeFile(join(where, 'Dockerfile'), 'FROM busybox\nRUN echo made during up\n');
    try {
      const result = await composeIn(where, 'up', '--no-start');
      expect(result).toMatchObject({ code: 0, stdout: '' });
      expect(result.stderr).toContain('Step 1/5 : FROM busybox\n');
      expect(result.stderr).toContain('\nmade during up\n');
      expect(result.stderr).toContain(' Container buildout-web-1  Created\n');
    } finally {
      await composeIn(where, 'down', '--rmi', 'local');
    }
  }, 120_000);

  test('run --entrypoint is split as a shell splits it, as compose splits it (go-shellwords)', async () => {
    const where = await project('entry', sleeper('tool'));
    try {
      const result = await composeIn(where, 'run', '--rm', '--no-deps', '-T', '--entrypoint', `sh -c 'echo "a  b"'`, 'tool');
      expect(result).toMatchObject({ code: 0, stdout: 'a  b\n' });
    } finally {
      await composeIn(where, 'down', '-t', '0');
    }
  }, 120_000);

  describe('a service_healthy dependency', () => {
    let where: string;
    beforeAll(async () => {
      where = await project('healthy', [
        ...sleeper('db', ['    healthcheck:', '      test: ["CMD", "true"]', '      interval: 1s', '      start_period: 0s']),
        ...sleeper('web', ['    depends_on:', '      db:', '        condition: service_healthy']),
      ]);
    });
    afterAll(async () => {
      await composeIn(where, 'down', '-t', '0');
    }, 60_000);

    test('up -d --wait starts the dependent once the health timer found the dependency healthy, and says Healthy', async () => {
      const result = await composeIn(where, 'up', '-d', '--wait');
      expect(result).toMatchObject({ code: 0, stdout: '' });
      expect(result.stderr).toContain(' Container healthy-db-1  Healthy\n');
      expect(result.stderr.indexOf(' Container healthy-db-1  Healthy\n')).toBeLessThan(result.stderr.indexOf(' Container healthy-web-1  Started\n'));
    }, 120_000);

    test('ps shows the dependency (healthy)', async () => {
      const result = await composeIn(where, 'ps', '--format', '{{.Name}} {{.Status}}');
      expect(result.stdout).toMatch(/^healthy-db-1 Up .+ \(healthy\)\nhealthy-web-1 Up .+\n$/);
    });
  });

  describe('-p NAME in a directory with no compose file', () => {
    let elsewhere: string;
    const byName = (...args: string[]): Promise<CtrResult> => composeIn(elsewhere, '-p', 'byname', ...args);
    beforeAll(async () => {
      const where = await project('byname', [...sleeper('db'), ...sleeper('web', ['    depends_on: [db]'])]);
      elsewhere = await mkdtemp(join(dir, 'nofile-'));
      const up = await composeIn(where, 'up', '-d');
      if (up.code !== 0) throw new Error(up.stderr);
    }, 120_000);
    afterAll(async () => {
      await byName('down', '-t', '0');
    }, 60_000);

    test('ps lists the project\'s containers from their labels', async () => {
      expect((await byName('ps', '--format', '{{.Name}} {{.State}}')).stdout).toBe('byname-db-1 running\nbyname-web-1 running\n');
    });

    test('stop stops the dependent before its dependency', async () => {
      const result = await byName('stop', '-t', '0');
      expect(result.code).toBe(0);
      expect(result.stderr.indexOf(' Container byname-web-1  Stopped\n')).toBeLessThan(result.stderr.indexOf(' Container byname-db-1  Stopping\n'));
      expect((await byName('ps', '-a', '--format', '{{.Name}} {{.State}}')).stdout).toBe('byname-db-1 exited\nbyname-web-1 exited\n');
    }, 60_000);

    test('start starts the services again', async () => {
      expect((await byName('start')).code).toBe(0);
      expect((await byName('ps', '--format', '{{.Name}} {{.State}}')).stdout).toBe('byname-db-1 running\nbyname-web-1 running\n');
    }, 60_000);

    test('a service the containers do not name is refused', async () => {
      expect(await byName('stop', 'nothere')).toMatchObject({ code: 1, stderr: expect.stringContaining('no such service: nothere') });
    });

    test('down removes the containers and the network', async () => {
      const result = await byName('down', '-t', '0');
      expect(result.code).toBe(0);
      expect(result.stderr).toContain(' Container byname-web-1  Removed\n');
      expect(result.stderr).toContain(' Network byname_default  Removed\n');
      expect((await byName('ps', '-a', '-q')).stdout).toBe('');
    }, 60_000);
  });
});

/** The same library over RemoteEngine: `ctr -H unix://… compose` against a ctrd. */
describe('ctr compose against ctrd (-H)', () => {
  let t: TestDaemon;
  let work: string;
  const remote = (...args: string[]): Promise<Result> =>
    runRemote(['-H', `unix://${t.socket}`, 'compose', ...args], { env: cleanEnv({ ...composeEnv, CTR_CONFIG: join(work, 'config') }), cwd: work, timeoutMs: 120_000 });

  beforeAll(async () => {
    t = await startTestDaemon();
    work = await mkdtemp(join(tmpdir(), 'ctr-remote-compose-'));
    await writeFile(join(work, 'compose.yaml'), ['services:', ...sleeper('db'), ...sleeper('web', ['    depends_on: [db]']), ''].join('\n'));
  }, 60_000);
  afterAll(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  }, 60_000);
  afterEach(() => {
    expect(t.internalErrors.splice(0)).toEqual([]);
  });

  test('up -d, ps and down work through the daemon', async () => {
    const up = await remote('-p', 'remote', 'up', '-d');
    expect(up.stderr).toContain(' Container remote-web-1  Started\n');
    expect(up.code).toBe(0);
    expect((await t.daemon.engine.inspect('remote-web-1')).State.Running).toBe(true);
    expect((await remote('-p', 'remote', 'ps', '--format', '{{.Name}} {{.State}}')).stdout).toBe('remote-db-1 running\nremote-web-1 running\n');
    const down = await remote('-p', 'remote', 'down', '-t', '0');
    expect(down.stderr).toContain(' Network remote_default  Removed\n');
    expect(down.code).toBe(0);
    expect(await t.daemon.engine.ps({ all: true })).toEqual([]);
  }, 120_000);
});
