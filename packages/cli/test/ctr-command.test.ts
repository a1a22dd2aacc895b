import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctrOn, eventually, importBusybox, removeCtrRoot, type CtrOn, type CtrResult } from './local-ctr';

describe('the ctr command (real runc, conmon, overlayfs)', () => {
  let root: string;
  let on: CtrOn;
  const ctr = (...args: string[]): Promise<CtrResult> => on.run(...args);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-cli-'));
    on = ctrOn(root, await mkdtemp(join(tmpdir(), 'ctr-cli-run-')));
    expect(await importBusybox(on)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^sha256:[a-f0-9]{64}\n$/) });
  });

  afterAll(async () => {
    await removeCtrRoot(on);
  });

  test('run propagates the container exit code', async () => {
    expect(await ctr('run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo hi; exit 3')).toEqual({ code: 3, stdout: 'hi\n', stderr: '' });
  });

  test('run of a missing executable exits 127 with docker\'s wording', async () => {
    const result = await ctr('run', '--rm', '--network', 'none', 'busybox', 'nope');
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('exec: "nope": executable file not found in $PATH');
    expect(result.stderr).toMatch(/\n\nRun 'ctr run --help' for more information\n$/);
  });

  test('run -i pipes stdin to the container', async () => {
    const [launcher, ...args] = on.argv('run', '--rm', '-i', '--network', 'none', 'busybox', 'sh', '-c', 'tr a-z A-Z');
    const child = execFile(launcher as string, args);
    const out: string[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
    child.stdin?.end('piped text\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out.join('')).toBe('PIPED TEXT\n');
  });

  test('run -it gives an interactive shell in a real terminal', async () => {
    // `script` gives ctr a pseudo-terminal, as a person's terminal would.
    const command = on.argv('run', '-it', '--rm', '--network', 'none', 'busybox', 'sh').join(' ');
    const child = execFile('script', ['-qec', command, '/dev/null']);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (text: string): Promise<void> => {
      for (let i = 0; i < 100 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
    };
    await waitFor('# ');
    child.stdin?.write('echo tty-$((6*7)); [ -t 0 ] && echo is-a-tty\r');
    await waitFor('is-a-tty');
    child.stdin?.write('exit 7\r');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(out).toContain('tty-42');
    expect(out).toContain('is-a-tty');
    expect(code).toBe(7);
  });

  test('images lists with docker\'s columns', async () => {
    const { stdout } = await ctr('images');
    const [header, row] = stdout.split('\n');
    expect(header).toMatch(/^REPOSITORY\s{3,}TAG\s{3,}IMAGE ID\s{3,}CREATED\s{3,}SIZE$/);
    expect(row).toMatch(/^busybox\s+latest\s+[a-f0-9]{12}\s+.+ ago\s+\d/);
  });

  test('a detached container shows in ps, logs, stops and is removed', async () => {
    const started = await ctr('run', '-d', '--name', 'cli-web', '--network', 'none', 'busybox', 'sh', '-c', 'echo up; exec sleep 60');
    expect(started.stdout).toMatch(/^[a-f0-9]{64}\n$/);
    const ps = await ctr('ps');
    expect(ps.stdout.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(ps.stdout).toMatch(/busybox\s+"sh -c 'echo up; exe…"\s+.+\s+Up .+\s+cli-web/);
    expect(await eventually(async () => (await ctr('logs', 'cli-web')).stdout !== '')).toBe(true);
    expect((await ctr('logs', 'cli-web')).stdout).toBe('up\n');
    expect(await ctr('stop', '-t', '1', 'cli-web')).toMatchObject({ code: 0, stdout: 'cli-web\n' });
    expect((await ctr('ps', '-a', '--filter', 'name=cli-web', '--format', '{{.Names}} {{.State}}')).stdout).toBe('cli-web exited\n');
    expect(await ctr('rm', 'cli-web')).toMatchObject({ code: 0, stdout: 'cli-web\n' });
  });

  test('an unknown container is an error naming it, exit 1 for rm like docker', async () => {
    expect(await ctr('rm', 'ghost')).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: No such container: ghost\n' });
  });

  test('any other command\'s error exits 1, as docker\'s do', async () => {
    expect((await ctr('image', 'inspect', 'no-such-image')).code).toBe(1);
    expect((await ctr('volume', 'rm', 'no-such-volume')).code).toBe(1);
  });

  test('a ctr failure exits 125', async () => {
    const result = await ctr('run', '--network', 'none', 'UPPER');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain('invalid reference format');
  });

  test('an unknown command or flag says so', async () => {
    expect(await ctr('frobnicate')).toMatchObject({ code: 1, stderr: "ctr: unknown command: ctr frobnicate\n\nRun 'ctr --help' for more information\n" });
    expect(await ctr('ps', '--nope')).toMatchObject({ code: 125, stderr: expect.stringContaining('unknown flag: --nope') });
  });

  test("a flag error shows the command's usage and where to read more, as docker 28 frames it", async () => {
    expect(await ctr('rm', '--bad')).toEqual({
      code: 125,
      stdout: '',
      stderr: "unknown flag: --bad\n\nUsage:  ctr rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRun 'ctr rm --help' for more information\n",
    });
  });

  test('a command given too few arguments says how many it needs, with its usage', async () => {
    expect(await ctr('rm')).toEqual({
      code: 1,
      stdout: '',
      stderr: "ctr: 'ctr rm' requires at least 1 argument\n\nUsage:  ctr rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'ctr rm --help' for more information\n",
    });
  });

  test('an unknown subcommand of a group names it and shows the group usage', async () => {
    expect(await ctr('volume', 'frobnicate')).toEqual({
      code: 1,
      stdout: '',
      stderr: "ctr: unknown command: ctr volume frobnicate\n\nUsage:  ctr volume COMMAND\n\nRun 'ctr volume --help' for more information\n",
    });
  });

  test('a size flag that is no size is refused while the arguments are parsed, before any image is looked at', async () => {
    const result = await ctr('run', '--memory', 'lots', 'no-such-image');
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/^invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'\n\nUsage:  ctr run /);
  });

  test('--help prints usage and options', async () => {
    const { code, stdout } = await ctr('run', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage:  ctr run [OPTIONS] IMAGE [COMMAND] [ARG...]');
    expect(stdout).toMatch(/-d, --detach\s+Run container in background and print container ID/);
  });

  test('container and image sub-command forms work', async () => {
    expect((await ctr('container', 'ls', '-a', '-q')).code).toBe(0);
    expect((await ctr('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}')).stdout).toBe('busybox:latest\n');
  });

  test('output more than a pipe holds reaches a reader that is slow to read, whole, before ctr exits', async () => {
    const command = `${on.argv('run', '--rm', '--network', 'none', 'busybox', 'head', '-c', '3000000', '/dev/zero').map((a) => `'${a}'`).join(' ')} | (sleep 1; wc -c)`;
    const counted = await new Promise<string>((resolve, reject) => {
      execFile('/bin/sh', ['-c', command], (error, out) => (error ? reject(error) : resolve(out)));
    });
    expect(counted.trim()).toBe('3000000');
  });

  test('a --rm container leaves no files behind: its layer and its directory are deleted after ctr run ends', async () => {
    expect((await ctr('run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo data > /file')).code).toBe(0);
    const leftovers = async (): Promise<string[]> => {
      const snapshots = JSON.parse(await readFile(join(root, 'snapshots', 'metadata.json'), 'utf8')) as { snapshots: Record<string, { id: string }> };
      const recorded = new Set(Object.values(snapshots.snapshots).map((s) => String(s.id)));
      const unrecorded = (await readdir(join(root, 'snapshots'))).filter(
        (name) => !['metadata.json', 'volatile'].includes(name) && !name.startsWith('.') && !recorded.has(name),
      );
      // A --rm container's snapshot is volatile: its record is a file of its own, which goes too.
      const volatileRecords = await readdir(join(root, 'snapshots', 'volatile')).catch(() => []);
      return [...unrecorded, ...volatileRecords, ...(await readdir(join(root, 'removed-containers')))];
    };
    await eventually(async () => (await leftovers()).length === 0);
    expect(await leftovers()).toEqual([]);
  });

  test('volume create, ls and rm', async () => {
    expect((await ctr('volume', 'create', 'cli-vol')).stdout).toBe('cli-vol\n');
    expect((await ctr('volume', 'ls')).stdout).toMatch(/DRIVER\s+VOLUME NAME\nlocal\s+cli-vol/);
    expect((await ctr('volume', 'rm', 'cli-vol')).stdout).toBe('cli-vol\n');
  });

  test('volume create -o gives the local driver its options, which inspect shows and a run mounts', async () => {
    expect((await ctr('volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '--opt', 'o=size=2m', 'cli-tmpfs')).stdout).toBe('cli-tmpfs\n');
    expect(JSON.parse((await ctr('volume', 'inspect', '--format', '{{json .Options}}', 'cli-tmpfs')).stdout)).toEqual({ device: 'tmpfs', o: 'size=2m', type: 'tmpfs' });
    const df = await ctr('run', '--rm', '--network', 'none', '-v', 'cli-tmpfs:/data', 'busybox', 'sh', '-c', "df -k /data | awk 'NR==2 {print $1, $2}'");
    expect(df.stdout).toBe('tmpfs 2048\n');
    expect((await ctr('volume', 'rm', 'cli-tmpfs')).code).toBe(0);
  });

  test('volume create with a driver option the local driver lacks is refused, and no volume is made', async () => {
    const refused = await ctr('volume', 'create', '-o', 'foo=bar', 'cli-refused');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('invalid option: "foo"');
    expect((await ctr('volume', 'ls', '-q')).stdout).not.toContain('cli-refused');
  });
});

test('a reader that closes the pipe early (ctr version | head -1) ends ctr quietly, with no stack', async () => {
  const bin = join(__dirname, '..', 'bin', 'ctr');
  const state = await mkdtemp(join(tmpdir(), 'ctr-cli-epipe-'));
  try {
    // The client part is written, head exits, then the server part meets a closed pipe.
    const command = `"${bin}" --root "${state}/root" --runroot "${state}/run" version | head -1`;
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      execFile('/bin/sh', ['-c', command], (_error, out, err) => resolve({ stdout: out, stderr: err }));
    });
    expect(stdout).toBe('Client:\n');
    expect(stderr).toBe('');
  } finally {
    await rm(state, { recursive: true, force: true });
  }
});
