import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, ctr as run, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let work: string;
let host: string;

/** `ctr -H unix://<the test daemon> args…`, with no context or host from the environment. */
function ctr(args: string[], input?: string): Promise<Result> {
  return run(['-H', host, ...args], { env: cleanEnv({ CTR_CONFIG: join(work, 'config') }), ...(input !== undefined ? { input } : {}) });
}

beforeAll(async () => {
  t = await startTestDaemon();
  host = `unix://${t.socket}`;
  work = await mkdtemp(join(tmpdir(), 'ctr-remote-'));
});

afterAll(async () => {
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

afterEach(() => {
  expect(t.internalErrors.splice(0)).toEqual([]);
});

describe('ctr -H unix://… against ctrd', () => {
  test('run --rm prints the output and exits 0', async () => {
    expect(await ctr(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'hi'])).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
  });

  test("run passes on the container's exit code", async () => {
    expect(await ctr(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  test('run of a missing executable exits 127 and leaves no container (--rm)', async () => {
    const before = (await t.daemon.engine.ps({ all: true })).length;
    const result = await ctr(['run', '--rm', '--network', 'none', 'busybox', 'nope']);
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('executable file not found');
    expect((await t.daemon.engine.ps({ all: true })).length).toBe(before);
  });

  test('run -i pipes stdin to the container', async () => {
    expect(await ctr(['run', '--rm', '-i', '--network', 'none', 'busybox', 'tr', 'a-z', 'A-Z'], 'piped text\n')).toEqual({ code: 0, stdout: 'PIPED TEXT\n', stderr: '' });
  });

  test('run -d, ps, logs, exec, stop and rm act on the daemon', async () => {
    const started = await ctr(['run', '-d', '--name', 'remote-web', '--network', 'none', 'busybox', 'sh', '-c', 'echo ready; exec sleep 300']);
    expect(started).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
    const id = started.stdout.trim();
    expect((await t.daemon.engine.inspect(id)).State.Running).toBe(true);

    const ps = await ctr(['ps', '--format', '{{.ID}} {{.Names}} {{.State}}']);
    expect(ps.stdout).toContain(`${id.slice(0, 12)} remote-web running`);

    let logs = await ctr(['logs', 'remote-web']);
    for (let i = 0; i < 50 && logs.stdout === ''; i++) logs = await ctr(['logs', 'remote-web']);
    expect(logs).toEqual({ code: 0, stdout: 'ready\n', stderr: '' });

    expect(await ctr(['exec', 'remote-web', 'sh', '-c', 'echo in-exec; exit 4'])).toEqual({ code: 4, stdout: 'in-exec\n', stderr: '' });
    expect(await ctr(['exec', '-i', 'remote-web', 'cat'], 'to exec\n')).toEqual({ code: 0, stdout: 'to exec\n', stderr: '' });

    expect(await ctr(['stop', '-t', '1', 'remote-web'])).toEqual({ code: 0, stdout: 'remote-web\n', stderr: '' });
    expect((await t.daemon.engine.inspect(id)).State.Running).toBe(false);
    expect(await ctr(['rm', 'remote-web'])).toEqual({ code: 0, stdout: 'remote-web\n', stderr: '' });
    await expect(t.daemon.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
  });

  test("create's flags reach the daemon as docker sends them (sizes, CPUs, binds, ports, restart policy)", async () => {
    const created = await ctr([
      // Created, never started: the bridge network's ports are only recorded.
      'create', '--name', 'remote-flags', '-m', '64m', '--cpus', '0.5', '--pids-limit', '50',
      '-v', `${work}:/host:ro`, '-v', '/anonymous', '--tmpfs', '/scratch:size=1m', '-p', '127.0.0.1:8080:80',
      '--restart', 'on-failure:2', '-e', 'FOO=bar', '-w', '/tmp', '-u', '1:1', '--hostname', 'remote-host', '-l', 'a=b',
      'busybox', 'sh', '-c', 'echo $FOO',
    ]);
    expect(created).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
    try {
      const info = await t.daemon.engine.inspect('remote-flags');
      expect(info.HostConfig).toMatchObject({
        Memory: 64 * 1024 * 1024,
        NanoCpus: 500_000_000,
        PidsLimit: 50,
        Binds: expect.arrayContaining([`${work}:/host:ro`]),
        PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 },
      });
      expect(info.Config).toMatchObject({ Env: expect.arrayContaining(['FOO=bar']), WorkingDir: '/tmp', User: '1:1', Hostname: 'remote-host', Labels: { a: 'b' }, Cmd: ['sh', '-c', 'echo $FOO'] });
      expect(info.Mounts.map((m) => m.Destination).sort()).toEqual(['/anonymous', '/host']);
    } finally {
      await t.daemon.engine.remove('remote-flags', { force: true, volumes: true });
    }
  });

  test("update's limits and restart policy reach the daemon", async () => {
    await t.daemon.engine.create({ image: 'busybox', name: 'remote-update', network: 'none', pull: 'never', memory: '64m' });
    try {
      expect(await ctr(['update', '-m', '100m', '--cpus', '1.5', '--pids-limit', '60', '--restart', 'always', 'remote-update'])).toMatchObject({ code: 0, stdout: 'remote-update\n' });
      expect((await t.daemon.engine.inspect('remote-update')).HostConfig).toMatchObject({
        Memory: 100 * 1024 * 1024,
        NanoCpus: 1_500_000_000,
        PidsLimit: 60,
        RestartPolicy: { Name: 'always', MaximumRetryCount: 0 },
      });
    } finally {
      await t.daemon.engine.remove('remote-update', { force: true });
    }
  });

  test('cp copies into a container and back out', async () => {
    const id = (await ctr(['run', '-d', '--network', 'none', 'busybox', 'sleep', '300'])).stdout.trim();
    try {
      await writeFile(join(work, 'in.txt'), 'copied in\n');
      expect((await ctr(['cp', join(work, 'in.txt'), `${id}:/tmp/in.txt`])).code).toBe(0);
      expect((await ctr(['exec', id, 'cat', '/tmp/in.txt'])).stdout).toBe('copied in\n');
      await mkdir(join(work, 'out'));
      const out = await ctr(['cp', `${id}:/tmp/in.txt`, join(work, 'out')]);
      // Its output is no terminal, so, as docker's, cp reports nothing.
      expect(out).toMatchObject({ code: 0, stderr: '' });
      expect(await readFile(join(work, 'out', 'in.txt'), 'utf8')).toBe('copied in\n');
    } finally {
      await t.daemon.engine.remove(id, { force: true });
    }
  });

  test('build sends the context (less .dockerignore) and the image lands in the daemon', async () => {
    const context = join(work, 'build');
    await mkdir(join(context, 'secret'), { recursive: true });
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx\nRUN ls -a /ctx > /listing\nCMD ["cat", "/listing"]\n');
    await writeFile(join(context, 'app.txt'), 'app\n');
    await writeFile(join(context, 'secret', 'key'), 'do not send\n');
    await writeFile(join(context, '.dockerignore'), 'secret\n');
    const built = await ctr(['build', '-t', 'remote-built', context]);
    expect(built.code).toBe(0);
    expect(built.stdout).toContain('Step 1/4 : FROM busybox');
    expect(built.stdout).toMatch(/Successfully built [0-9a-f]{12}\nSuccessfully tagged remote-built:latest\n$/);
    expect((await t.daemon.engine.images()).flatMap((i) => i.RepoTags)).toContain('remote-built:latest');
    const listing = await ctr(['run', '--rm', '--network', 'none', 'remote-built']);
    expect(listing.stdout.split('\n')).toEqual(expect.arrayContaining(['Dockerfile', 'app.txt']));
    expect(listing.stdout).not.toContain('secret');
  });

  test('a failing build step fails the command with the step output', async () => {
    const context = join(work, 'failing');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo about to fail; exit 7\n');
    const built = await ctr(['build', context]);
    expect(built.code).not.toBe(0);
    expect(built.stdout).toContain('about to fail');
  });

  test('images, inspect, tag and rmi show and change the daemon\'s images', async () => {
    const images = await ctr(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(images.stdout.split('\n')).toContain('busybox:latest');
    const id = (await t.daemon.engine.inspectImage('busybox')).Id;
    expect(await ctr(['inspect', '--format', '{{.Id}}', 'busybox'])).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
    expect((await ctr(['tag', 'busybox', 'remote-tag:v1'])).code).toBe(0);
    expect((await t.daemon.engine.inspectImage('remote-tag:v1')).Id).toBe(id);
    expect(await ctr(['rmi', 'remote-tag:v1'])).toEqual({ code: 0, stdout: 'Untagged: remote-tag:v1\n', stderr: '' });
    await expect(t.daemon.engine.inspectImage('remote-tag:v1')).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('save streams an archive out of the daemon and load puts it back', async () => {
    await t.daemon.engine.tag('busybox', 'remote-saved:latest');
    const archive = join(work, 'saved.tar');
    expect((await ctr(['save', '-o', archive, 'remote-saved'])).code).toBe(0);
    await t.daemon.engine.removeImage('remote-saved:latest');
    expect(await ctr(['load', '-i', archive])).toEqual({ code: 0, stdout: 'Loaded image: remote-saved:latest\n', stderr: '' });
    expect((await t.daemon.engine.inspectImage('remote-saved')).Id).toBe((await t.daemon.engine.inspectImage('busybox')).Id);
  });

  test('volume create, ls and rm manage the daemon\'s volumes', async () => {
    expect(await ctr(['volume', 'create', 'remote-vol'])).toEqual({ code: 0, stdout: 'remote-vol\n', stderr: '' });
    expect((await t.daemon.engine.inspectVolume('remote-vol')).Name).toBe('remote-vol');
    expect((await ctr(['volume', 'ls', '-q'])).stdout.split('\n')).toContain('remote-vol');
    expect(await ctr(['volume', 'rm', 'remote-vol'])).toEqual({ code: 0, stdout: 'remote-vol\n', stderr: '' });
    await expect(t.daemon.engine.inspectVolume('remote-vol')).rejects.toMatchObject({ code: 'NotFound' });
  });

  test("volume create -o reaches the daemon's local driver", async () => {
    expect((await ctr(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'remote-tmpfs'])).code).toBe(0);
    expect((await t.daemon.engine.inspectVolume('remote-tmpfs')).Options).toEqual({ type: 'tmpfs', device: 'tmpfs' });
    await t.daemon.engine.removeVolume('remote-tmpfs');
  });

  test('events --since/--until replays what the daemon did and ends', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await t.daemon.engine.createVolume({ name: 'remote-evented' });
    await t.daemon.engine.removeVolume('remote-evented');
    const events = await ctr(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--format', '{{.Type}} {{.Action}} {{.Actor.ID}}']);
    expect(events.code).toBe(0);
    expect(events.stdout).toContain('volume create remote-evented\nvolume destroy remote-evented\n');
  });

  test('an error from the daemon is printed with its message', async () => {
    expect(await ctr(['rm', 'no-such-container'])).toEqual({ code: 1, stdout: '', stderr: expect.stringContaining('No such container: no-such-container') });
  });
});

describe('choosing the daemon', () => {
  const count = async (env: NodeJS.ProcessEnv): Promise<Result> => run(['volume', 'ls', '-q'], { env: cleanEnv({ CTR_CONFIG: join(work, 'config'), ...env }) });

  beforeAll(async () => {
    await t.daemon.engine.createVolume({ name: 'only-on-the-daemon' });
  });

  test('DOCKER_HOST sends commands to the daemon', async () => {
    expect((await count({ DOCKER_HOST: host })).stdout).toContain('only-on-the-daemon');
  });

  test('CTR_HOST sends commands to the daemon and wins over DOCKER_HOST', async () => {
    expect((await count({ CTR_HOST: host, DOCKER_HOST: 'unix:///nonexistent/docker.sock' })).stdout).toContain('only-on-the-daemon');
  });

  test('-H wins over CTR_HOST', async () => {
    const result = await run(['-H', host, 'volume', 'ls', '-q'], { env: cleanEnv({ CTR_CONFIG: join(work, 'config'), CTR_HOST: 'unix:///nonexistent/ctr.sock' }) });
    expect(result.stdout).toContain('only-on-the-daemon');
  });

  test('an unreachable daemon is one line in docker\'s words and exit status 1', async () => {
    const result = await run(['-H', `unix://${work}/nothing.sock`, 'ps'], { env: cleanEnv({ CTR_CONFIG: join(work, 'config') }) });
    expect(result).toEqual({ code: 1, stdout: '', stderr: `Cannot connect to the ctr daemon at unix://${work}/nothing.sock. Is the daemon running?\n` });
  });

  test('system dial-stdio bridges to the socket the global -H names', async () => {
    const result = await ctr(['system', 'dial-stdio'], 'GET /_ping HTTP/1.0\r\nHost: ctr\r\n\r\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(result.stdout.endsWith('\r\n\r\nOK')).toBe(true);
  });

  test('ctr version shows the client and the daemon it reached', async () => {
    const result = await ctr(['version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Client:\n Version: +0\.1\.0\n/);
    expect(result.stdout).toContain(`\nServer: ${host}\n Engine:\n  Version:          0.1.0\n  API version:      1.47 (minimum version 1.24)\n`);
  });
});
