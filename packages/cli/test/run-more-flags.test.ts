/**
 * `ctr run`/`ctr create`'s last docker flags — `--expose`, `--volumes-from`, `--mac-address`,
 * `--link`, `--userns`, `--pid container:`, `--gpus` — and `ctr exec --env-file`, through the
 * built command on real containers. Refusals are docker's: its words, status 125, nothing made.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

describe('ctr run/create: --expose, --volumes-from, --mac-address, --link, --userns, --pid, --gpus; ctr exec --env-file', () => {
  let local: LocalCtr;
  let work: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);
  const containerIds = async (): Promise<string[]> => (await ctr('ps', '-aq', '--no-trunc')).stdout.split('\n').filter(Boolean);
  /** `ctr run --rm --network none [flags] busybox sh -c script`. */
  const runSh = (flags: string[], script: string): Promise<CtrResult> => ctr('run', '--rm', '--network', 'none', ...flags, 'busybox', 'sh', '-c', script);
  const inspect = async (format: string, container: string): Promise<string> => (await ctr('inspect', '--format', format, container)).stdout.trim();
  /** A refusal before any container exists: docker's status 125, the message on stderr, nothing made. */
  const expectRefused = async (result: CtrResult, message: string): Promise<void> => {
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(125);
    expect(await containerIds()).toEqual([]);
  };

  beforeAll(async () => {
    local = await localCtr('run-more-flags');
    work = await mkdtemp(join(tmpdir(), 'ctr-cli-run-more-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
    await local?.cleanup();
  });
  afterEach(async () => {
    for (const id of await containerIds()) await ctr('rm', '-f', '-v', id);
  });

  test('--help shows the flags with docker\'s help', async () => {
    const help = (await ctr('run', '--help')).stdout;
    for (const line of [
      /--expose list +Expose a port or a range of ports/,
      /--volumes-from list +Mount volumes from the specified container\(s\)/,
      /--mac-address string +Container MAC address \(e\.g\., 92:d0:c6:0a:29:33\)/,
      /--link list +Add link to another container/,
      /--userns string +User namespace to use/,
      /--gpus gpu-request +GPU devices to add to the container \('all' to pass all GPUs\)/,
    ]) {
      expect(help).toMatch(line);
    }
    expect((await ctr('exec', '--help')).stdout).toMatch(/--env-file list +Read in a file of environment variables/);
  });

  describe('--expose', () => {
    test('the ports and ranges are in Config.ExposedPorts', async () => {
      await ctr('create', '--network', 'none', '--name', 'exposer', '--expose', '80', '--expose', '7000-7001/udp', 'busybox');
      expect(JSON.parse(await inspect('{{json .Config.ExposedPorts}}', 'exposer'))).toEqual({ '80/tcp': {}, '7000/udp': {}, '7001/udp': {} });
    });

    test('a value docker refuses is refused in its words', async () => {
      await expectRefused(await runSh(['--expose', 'abc'], 'true'), 'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax');
      await expectRefused(await runSh(['--expose', '80:80'], 'true'), 'invalid port format for --expose: 80:80');
    });
  });

  describe('--volumes-from', () => {
    test('the container has the other\'s volumes, :ro read-only, and inspect shows it', async () => {
      await ctr('run', '--network', 'none', '--name', 'vf-source', '-v', 'vf-data:/data', 'busybox', 'sh', '-c', 'echo shared > /data/f');
      const result = await runSh(['--volumes-from', 'vf-source:ro'], 'cat /data/f; touch /data/g 2>/dev/null && echo writable || echo read-only');
      expect(result.stdout).toBe('shared\nread-only\n');
      await ctr('create', '--network', 'none', '--name', 'vf-user', '--volumes-from', 'vf-source', 'busybox');
      expect(await inspect('{{json .HostConfig.VolumesFrom}}', 'vf-user')).toBe('["vf-source"]');
      await ctr('rm', 'vf-user', 'vf-source');
      await ctr('volume', 'rm', 'vf-data');
    });

    test('an unknown container is refused in docker\'s words', async () => {
      await expectRefused(await runSh(['--volumes-from', 'vf-nobody'], 'true'), 'No such container: vf-nobody');
    });
  });

  describe('--pid container:', () => {
    test('the container sees the other\'s processes; a mode docker does not know is refused in its words', async () => {
      await ctr('run', '-d', '--network', 'none', '--name', 'pid-donor', 'busybox', 'sleep', '300');
      expect((await runSh(['--pid', 'container:pid-donor'], 'ps -o args')).stdout).toContain('sleep 300');
      await ctr('rm', '-f', 'pid-donor');
      await expectRefused(await runSh(['--pid', 'foo'], 'true'), '--pid: invalid PID mode');
      await expectRefused(await runSh(['--pid', 'container:'], 'true'), '--pid: invalid PID mode');
    });
  });

  describe('--userns', () => {
    test('host is recorded; any other mode is refused in docker\'s words', async () => {
      await ctr('create', '--network', 'none', '--name', 'userns-host', '--userns', 'host', 'busybox');
      expect(await inspect('{{.HostConfig.UsernsMode}}', 'userns-host')).toBe('host');
      await ctr('rm', 'userns-host');
      await expectRefused(await runSh(['--userns', 'foo'], 'true'), '--userns: invalid USER mode');
    });
  });

  describe('--mac-address', () => {
    test('an invalid address, or one with no network of the container\'s own, is refused in dockerd\'s words', async () => {
      await expectRefused(await ctr('run', '--rm', '--mac-address', 'xx', 'busybox', 'true'), 'invalid MAC address xx');
      await expectRefused(await runSh(['--mac-address', '92:d0:c6:0a:29:33'], 'true'), 'conflicting options: mac-address and the network mode');
    });
  });

  describe('--link', () => {
    test('a malformed link is refused as docker\'s CLI refuses it; an unknown container as dockerd does', async () => {
      await expectRefused(await runSh(['--link', 'a:b:c'], 'true'), 'invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c');
      await expectRefused(await runSh(['--link', ''], 'true'), 'invalid argument "" for "--link" flag: empty string specified for links');
      await expectRefused(await runSh(['--link', 'link-nobody:db'], 'true'), 'could not get container for link-nobody: No such container: link-nobody');
    });
  });

  describe('--gpus', () => {
    test('a request is refused as dockerd without a GPU driver refuses it', async () => {
      await expectRefused(await runSh(['--gpus', 'all'], 'true'), 'could not select device driver "" with capabilities: [[gpu]]');
      await expectRefused(await runSh(['--gpus', '"capabilities=compute,utility",driver=nvidia'], 'true'), 'could not select device driver "nvidia" with capabilities: [[compute utility gpu]]');
    });

    test('a request docker\'s CLI cannot read is refused in its words', async () => {
      await expectRefused(await runSh(['--gpus', 'foo'], 'true'), 'invalid argument "foo" for "--gpus" flag: invalid count (foo): value must be either "all" or an integer: invalid syntax');
      await expectRefused(await runSh(['--gpus', 'bar=1'], 'true'), `invalid argument "bar=1" for "--gpus" flag: unexpected key 'bar' in 'bar=1'`);
      await expectRefused(await runSh(['--gpus', 'all,count=2'], 'true'), `invalid argument "all,count=2" for "--gpus" flag: gpu request key 'count' can be specified only once`);
    });
  });

  describe('ctr exec --env-file', () => {
    test('the files\' variables are set, -e overrides them, and a bare -e NAME takes the caller\'s value', async () => {
      const file = join(work, 'exec.env');
      await writeFile(file, '# comment\nFROM_FILE=one\nBOTH=file\n');
      await ctr('run', '-d', '--network', 'none', '--name', 'exec-env', 'busybox', 'sleep', '300');
      const result = await local.runWith(
        { env: { ...process.env, FROM_CALLER: 'caller' } },
        'exec', '--env-file', file, '-e', 'BOTH=flag', '-e', 'FROM_CALLER', 'exec-env', 'sh', '-c', 'echo $FROM_FILE $BOTH $FROM_CALLER',
      );
      expect(result.stdout).toBe('one flag caller\n');
    });

    test('a file that is not there is refused in docker\'s words', async () => {
      await ctr('run', '-d', '--network', 'none', '--name', 'exec-env-missing', 'busybox', 'sleep', '300');
      const result = await ctr('exec', '--env-file', join(work, 'absent.env'), 'exec-env-missing', 'true');
      expect(result.stderr).toContain(`open ${join(work, 'absent.env')}: no such file or directory`);
      expect(result.code).not.toBe(0);
    });
  });
});
