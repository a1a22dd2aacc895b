import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

describe('ctr run/create: -v modes, --mount options and volumes filled from the image (real runc, conmon, overlayfs)', () => {
  let local: LocalCtr;
  let work: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);
  /** `ctr run --rm --network none [flags] busybox sh -c script`. */
  const runSh = (flags: string[], script: string): Promise<CtrResult> => ctr('run', '--rm', '--pull', 'never', '--network', 'none', ...flags, 'busybox', 'sh', '-c', script);
  const inspect = async (format: string, ref: string): Promise<string> => (await ctr('inspect', '-f', format, ref)).stdout.trim();

  beforeAll(async () => {
    local = await localCtr('mount-flags');
    work = await mkdtemp(join(tmpdir(), 'ctr-cli-mount-flags-'));
  });
  afterAll(async () => {
    await local?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  test("a new named volume over /etc holds the image's /etc", async () => {
    const result = await runSh(['-v', 'mf-etc:/etc'], 'ls /etc | grep -c -e passwd -e group');
    expect(result).toMatchObject({ code: 0, stdout: '2\n' });
  });

  test.each(['cached', 'delegated', 'consistent', 'z', 'Z'])('-v with mode %s is accepted, as dockerd on Linux accepts it', async (mode) => {
    const result = await runSh(['-v', `mf-mode-${mode}:/data:${mode}`], 'echo ok > /data/f && cat /data/f');
    expect(result).toMatchObject({ code: 0, stdout: 'ok\n' });
  });

  test('-v with nocopy leaves the new volume empty', async () => {
    expect(await runSh(['-v', 'mf-nocopy:/etc:nocopy'], 'ls -A /etc | wc -l')).toMatchObject({ code: 0, stdout: '0\n' });
  });

  test("a --mount bind whose source is missing is refused in dockerd's words, and nothing is made", async () => {
    const missing = join(work, 'missing');
    const result = await ctr('run', '--rm', '--pull', 'never', '--network', 'none', '--mount', `type=bind,src=${missing},dst=/x`, 'busybox', 'true');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain(`invalid mount config for type "bind": bind source path does not exist: ${missing}`);
    await expect(readdir(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('a -v bind whose source is missing makes it, as docker does', async () => {
    const missing = join(work, 'made');
    expect((await runSh(['-v', `${missing}:/x`], 'true')).code).toBe(0);
    expect(await readdir(missing)).toEqual([]);
  });

  test('volume-opt and volume-label make the new volume with them', async () => {
    const result = await runSh(['--mount', 'src=mf-opts,dst=/x,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=1m,volume-label=tier=cache'], "df -k /x | awk 'NR==2 {print $1, $2}'");
    expect(result).toMatchObject({ code: 0, stdout: 'tmpfs 1024\n' });
    const volume = await ctr('volume', 'inspect', '-f', '{{json .Options}} {{json .Labels}}', 'mf-opts');
    expect(volume.stdout.trim()).toBe('{"device":"tmpfs","o":"size=1m","type":"tmpfs"} {"tier":"cache"}');
  });

  test('volume-nocopy leaves the new volume empty', async () => {
    expect(await runSh(['--mount', 'src=mf-mount-nocopy,dst=/etc,volume-nocopy'], 'ls -A /etc | wc -l')).toMatchObject({ code: 0, stdout: '0\n' });
  });

  test('volume-subpath mounts that directory of the volume', async () => {
    expect((await runSh(['-v', 'mf-sub:/v'], 'mkdir /v/sub && echo inside > /v/sub/f && echo outside > /v/f')).code).toBe(0);
    expect(await runSh(['--mount', 'src=mf-sub,dst=/s,volume-subpath=sub'], 'ls /s; cat /s/f')).toMatchObject({ code: 0, stdout: 'f\ninside\n' });
  });

  test("a volume-subpath leaving the volume is refused in dockerd's words", async () => {
    const result = await ctr('create', '--network', 'none', '--mount', 'src=mf-sub,dst=/s,volume-subpath=../x', 'busybox');
    // docker's create says the daemon's answer as it is, status 1.
    expect(result).toMatchObject({ code: 1, stderr: 'Error response from daemon: invalid mount config for type "volume": subpath must be a relative path within the volume\n' });
  });

  test("a volume-nocopy that is no boolean is docker's flag error", async () => {
    const result = await ctr('create', '--network', 'none', '--mount', 'dst=/x,volume-nocopy=maybe', 'busybox');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain('invalid argument "dst=/x,volume-nocopy=maybe" for "--mount" flag: invalid value for volume-nocopy: maybe');
  });

  test('bind-propagation reaches the mount', async () => {
    // As dockerd, a shared bind needs a shared mount on the host to come from.
    const host = await mkdtemp(join(work, 'bind-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'ctr-test', host]);
    try {
      execFileSync('mount', ['--make-shared', host]);
      const result = await runSh(['--mount', `type=bind,src=${host},dst=/x,bind-propagation=rshared`], "grep ' /x ' /proc/self/mountinfo | grep -c shared:");
      expect(result).toMatchObject({ code: 0, stdout: '1\n' });
    } finally {
      execFileSync('umount', [host]);
    }
  });

  test('inspect shows the --mounts as given, and a --mount tmpfs among the Mounts', async () => {
    const created = await ctr('create', '--network', 'none', '--name', 'mf-inspect', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m', '--tmpfs', '/run', 'busybox');
    expect(created.code).toBe(0);
    expect(await inspect('{{json .HostConfig.Mounts}}', 'mf-inspect')).toBe('[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576}}]');
    expect(await inspect('{{range .Mounts}}{{.Type}} {{.Destination}};{{end}} {{json .HostConfig.Tmpfs}}', 'mf-inspect')).toBe('tmpfs /t; {"/run":""}');
  });
});
