import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/** The host's platform as OCI names it: the one the imported busybox is for. */
const hostArch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;

describe('ctr run/create: docker flags the engine already supports (real runc, conmon, overlayfs)', () => {
  let local: LocalCtr;
  let host: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);
  /** `ctr run --rm --network none busybox sh -c script` with `flags` before the image. */
  const runSh = (flags: string[], script: string): Promise<CtrResult> => ctr('run', '--rm', '--network', 'none', ...flags, 'busybox', 'sh', '-c', script);
  const containerIds = async (): Promise<string[]> => (await ctr('ps', '-aq', '--no-trunc')).stdout.split('\n').filter(Boolean);
  /** A refusal before any container exists: docker's status 125, the message on stderr, nothing made. */
  const expectRefused = async (result: CtrResult, message: string): Promise<void> => {
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(125);
    expect(await containerIds()).toEqual([]);
  };

  beforeAll(async () => {
    local = await localCtr('run-flags');
  });
  afterAll(async () => {
    await local?.cleanup();
  });
  beforeEach(async () => {
    host = await mkdtemp(join(tmpdir(), 'ctr-cli-run-flags-'));
  });
  afterEach(async () => {
    for (const id of await containerIds()) await ctr('rm', '-f', id);
    await rm(host, { recursive: true, force: true });
  });

  describe('--mount', () => {
    test('a tmpfs mount is at its target with the size and mode given', async () => {
      const result = await runSh(['--mount', 'type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770'], 'grep " /t " /proc/mounts');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^tmpfs \/t tmpfs rw,.*size=1024k,mode=1770/);
    });

    test('a tmpfs mount with readonly is mounted read-only', async () => {
      const result = await runSh(['--mount', 'type=tmpfs,dst=/t,readonly'], 'grep " /t " /proc/mounts');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^tmpfs \/t tmpfs ro,/);
    });

    test('a bind mount shows the host directory, and readonly keeps the container from writing to it', async () => {
      await writeFile(join(host, 'f'), 'from the host\n');
      const result = await runSh(['--mount', `type=bind,source=${host},target=/data,readonly`], 'cat /data/f; touch /data/new 2>/dev/null && echo writable || echo read-only');
      expect(result.stdout).toBe('from the host\nread-only\n');
    });

    test('a bind source starting with . is taken from the current directory, as docker does', async () => {
      await mkdir(join(host, 'site'));
      await writeFile(join(host, 'site', 'index.html'), 'hi\n');
      const result = await local.runWith({ env: process.env, cwd: host }, 'run', '--rm', '--network', 'none', '--mount', 'type=bind,src=./site,dst=/site', 'busybox', 'cat', '/site/index.html');
      expect(result.stdout).toBe('hi\n');
    });

    test('a named volume mount (the default type) keeps its data for the next container that mounts it', async () => {
      expect((await runSh(['--mount', 'source=run-flags-vol,target=/v'], 'echo kept > /v/f')).code).toBe(0);
      expect((await runSh(['--mount', 'src=run-flags-vol,dst=/v,ro'], 'cat /v/f')).stdout).toBe('kept\n');
      await ctr('volume', 'rm', 'run-flags-vol');
    });

    test('a mount without a target is refused with docker\'s message', async () => {
      await expectRefused(await ctr('run', '--network', 'none', '--mount', 'type=bind', 'busybox'), 'invalid argument "type=bind" for "--mount" flag: target is required');
    });

    test('an unknown key is refused with docker\'s message', async () => {
      await expectRefused(await ctr('create', '--network', 'none', '--mount', 'type=tmpfs,target=/t,foo=bar', 'busybox'), "unexpected key 'foo' in 'foo=bar'");
    });

    test('a field that is not key=value is refused with docker\'s message', async () => {
      await expectRefused(await ctr('create', '--network', 'none', '--mount', 'type=tmpfs,target=/t,bogus', 'busybox'), "invalid field 'bogus' must be a key=value pair");
    });

    test('a bind without a source is refused as dockerd refuses it', async () => {
      await expectRefused(await ctr('run', '--network', 'none', '--mount', 'type=bind,target=/x', 'busybox'), 'invalid mount config for type "bind": field Source must not be empty');
    });

    test('tmpfs options on a bind mount are refused with docker\'s message', async () => {
      await expectRefused(
        await ctr('create', '--network', 'none', '--mount', `type=bind,src=${host},dst=/x,tmpfs-size=1m`, 'busybox'),
        "cannot mix 'tmpfs-*' options with mount type 'bind'",
      );
    });
  });

  describe('kernel, DNS and OCI settings', () => {
    test('--sysctl sets a namespaced kernel parameter inside the container', async () => {
      const result = await runSh(['--sysctl', 'kernel.shm_rmid_forced=1'], 'cat /proc/sys/kernel/shm_rmid_forced');
      expect(result.stdout).toBe('1\n');
    });

    test('--sysctl without =VALUE is refused with docker\'s message', async () => {
      await expectRefused(await ctr('run', '--network', 'none', '--sysctl', 'kernel.shm_rmid_forced', 'busybox'), `invalid argument "kernel.shm_rmid_forced" for "--sysctl" flag: sysctl 'kernel.shm_rmid_forced' is not allowed`);
    });

    test('--dns-search and --dns-option are written to the container\'s /etc/resolv.conf', async () => {
      const result = await runSh(['--dns-search', 'example.com', '--dns-search', 'example.org', '--dns-option', 'ndots:3'], 'cat /etc/resolv.conf');
      expect(result.stdout.split('\n')).toEqual(expect.arrayContaining(['search example.com example.org', 'options ndots:3']));
    });

    test('--domainname is the container\'s domain name, inside it and in inspect', async () => {
      expect((await runSh(['--domainname', 'example.org'], 'cat /proc/sys/kernel/domainname')).stdout).toBe('example.org\n');
      const id = (await ctr('create', '--network', 'none', '--domainname', 'example.org', 'busybox')).stdout.trim();
      expect((await ctr('inspect', '-f', '{{.Config.Domainname}}', id)).stdout).toBe('example.org\n');
    });

    test('--annotation is passed through to the OCI runtime in the bundle\'s config.json', async () => {
      const id = (await ctr('create', '--network', 'none', '--annotation', 'org.example.a=1', '--annotation', 'org.example.empty', 'busybox')).stdout.trim();
      const bundle = dirname((await ctr('inspect', '-f', '{{.ResolvConfPath}}', id)).stdout.trim());
      const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
      expect(config.annotations).toMatchObject({ 'org.example.a': '1', 'org.example.empty': '' });
    });
  });

  describe('--label-file and --env-file', () => {
    const labelsOf = async (id: string): Promise<Record<string, string>> => JSON.parse((await ctr('inspect', '-f', '{{json .Config.Labels}}', id)).stdout) as Record<string, string>;

    test('--label-file sets labels, skipping comments and blank lines; a bare KEY is dropped, as docker 28 drops it', async () => {
      await writeFile(join(host, 'labels'), '# a comment\n\nteam=storage\n  indented=yes\nbare\nspaced=kept as written \n');
      const id = (await ctr('create', '--network', 'none', '--label-file', join(host, 'labels'), 'busybox')).stdout.trim();
      expect(await labelsOf(id)).toEqual({ team: 'storage', indented: 'yes', spaced: 'kept as written ' });
    });

    test('--label wins over the same key in a --label-file', async () => {
      await writeFile(join(host, 'labels'), 'team=storage\nowner=ops\n');
      const id = (await ctr('create', '--network', 'none', '--label-file', join(host, 'labels'), '--label', 'team=network', 'busybox')).stdout.trim();
      expect(await labelsOf(id)).toEqual({ team: 'network', owner: 'ops' });
    });

    test('a missing --label-file is refused', async () => {
      await expectRefused(await ctr('create', '--network', 'none', '--label-file', join(host, 'absent'), 'busybox'), `open ${join(host, 'absent')}: no such file or directory`);
    });

    test('a --label-file key with whitespace is refused with docker\'s message', async () => {
      await writeFile(join(host, 'labels'), 'bad key=1\n');
      await expectRefused(await ctr('create', '--network', 'none', '--label-file', join(host, 'labels'), 'busybox'), "variable 'bad key' contains whitespaces");
    });

    test('--env-file reads the same way: a bare NAME takes its value from ctr\'s environment, an unset one is dropped', async () => {
      await writeFile(join(host, 'env'), '# comment\nFROM_FILE=1\nFROM_HOST\nNOT_SET_ANYWHERE\n');
      const env: NodeJS.ProcessEnv = { ...process.env, FROM_HOST: 'host value' };
      delete env.NOT_SET_ANYWHERE;
      const result = await local.runWith({ env }, 'run', '--rm', '--network', 'none', '--env-file', join(host, 'env'), 'busybox', 'sh', '-c', 'echo "$FROM_FILE|$FROM_HOST|${NOT_SET_ANYWHERE-unset}"');
      expect(result.stdout).toBe('1|host value|unset\n');
    });

    test("-e NAME with NAME unset in ctr's environment unsets the image's NAME, as docker's bare NAME does", async () => {
      await writeFile(join(host, 'Dockerfile'), 'FROM busybox\nENV FROM_IMAGE=image OTHER=kept\n');
      expect((await ctr('build', '-q', '-t', 'run-flags-env', host)).code).toBe(0);
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.FROM_IMAGE;
      const result = await local.runWith({ env }, 'run', '--rm', '--pull', 'never', '--network', 'none', '-e', 'FROM_IMAGE', 'run-flags-env', 'sh', '-c', 'echo "${FROM_IMAGE-unset}|$OTHER"');
      expect(result.stdout).toBe('unset|kept\n');
      const created = (await local.runWith({ env }, 'create', '--pull', 'never', '--network', 'none', '-e', 'FROM_IMAGE', 'run-flags-env')).stdout.trim();
      // The build gave the image moby's default PATH (its busybox base has none).
      expect(JSON.parse((await ctr('inspect', '-f', '{{json .Config.Env}}', created)).stdout)).toEqual([
        'FROM_IMAGE',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'OTHER=kept',
      ]);
    });
  });

  describe('--cidfile', () => {
    test('create --cidfile writes the new container\'s full ID to the file', async () => {
      const file = join(host, 'cid');
      const created = await ctr('create', '--network', 'none', '--cidfile', file, 'busybox');
      expect(created.code).toBe(0);
      expect(await readFile(file, 'utf8')).toBe(created.stdout.trim());
      expect(created.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    });

    test('run --cidfile writes the ID of the container it ran', async () => {
      const file = join(host, 'cid');
      expect((await ctr('run', '--network', 'none', '--cidfile', file, 'busybox', 'true')).code).toBe(0);
      expect([await readFile(file, 'utf8')]).toEqual(await containerIds());
    });

    test('run -d --cidfile writes the ID it prints', async () => {
      const file = join(host, 'cid');
      const started = await ctr('run', '-d', '--network', 'none', '--cidfile', file, 'busybox', 'true');
      expect(started.code).toBe(0);
      expect(await readFile(file, 'utf8')).toBe(started.stdout.trim());
    });

    test('a second run with the same --cidfile is refused with exit 125 and docker\'s message, and makes no container', async () => {
      const file = join(host, 'cid');
      const first = (await ctr('create', '--network', 'none', '--cidfile', file, 'busybox')).stdout.trim();
      const second = await ctr('run', '--network', 'none', '--cidfile', file, 'busybox', 'true');
      expect(second.code).toBe(125);
      expect(second.stderr).toContain(`container ID file found, make sure the other container isn't running or delete ${file}`);
      expect(await containerIds()).toEqual([first]);
      expect(await readFile(file, 'utf8')).toBe(first);
    });

    test('a create that fails leaves no --cidfile behind', async () => {
      const file = join(host, 'cid');
      const result = await ctr('create', '--network', 'none', '--pull', 'never', '--cidfile', file, 'no-such-image-here');
      // docker's create says the daemon's refusal as it is, status 1 (only run frames it, 125).
      expect(result.code).toBe(1);
      await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  describe('--platform', () => {
    test('linux and the host\'s own linux/ARCH are accepted', async () => {
      expect((await runSh(['--platform', 'linux'], 'true')).code).toBe(0);
      expect((await runSh(['--platform', `linux/${hostArch}`], 'true')).code).toBe(0);
    });

    test("another platform than the image's is refused in dockerd's words, as the image is not here for it (--pull never)", async () => {
      const other = `linux/${hostArch === 'arm64' ? 'amd64' : 'arm64'}`;
      await expectRefused(
        await ctr('run', '--network', 'none', '--pull', 'never', '--platform', other, 'busybox', 'true'),
        `image with reference busybox was found but does not match the specified platform: wanted ${other}, actual: linux/${hostArch}`,
      );
    });

    test('DOCKER_DEFAULT_PLATFORM is the --platform of a run that gives none, as in docker\'s CLI', async () => {
      const other = `linux/${hostArch === 'arm64' ? 'amd64' : 'arm64'}`;
      await expectRefused(
        await local.runWith({ env: { ...process.env, DOCKER_DEFAULT_PLATFORM: other } }, 'run', '--network', 'none', '--pull', 'never', 'busybox', 'true'),
        `image with reference busybox was found but does not match the specified platform: wanted ${other}, actual: linux/${hostArch}`,
      );
    });
  });

  describe('--init, --device, --group-add, --privileged and the namespace modes', () => {
    test('--init runs docker-init as PID 1 with the command under it', async () => {
      expect((await runSh(['--init'], 'tr "\\0" " " < /proc/1/cmdline')).stdout).toMatch(/^\/sbin\/docker-init -- sh -c /);
    });

    test('--device host:container:mode makes the node under its new name; --group-add adds the group', async () => {
      const result = await runSh(['--device', '/dev/null:/dev/other-null:rw', '--group-add', '77'], 'ls /dev/other-null; id -G');
      expect(result.stdout).toBe('/dev/other-null\n0 77\n');
    });

    test('--privileged gives the host devices and --uts host the host name', async () => {
      const result = await runSh(['--privileged', '--uts', 'host'], 'ls /dev/loop-control; hostname');
      expect(result.stdout).toBe(`/dev/loop-control\n${hostname()}\n`);
    });

    test('a namespace mode ctr does not have is refused before anything is made', async () => {
      await expectRefused(await ctr('run', '--network', 'none', '--ipc', 'bogus', 'busybox', 'true'), 'invalid IPC mode: "bogus"');
    });
  });
});
