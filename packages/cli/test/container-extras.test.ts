import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

describe('ctr cp, export, diff, top, stats, system df/prune (real runc, conmon, overlayfs)', () => {
  let local: LocalCtr;
  let host: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);

  beforeAll(async () => {
    local = await localCtr('extras');
  });

  afterAll(async () => {
    await local?.cleanup();
  });

  beforeEach(async () => {
    host = await mkdtemp(join(tmpdir(), 'ctr-cli-cp-'));
  });
  afterEach(async () => {
    await rm(host, { recursive: true, force: true });
  });

  test('cp copies a file out to a new name and a directory into an existing directory', async () => {
    await ctr('run', '--name', 'cp-out', '--network', 'none', 'busybox', 'sh', '-c', 'mkdir -p /data/sub && echo hello > /data/sub/f && echo top > /data/t');
    const file = await ctr('cp', 'cp-out:/data/t', join(host, 'renamed'));
    expect(file.code).toBe(0);
    expect(await readFile(join(host, 'renamed'), 'utf8')).toBe('top\n');
    expect((await ctr('cp', 'cp-out:/data', host)).code).toBe(0);
    expect(await readFile(join(host, 'data', 'sub', 'f'), 'utf8')).toBe('hello\n');
    await ctr('rm', 'cp-out');
  });

  test('cp copies a host directory into a container, and a tar from stdin with -', async () => {
    await mkdir(join(host, 'site'));
    await writeFile(join(host, 'site', 'index.html'), '<h1>hi</h1>\n');
    await ctr('create', '--name', 'cp-in', '--network', 'none', 'busybox');
    expect((await ctr('cp', join(host, 'site'), 'cp-in:/srv')).code).toBe(0);
    const listing = await ctr('cp', 'cp-in:/srv/index.html', '-');
    expect(listing.code).toBe(0);
    expect(listing.stdout).toContain('<h1>hi</h1>');
    expect(listing.stdout.slice(0, 10)).toBe('index.html');
    await ctr('rm', 'cp-in');
  });

  test('cp from a missing container path exits 1 (docker\'s status) and writes nothing; a missing host path too', async () => {
    await ctr('create', '--name', 'cp-missing', '--network', 'none', 'busybox');
    const result = await ctr('cp', 'cp-missing:/no/such', join(host, 'x'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Could not find the file /no/such in container cp-missing');
    expect(await readdir(host)).toEqual([]);
    expect((await ctr('cp', join(host, 'absent'), 'cp-missing:/tmp')).code).toBe(1);
    expect((await ctr('cp', 'a', 'b')).stderr).toContain('must specify at least one container source');
    await ctr('rm', 'cp-missing');
  });

  test('diff prints docker diff lines', async () => {
    await ctr('run', '--name', 'diffed', '--network', 'none', 'busybox', 'sh', '-c', 'touch /added && rm /etc/group');
    const result = await ctr('diff', 'diffed');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual(expect.arrayContaining(['A /added', 'C /etc', 'D /etc/group']));
    await ctr('rm', 'diffed');
  });

  test('export -o writes the filesystem as a tar', async () => {
    await ctr('create', '--name', 'exported', '--network', 'none', 'busybox');
    const out = join(host, 'fs.tar');
    expect((await ctr('export', '-o', out, 'exported')).code).toBe(0);
    const tar = await readFile(out);
    expect(tar.includes(Buffer.from('bin/busybox'))).toBe(true);
    await ctr('rm', 'exported');
  });

  test('top prints ps columns for the container processes', async () => {
    await ctr('run', '-d', '--name', 'topped', '--network', 'none', 'busybox', 'sleep', '60');
    const result = await ctr('top', 'topped');
    expect(result.code).toBe(0);
    const [header, row] = result.stdout.split('\n');
    expect(header).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    expect(row).toMatch(/sleep 60$/);
    await ctr('rm', '-f', 'topped');
  });

  test('stats --no-stream prints docker columns', async () => {
    await ctr('run', '-d', '--name', 'statted', '--network', 'none', '-m', '32m', 'busybox', 'sleep', '60');
    const result = await ctr('stats', '--no-stream', 'statted');
    expect(result.code).toBe(0);
    const [header, row] = result.stdout.split('\n');
    expect(header).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(row).toMatch(/^[0-9a-f]{12}\s+statted\s+\d+\.\d\d%\s+[\d.]+\w?i?B \/ 32MiB\s+\d+\.\d\d%\s+\S+ \/ \S+\s+\S+ \/ \S+\s+1$/);
    const formatted = await ctr('stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'statted');
    expect(formatted.stdout).toBe('statted 1\n');
    await ctr('rm', '-f', 'statted');
  });

  test('system df prints the usage table and system prune -f removes stopped containers', async () => {
    await ctr('run', '--name', 'prunable', '--network', 'none', 'busybox', 'true');
    const df = await ctr('system', 'df');
    expect(df.code).toBe(0);
    expect(df.stdout.split('\n')[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    expect(df.stdout).toMatch(/\nImages\s+1\s+/);
    const pruned = await ctr('system', 'prune', '-f');
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n/);
    expect(pruned.stdout).toMatch(/Total reclaimed space: /);
    expect((await ctr('ps', '-aq')).stdout).toBe('');
  });

  test('system prune without -f asks, and no answer (end of input) or "n" removes nothing', async () => {
    await ctr('create', '--name', 'kept', '--network', 'none', 'busybox', 'true');
    for (const input of ['', 'n\n']) {
      const asked = await local.runWith({ env: process.env, input }, 'system', 'prune');
      expect(asked.code).toBe(0);
      expect(asked.stdout).toMatch(/^WARNING! This will remove:\n[\s\S]*Are you sure you want to continue\? \[y\/N\] $/);
      expect((await ctr('ps', '-aq')).stdout).not.toBe('');
    }
    await ctr('rm', 'kept');
  });

  test('system prune reads "y" piped to it as confirmation', async () => {
    await ctr('create', '--name', 'pruned-by-pipe', '--network', 'none', 'busybox', 'true');
    const confirmed = await local.runWith({ env: process.env, input: 'y\n' }, 'system', 'prune');
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toMatch(/\[y\/N\] Deleted Containers:\n[0-9a-f]{64}\n/);
    expect((await ctr('ps', '-aq')).stdout).toBe('');
  });

  test('update prints each container it changed and the new limits are in force inside it', async () => {
    await ctr('run', '-d', '--name', 'upd', '-m', '64m', '--network', 'none', 'busybox', 'sleep', '60');
    expect(await ctr('update', '-m', '80m', '--pids-limit', '25', 'upd')).toMatchObject({ code: 0, stdout: 'upd\n' });
    const inside = await ctr('exec', 'upd', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max');
    expect(inside.stdout).toBe(`${80 * 1024 * 1024}\n25\n`);
    await ctr('rm', '-f', 'upd');
  });

  test('update with no flag is an error that changes nothing, and an unknown container exits 1', async () => {
    expect(await ctr('update', 'upd-none')).toMatchObject({ code: 1, stderr: 'you must provide one or more flags when using this command\n' });
    expect(await ctr('update', '--cpus', '1', 'upd-none')).toMatchObject({ code: 1, stderr: 'Error response from daemon: No such container: upd-none\n' });
  });

  test('run --ulimit, --shm-size and --memory-reservation reach the container', async () => {
    const run = await ctr(
      'run', '--rm', '--network', 'none', '--ulimit', 'nofile=512:1024', '--shm-size', '8m', '--memory-reservation', '32m', 'busybox',
      'sh', '-c', 'ulimit -Sn; ulimit -Hn; df -k /dev/shm | tail -1; cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes',
    );
    expect(run.code).toBe(0);
    const [soft, hard, shm, reservation] = run.stdout.trim().split('\n');
    expect([soft, hard, reservation]).toEqual(['512', '1024', String(32 * 1024 * 1024)]);
    expect(shm).toMatch(/^shm\s+8192\s/);
  });

  test('a malformed --ulimit is docker\'s flag error, exit 125', async () => {
    expect(await ctr('run', '--rm', '--network', 'none', '--ulimit', 'nofile', 'busybox', 'true')).toMatchObject({
      code: 125,
      stderr: expect.stringContaining('invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile'),
    });
  });

  test('restart --signal sends that signal first and --timeout bounds the wait; --time still works, unlisted', async () => {
    // The shell ignores TERM: only the USR1 asked for ends it before the timeout.
    await ctr('run', '-d', '--name', 'rs', '--network', 'none', 'busybox', 'sh', '-c', 'trap "" TERM; trap "exit 3" USR1; echo up; while true; do sleep 0.1; done');
    const since = String(Math.floor(Date.now() / 1000) - 1);
    expect(await ctr('restart', '--signal', 'USR1', '--timeout', '20', 'rs')).toMatchObject({ code: 0, stdout: 'rs\n' });
    const died = await ctr('events', '--since', since, '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'event=die', '--filter', 'container=rs', '--format', '{{.Actor.Attributes.exitCode}}');
    expect(died.stdout).toBe('3\n');
    expect((await ctr('inspect', '--format', '{{.State.Running}} {{.RestartCount}}', 'rs')).stdout).toBe('true 0\n');
    expect((await ctr('logs', 'rs')).stdout).toBe('up\nup\n');
    expect(await ctr('stop', '--time', '0', 'rs')).toMatchObject({ code: 0, stdout: 'rs\n' });
    expect((await ctr('stop', '--help')).stdout).not.toContain('--time ');
    await ctr('rm', 'rs');
  });
});

describe('system df counts an image as active by its containers, tagged or not', () => {
  let local: LocalCtr;

  beforeAll(async () => {
    local = await localCtr('df-dangling');
    const steps = [
      ['create', '--name', 'source', '--network', 'none', '--pull', 'never', 'busybox', 'true'],
      ['commit', 'source', 'untagged:1'],
      ['rm', 'source'],
      ['run', '-d', '--name', 'user', '--network', 'none', '--pull', 'never', 'untagged:1', 'sleep', '300'],
      // The container keeps the image; only its one tag goes, leaving it dangling.
      ['rmi', '-f', 'untagged:1'],
    ];
    for (const step of steps) expect((await local.run(...step)).code).toBe(0);
  });

  afterAll(async () => {
    await local?.cleanup();
  });

  test('a dangling image a running container uses is active; unused busybox is not', async () => {
    const images = await local.run('system', 'df', '--format', '{{if eq .Type "Images"}}{{.TotalCount}} {{.Active}}{{end}}');
    expect(images.stdout.trim()).toBe('2 1');
  });
});
