import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as runRemote, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

describe('--filter on listings and prunes (ctr without a daemon)', () => {
  let ctr: LocalCtr;
  beforeAll(async () => {
    ctr = await localCtr('filters');
  });
  afterAll(async () => {
    await ctr?.cleanup();
  });

  /** An image without a name: a commit of a container, the container removed. */
  async function danglingImage(): Promise<string> {
    const container = (await ctr.run('create', '--network', 'none', 'busybox', 'true')).stdout.trim();
    const image = (await ctr.run('commit', container)).stdout.trim();
    await ctr.run('rm', container);
    return image;
  }

  test('images --filter reference= lists only the matching names', async () => {
    expect((await ctr.run('tag', 'busybox', 'filtered:1')).code).toBe(0);
    expect((await ctr.run('images', '--filter', 'reference=filt*', '--format', '{{.Repository}}:{{.Tag}}')).stdout).toBe('filtered:1\n');
    expect((await ctr.run('image', 'ls', '-f', 'reference=*:latest', '--format', '{{.Repository}}:{{.Tag}}')).stdout).toBe('busybox:latest\n');
    await ctr.run('rmi', 'filtered:1');
  });

  test('images -f dangling=true lists the image without a name', async () => {
    const image = await danglingImage();
    expect((await ctr.run('images', '-f', 'dangling=true', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}')).stdout).toBe(`${image.slice(7, 19)} <none>:<none>\n`);
    await ctr.run('rmi', image);
  });

  test('an unknown filter is the engine\'s error, exit 1 as docker\'s daemon errors', async () => {
    expect(await ctr.run('images', '--filter', 'foo=bar')).toEqual({ code: 1, stdout: '', stderr: "Error response from daemon: invalid filter 'foo'\n" });
  });

  test('a filter without = is docker\'s flag error, exit 125', async () => {
    const result = await ctr.run('images', '--filter', 'dangling');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain('invalid argument "dangling" for "-f, --filter" flag: bad format of filter (expected name=value)');
    const prune = await ctr.run('container', 'prune', '-f', '--filter', 'until');
    expect(prune.code).toBe(125);
    expect(prune.stderr).toContain('invalid argument "until" for "--filter" flag: bad format of filter (expected name=value)');
  });

  test('volume ls -f dangling=true lists the volume no container uses', async () => {
    await ctr.run('volume', 'create', 'cli-free');
    const user = (await ctr.run('create', '--network', 'none', '-v', 'cli-used:/data', 'busybox', 'true')).stdout.trim();
    expect((await ctr.run('volume', 'ls', '-f', 'dangling=true', '--format', '{{.Name}}')).stdout).toBe('cli-free\n');
    expect((await ctr.run('volume', 'ls', '--filter', 'name=used', '-q')).stdout).toBe('cli-used\n');
    await ctr.run('rm', user);
    await ctr.run('volume', 'rm', 'cli-free', 'cli-used');
  });

  test('network ls -f type=builtin lists only the networks every engine has', async () => {
    expect((await ctr.run('network', 'ls', '-f', 'type=builtin', '--format', '{{.Name}}')).stdout).toBe('bridge\nhost\nnone\n');
  });

  test('container prune --filter label= removes only the labelled stopped container', async () => {
    const marked = (await ctr.run('create', '--network', 'none', '--label', 'sweep=1', 'busybox', 'true')).stdout.trim();
    const other = (await ctr.run('create', '--network', 'none', 'busybox', 'true')).stdout.trim();
    expect(await ctr.run('container', 'prune', '-f', '--filter', 'label=sweep=1')).toMatchObject({ code: 0, stdout: `Deleted Containers:\n${marked}\n\nTotal reclaimed space: 0B\n` });
    expect((await ctr.run('ps', '-aq', '--no-trunc')).stdout).toBe(`${other}\n`);
    await ctr.run('rm', other);
  });

  test('image prune --filter until= keeps dangling images made after it; a bad until is refused', async () => {
    const image = await danglingImage();
    expect((await ctr.run('image', 'prune', '-f', '--filter', 'until=1h')).stdout).not.toContain('Deleted Images:');
    expect((await ctr.run('image', 'prune', '-f', '--filter', `until=${Math.floor(Date.now() / 1000) + 60}`)).stdout).toContain(`deleted: ${image}`);
    expect(await ctr.run('image', 'prune', '-f', '--filter', 'until=soon')).toMatchObject({ code: 1, stderr: 'Error response from daemon: failed to parse value as time or duration: "soon"\n' });
  });

  test('volume prune -a --filter label= removes only the labelled unused volume', async () => {
    await ctr.run('volume', 'create', '--label', 'sweep=1', 'cli-marked');
    await ctr.run('volume', 'create', 'cli-kept');
    expect((await ctr.run('volume', 'prune', '-f', '-a', '--filter', 'label=sweep')).stdout).toMatch(/^Deleted Volumes:\ncli-marked\n\nTotal reclaimed space: /);
    expect((await ctr.run('volume', 'ls', '-q')).stdout).toBe('cli-kept\n');
    await ctr.run('volume', 'rm', 'cli-kept');
  });

  test('network prune --filter label!= keeps the labelled network', async () => {
    await ctr.run('network', 'create', '--label', 'keep=1', 'cli-kept-net');
    await ctr.run('network', 'create', 'cli-gone-net');
    try {
      expect((await ctr.run('network', 'prune', '-f', '--filter', 'label!=keep')).stdout).toBe('Deleted Networks:\ncli-gone-net\n\n');
    } finally {
      await ctr.run('network', 'rm', 'cli-kept-net', 'cli-gone-net');
    }
  });

  test('builder prune takes --filter until=, -a and --keep-storage; a bad size is a flag error', async () => {
    expect(await ctr.run('builder', 'prune', '-f', '-a', '--filter', 'until=24h', '--keep-storage', '1GB')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Total reclaimed space: /) });
    const bad = await ctr.run('builder', 'prune', '-f', '--keep-storage', 'lots');
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('invalid argument "lots" for "--keep-storage" flag: invalid size: \'lots\'');
  });

  test('system prune --filter label= prunes only labelled containers; until with --volumes is refused', async () => {
    const marked = (await ctr.run('create', '--network', 'none', '--label', 'sweep=1', 'busybox', 'true')).stdout.trim();
    const other = (await ctr.run('create', '--network', 'none', 'busybox', 'true')).stdout.trim();
    expect((await ctr.run('system', 'prune', '-f', '--filter', 'label=sweep')).stdout).toContain(`Deleted Containers:\n${marked}\n`);
    expect(await ctr.run('system', 'prune', '-f', '--volumes', '--filter', 'until=1h')).toMatchObject({ code: 1, stderr: 'ERROR: The "until" filter is not supported with "--volumes"\n' });
    expect((await ctr.run('ps', '-aq', '--no-trunc')).stdout).toBe(`${other}\n`);
    await ctr.run('rm', other);
  });

  test('system prune lists the filters under its warning, as docker does', async () => {
    const asked = await ctr.runWith({ env: process.env, input: 'n\n' }, 'system', 'prune', '--filter', 'until=10m', '--filter', 'label=a');
    expect(asked.stdout).toContain('  - unused build cache\n\n  Items to be pruned will be filtered with:\n  - label=a\n  - until=10m\n\nAre you sure you want to continue? [y/N] ');
  });

  test('help shows docker\'s --filter lines', async () => {
    expect((await ctr.run('volume', 'ls', '--help')).stdout).toMatch(/-f, --filter filter\s+Provide filter values \(e\.g\. "dangling=true"\)/);
    expect((await ctr.run('network', 'ls', '--help')).stdout).toMatch(/-f, --filter filter\s+Provide filter values \(e\.g\. "driver=bridge"\)/);
    expect((await ctr.run('images', '--help')).stdout).toMatch(/-f, --filter filter\s+Filter output based on conditions provided/);
    expect((await ctr.run('image', 'prune', '--help')).stdout).toMatch(/\n\s+--filter filter\s+Provide filter values \(e\.g\. "until=<timestamp>"\)/);
    expect((await ctr.run('volume', 'prune', '--help')).stdout).toMatch(/--filter filter\s+Provide filter values \(e\.g\. "label=<label>"\)/);
    expect((await ctr.run('system', 'prune', '--help')).stdout).toMatch(/--filter filter\s+Provide filter values \(e\.g\. "label=<key>=<value>"\)/);
    expect((await ctr.run('builder', 'prune', '--help')).stdout).toMatch(/--keep-storage bytes\s+Amount of disk space to keep for cache/);
  });
});

describe('--filter through ctr -H (RemoteEngine against ctrd)', () => {
  let t: TestDaemon;
  let work: string;
  const remote = (...args: string[]): Promise<Result> => runRemote(['-H', `unix://${t.socket}`, ...args], { env: cleanEnv({ CTR_CONFIG: join(work, 'config') }) });

  beforeAll(async () => {
    t = await startTestDaemon();
    work = await mkdtemp(join(tmpdir(), 'ctr-remote-filters-'));
  });
  afterAll(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(t.internalErrors.splice(0)).toEqual([]);
  });

  test('images and volume ls send their filters as the filters query', async () => {
    await t.daemon.engine.tag('busybox', 'remote-filtered:1');
    await t.daemon.engine.createVolume({ name: 'remote-free' });
    expect((await remote('images', '-f', 'reference=remote-*', '--format', '{{.Repository}}:{{.Tag}}')).stdout).toBe('remote-filtered:1\n');
    expect((await remote('volume', 'ls', '-f', 'dangling=true', '-q')).stdout).toBe('remote-free\n');
    await t.daemon.engine.removeImage('remote-filtered:1');
    await t.daemon.engine.removeVolume('remote-free');
  });

  test('container prune sends its filters; the daemon\'s refusal is printed, exit 1', async () => {
    const marked = await t.daemon.engine.create({ image: 'busybox', network: 'none', labels: { sweep: '1' } });
    const other = await t.daemon.engine.create({ image: 'busybox', network: 'none' });
    expect((await remote('container', 'prune', '-f', '--filter', 'label=sweep')).stdout).toContain(`Deleted Containers:\n${marked.id}\n`);
    expect((await t.daemon.engine.ps({ all: true })).map((c) => c.Id)).toEqual([other.id]);
    await t.daemon.engine.remove(other.id);
    expect(await remote('network', 'prune', '-f', '--filter', 'foo=1')).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter 'foo'\n" });
  });
});
