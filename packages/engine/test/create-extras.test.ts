/**
 * The last `docker create` options of the engine: `--expose`, `--volumes-from`, `--mac-address`,
 * `--userns`, `--pid`/`--ipc container:`, `--add-host NAME:host-gateway`, `--gpus` and `--link`,
 * on real containers (runc, conmon, overlayfs, bridges this test's root makes).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreateContainerOptions } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

describe('engine.create: the remaining docker create options', () => {
  let t: TestEngine;
  let dir: string;
  beforeAll(async () => {
    t = await testEngine();
    dir = await mkdtemp(join(tmpdir(), 'ctr-create-extras-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nEXPOSE 9000\n');
    await t.engine.build({ context: dir, tags: ['exposing:1'] });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await t?.cleanup();
  });

  /** `docker run --rm` of `script` with `options`: what it printed, and its exit code. */
  async function run(options: Partial<CreateContainerOptions>, script: string): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
    const stdout = collector();
    const stderr = collector();
    const result = await t.engine.run({ image: 'busybox', network: 'none', ...options, cmd: ['sh', '-c', script], autoRemove: true, stdout, stderr });
    return { stdout: stdout.text(), stderr: stderr.text(), exitCode: result.exitCode };
  }
  /** A container left running for others to use, `sleep` being its process. */
  async function daemon(name: string, options: Partial<CreateContainerOptions> = {}): Promise<string> {
    return (await t.engine.run({ image: 'busybox', name, network: 'none', cmd: ['sleep', '300'], detach: true, ...options })).id;
  }
  const containerIds = async (): Promise<string[]> => (await t.engine.ps({ all: true })).map((c) => c.Id).sort();

  describe('--expose', () => {
    test('the ports join the image\'s in Config.ExposedPorts, a range as one port each', async () => {
      const { id } = await t.engine.create({ image: 'exposing:1', expose: ['80', '8000-8002/udp'], network: 'none' });
      const exposed = Object.keys((await t.engine.inspect(id)).Config.ExposedPorts ?? {}).sort();
      expect(exposed).toEqual(['80/tcp', '8000/udp', '8001/udp', '8002/udp', '9000/tcp']);
      await t.engine.remove(id);
    });

    test('-P publishes them to free host ports, as it does the image\'s', async () => {
      const id = await daemon('expose-published', { image: 'exposing:1', expose: ['80'], publishAll: true, network: 'bridge' });
      const ports = (await t.engine.inspect(id)).NetworkSettings.Ports;
      expect(Number(ports['80/tcp']?.[0]?.HostPort)).toBeGreaterThan(0);
      expect(Number(ports['9000/tcp']?.[0]?.HostPort)).toBeGreaterThan(0);
      await t.engine.remove(id, { force: true });
    });

    test.each([
      ['abc', 'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax'],
      ['80:80', 'invalid port format for --expose: 80:80'],
      ['9000-8000', 'invalid range format for --expose: 9000-8000, error: invalid range specified for port: 9000-8000'],
      ['70000', 'invalid range format for --expose: 70000, error: strconv.ParseUint: parsing "70000": value out of range'],
    ])('%s is refused in docker\'s words and nothing is made', async (value, message) => {
      const before = await containerIds();
      await expect(t.engine.create({ image: 'busybox', expose: [value], network: 'none' })).rejects.toMatchObject({ code: 'InvalidArgument', message });
      expect(await containerIds()).toEqual(before);
    });
  });

  describe('--volumes-from', () => {
    let source: string;
    let bind: string;
    beforeAll(async () => {
      bind = await mkdtemp(join(tmpdir(), 'ctr-volumes-from-'));
      await writeFile(join(bind, 'f'), 'bound\n');
      source = (await t.engine.create({ image: 'busybox', name: 'vf-source', volumes: ['vf-named:/named', '/anon', `${bind}:/bind`], tmpfs: ['/scratch'], network: 'none', cmd: ['sh', '-c', 'echo named > /named/f; echo anon > /anon/f'] })).id;
      await t.engine.start(source);
      await t.engine.wait(source);
    });
    afterAll(async () => {
      await t.engine.remove(source, { force: true, volumes: true }).catch(() => undefined);
      await rm(bind, { recursive: true, force: true });
    });

    test('the container has the other\'s named and anonymous volumes and binds at their places, not its tmpfs', async () => {
      const result = await run({ volumesFrom: ['vf-source'] }, 'cat /named/f /anon/f /bind/f; grep -c " /scratch " /proc/mounts');
      expect(result.stdout).toBe('named\nanon\nbound\n0\n');
    });

    test(':ro mounts them read-only', async () => {
      const result = await run({ volumesFrom: ['vf-source:ro'] }, 'touch /named/x 2>/dev/null && echo writable || echo read-only');
      expect(result.stdout).toBe('read-only\n');
    });

    test('a place the container mounts itself keeps its own mount', async () => {
      const result = await run({ volumesFrom: ['vf-source'], volumes: ['/named'] }, 'ls /named | wc -l; cat /anon/f');
      expect(result.stdout).toBe('0\nanon\n');
    });

    test('inspect shows HostConfig.VolumesFrom as given, and the mounts as the other container\'s', async () => {
      const { id } = await t.engine.create({ image: 'busybox', volumesFrom: ['vf-source:ro'], network: 'none' });
      const info = await t.engine.inspect(id);
      expect(info.HostConfig.VolumesFrom).toEqual(['vf-source:ro']);
      const sourceMounts = (await t.engine.inspect(source)).Mounts;
      expect(info.Mounts.map((m) => [m.Destination, m.Source, m.RW]).sort()).toEqual(sourceMounts.map((m) => [m.Destination, m.Source, false]).sort());
      await t.engine.remove(id);
    });

    test('the other container\'s anonymous volume stays in use: neither a prune nor its rm -v removes it meanwhile', async () => {
      const other = await t.engine.create({ image: 'busybox', name: 'vf-other', volumes: ['/kept'], network: 'none' });
      const anonymous = (await t.engine.inspect(other.id)).Mounts.find((m) => m.Destination === '/kept')?.Name as string;
      const user = await t.engine.create({ image: 'busybox', volumesFrom: ['vf-other'], network: 'none' });
      await t.engine.pruneVolumes({ all: true });
      await t.engine.remove(other.id, { volumes: true });
      expect((await t.engine.inspectVolume(anonymous)).Name).toBe(anonymous);
      await t.engine.remove(user.id);
      await t.engine.removeVolume(anonymous);
    });

    test('an unknown container is refused in docker\'s words, as an invalid parameter (as dockerd 28), and nothing is made', async () => {
      const before = await containerIds();
      await expect(t.engine.create({ image: 'busybox', volumesFrom: ['vf-nobody'], network: 'none' })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'No such container: vf-nobody' });
      expect(await containerIds()).toEqual(before);
    });
  });

  describe('--mac-address', () => {
    test('the container\'s interface has the address given, and inspect shows it', async () => {
      const result = await run({ network: 'bridge', macAddress: '92:D0:C6:0A:29:33', name: 'mac-given' }, 'cat /sys/class/net/eth0/address');
      expect(result.stdout).toBe('92:d0:c6:0a:29:33\n');
      const id = await daemon('mac-inspected', { network: 'bridge', macAddress: '92:d0:c6:0a:29:34' });
      const settings = (await t.engine.inspect(id)).NetworkSettings;
      expect([settings.MacAddress, settings.Networks.bridge?.MacAddress]).toEqual(['92:d0:c6:0a:29:34', '92:d0:c6:0a:29:34']);
      await t.engine.remove(id, { force: true });
    });

    test('an invalid address is refused in dockerd\'s words', async () => {
      await expect(t.engine.create({ image: 'busybox', network: 'bridge', macAddress: 'xx' })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'invalid MAC address xx' });
    });

    test.each(['none', 'host'])('with --network %s docker refuses one', async (network) => {
      const before = await containerIds();
      await expect(t.engine.create({ image: 'busybox', network, macAddress: '92:d0:c6:0a:29:33' })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: 'conflicting options: mac-address and the network mode',
      });
      expect(await containerIds()).toEqual(before);
    });
  });

  describe('--userns', () => {
    test('host is HostConfig.UsernsMode, and the default is empty', async () => {
      const given = await t.engine.create({ image: 'busybox', usernsMode: 'host', network: 'none' });
      const plain = await t.engine.create({ image: 'busybox', network: 'none' });
      expect([(await t.engine.inspect(given.id)).HostConfig.UsernsMode, (await t.engine.inspect(plain.id)).HostConfig.UsernsMode]).toEqual(['host', '']);
      await t.engine.remove(given.id);
      await t.engine.remove(plain.id);
    });

    test('any other mode is refused: ctr does not remap user namespaces', async () => {
      await expect(t.engine.create({ image: 'busybox', usernsMode: 'private', network: 'none' })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'invalid USER mode: "private"' });
    });
  });

  describe('--pid and --ipc container:', () => {
    let donor: string;
    beforeAll(async () => {
      donor = await daemon('ns-donor', { ipc: 'shareable' });
    });
    afterAll(async () => {
      await t.engine.remove(donor, { force: true });
    });

    test('a container in the other\'s PID namespace sees its processes, and inspect names it by ID', async () => {
      expect((await run({ pid: 'container:ns-donor' }, 'ps -o args')).stdout).toContain('sleep 300');
      const { id } = await t.engine.create({ image: 'busybox', pid: 'container:ns-donor', network: 'none' });
      expect((await t.engine.inspect(id)).HostConfig.PidMode).toBe(`container:${donor}`);
      await t.engine.remove(id);
    });

    test('a container in the other\'s IPC namespace shares its /dev/shm and message queues', async () => {
      await t.engine.exec('ns-donor', { cmd: ['sh', '-c', 'echo shared > /dev/shm/from-donor; touch /dev/mqueue/donor-queue'] });
      const result = await run({ ipc: 'container:ns-donor' }, 'cat /dev/shm/from-donor; ls /dev/mqueue');
      expect(result.stdout).toBe('shared\ndonor-queue\n');
      const { id } = await t.engine.create({ image: 'busybox', ipc: 'container:ns-donor', network: 'none' });
      expect((await t.engine.inspect(id)).HostConfig.IpcMode).toBe(`container:${donor}`);
      await t.engine.remove(id);
    });

    test('an IPC namespace that is not shareable is refused at the start, in dockerd\'s words', async () => {
      const privateIpc = await daemon('ns-private');
      const { id } = await t.engine.create({ image: 'busybox', ipc: 'container:ns-private', network: 'none' });
      await expect(t.engine.start(id)).rejects.toMatchObject({
        message: `failed to join IPC namespace: container ${privateIpc}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`,
      });
      await t.engine.remove(id);
      await t.engine.remove(privateIpc, { force: true });
    });

    test('a container that is not running is refused at the start, in dockerd\'s words', async () => {
      const stopped = await t.engine.create({ image: 'busybox', name: 'ns-stopped', network: 'none' });
      const { id } = await t.engine.create({ image: 'busybox', pid: 'container:ns-stopped', network: 'none' });
      await expect(t.engine.start(id)).rejects.toMatchObject({ code: 'Conflict', message: `failed to join PID namespace: container ${stopped.id} is not running` });
      await t.engine.remove(id);
      await t.engine.remove(stopped.id);
    });

    test('an unknown container is refused as dockerd refuses it (not a 404, which docker\'s CLI takes for a missing image), and nothing is made', async () => {
      const before = await containerIds();
      await expect(t.engine.create({ image: 'busybox', pid: 'container:ns-nobody', network: 'none' })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'No such container: ns-nobody' });
      await expect(t.engine.create({ image: 'busybox', network: 'container:ns-nobody' })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'No such container: ns-nobody' });
      expect(await containerIds()).toEqual(before);
    });
  });

  describe('--add-host NAME:host-gateway', () => {
    let gateway: string;
    beforeAll(async () => {
      // The default bridge is made by the first create that joins it: its gateway is known from then on.
      await t.engine.create({ image: 'busybox', name: 'gw-bridge', network: 'bridge' });
      gateway = (await t.engine.inspectNetwork('bridge')).IPAM.Config[0]?.Gateway as string;
    });
    afterAll(async () => {
      await t.engine.remove('gw-bridge');
    });

    test.each(['none', 'bridge'])('is the default bridge\'s gateway, with --network %s', async (network) => {
      expect((await run({ network, extraHosts: ['gw.test:host-gateway', 'other.test:10.1.2.3'] }, 'grep .test /etc/hosts')).stdout).toBe(`${gateway}\tgw.test\n10.1.2.3\tother.test\n`);
    });

    test('is the default bridge\'s gateway in a build step', async () => {
      await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nRUN grep gw.test /etc/hosts > /seen\n');
      const { id } = await t.engine.build({ context: dir, noCache: true, steps: { extraHosts: ['gw.test:host-gateway'] } });
      const stdout = collector();
      await t.engine.run({ image: id, cmd: ['cat', '/seen'], network: 'none', autoRemove: true, stdout });
      expect(stdout.text()).toBe(`${gateway}\tgw.test\n`);
    });
  });

  test("with --network host, --add-host entries make the hosts file Docker's own, not the host's, so that they can override its names", async () => {
    expect((await run({ network: 'host', extraHosts: ['other.test:10.1.2.3'] }, 'cat /etc/hosts')).stdout).toBe(
      [
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        'fe00::0\tip6-localnet',
        'ff00::0\tip6-mcastprefix',
        'ff02::1\tip6-allnodes',
        'ff02::2\tip6-allrouters',
        '10.1.2.3\tother.test',
        '',
      ].join('\n'),
    );
  });

  describe('--gpus', () => {
    test('a device request is refused as dockerd refuses one no driver serves, and nothing is made', async () => {
      const before = await containerIds();
      await expect(t.engine.create({ image: 'busybox', network: 'none', deviceRequests: [{ Driver: '', Count: -1, Capabilities: [['gpu']] }] })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: 'could not select device driver "" with capabilities: [[gpu]]',
      });
      expect(await containerIds()).toEqual(before);
    });
  });

  describe('--link', () => {
    let linked: string;
    let ip: string;
    beforeAll(async () => {
      linked = await daemon('link-web', { network: 'bridge', expose: ['80', '8080-8081', '53/udp'], env: ['SECRET=s3'] });
      ip = (await t.engine.inspect(linked)).NetworkSettings.Networks.bridge?.IPAddress as string;
    });
    afterAll(async () => {
      await t.engine.remove(linked, { force: true });
    });

    test('on the default bridge the alias, hostname and name resolve to the linked container', async () => {
      const result = await run({ network: 'bridge', links: ['link-web:db'] }, `grep ^${ip} /etc/hosts | cut -f2`);
      expect(result.stdout).toBe(`db\n${linked.slice(0, 12)}\nlink-web\n`);
    });

    test('the link\'s variables are docker\'s', async () => {
      const result = await run({ network: 'bridge', name: 'link-parent', links: ['link-web:db'] }, 'env | grep ^DB_ | sort');
      expect(result.stdout.split('\n').filter(Boolean)).toEqual(
        [
          `DB_ENV_SECRET=s3`,
          `DB_NAME=/link-parent/db`,
          `DB_PORT=tcp://${ip}:80`,
          `DB_PORT_53_UDP=udp://${ip}:53`,
          `DB_PORT_53_UDP_ADDR=${ip}`,
          `DB_PORT_53_UDP_PORT=53`,
          `DB_PORT_53_UDP_PROTO=udp`,
          `DB_PORT_8080_TCP=tcp://${ip}:8080`,
          `DB_PORT_8080_TCP_ADDR=${ip}`,
          `DB_PORT_8080_TCP_END=tcp://${ip}:8081`,
          `DB_PORT_8080_TCP_PORT=8080`,
          `DB_PORT_8080_TCP_PORT_END=8081`,
          `DB_PORT_8080_TCP_PORT_START=8080`,
          `DB_PORT_8080_TCP_PROTO=tcp`,
          `DB_PORT_8080_TCP_START=tcp://${ip}:8080`,
          `DB_PORT_8081_TCP=tcp://${ip}:8081`,
          `DB_PORT_8081_TCP_ADDR=${ip}`,
          `DB_PORT_8081_TCP_PORT=8081`,
          `DB_PORT_8081_TCP_PROTO=tcp`,
          `DB_PORT_80_TCP=tcp://${ip}:80`,
          `DB_PORT_80_TCP_ADDR=${ip}`,
          `DB_PORT_80_TCP_PORT=80`,
          `DB_PORT_80_TCP_PROTO=tcp`,
        ].sort(),
      );
    });

    test('inspect shows HostConfig.Links as docker does', async () => {
      const { id } = await t.engine.create({ image: 'busybox', name: 'link-inspected', network: 'bridge', links: ['link-web:db', 'link-web'] });
      expect((await t.engine.inspect(id)).HostConfig.Links).toEqual(['/link-web:/link-inspected/db', '/link-web:/link-inspected/link-web']);
      await t.engine.remove(id);
    });

    test('an unknown container is refused in dockerd\'s words, and nothing is made', async () => {
      const before = await containerIds();
      await expect(t.engine.create({ image: 'busybox', network: 'bridge', links: ['link-nobody:db'] })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: 'could not get container for link-nobody: No such container: link-nobody',
      });
      expect(await containerIds()).toEqual(before);
    });

    test('a container not on the default bridge cannot be linked to', async () => {
      const apart = await daemon('link-apart');
      await expect(t.engine.create({ image: 'busybox', network: 'bridge', links: ['link-apart'] })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: 'Cannot link to /link-apart, as it does not belong to the default network',
      });
      await t.engine.remove(apart, { force: true });
    });

    test('with the host\'s network docker refuses links', async () => {
      await expect(t.engine.create({ image: 'busybox', network: 'host', links: ['link-web'] })).rejects.toMatchObject({
        code: 'InvalidArgument',
        message: "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
      });
    });

    test('on a user network the alias names the linked container in the embedded DNS, and no variables or hosts entries are made', async () => {
      await t.engine.createNetwork({ name: 'link-net' });
      try {
        const member = await daemon('link-member', { network: 'link-net' });
        const memberIp = (await t.engine.inspect(member)).NetworkSettings.Networks['link-net']?.IPAddress;
        const result = await run(
          { network: 'link-net', links: ['link-member:alias', 'link-absent:other'] },
          "nslookup alias 127.0.0.11 | awk '/^Address/ {a=$NF} END {print a}'; grep -cw alias /etc/hosts; env | grep -c ^ALIAS_ || true",
        );
        expect(result.stdout).toBe(`${memberIp}\n0\n0\n`);
        await t.engine.remove(member, { force: true });
      } finally {
        await t.engine.removeNetwork('link-net');
      }
    });
  });
});
