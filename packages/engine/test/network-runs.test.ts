import { access, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { reserveTestBlock, type TestBlock } from '../../../test/support/test-subnets';
import { collector, eventually, testEngine, type TestEngine } from './fixture';

// A container's network follows its runs, as dockerd's: create records the networks, each
// start allocates the namespace, address and DNS names, each stop or exit releases them.

let t: TestEngine;
const network = `runs-${process.pid}`;
let block: TestBlock;
/** An address of the network's subnet ending in `last`. */
let address: (last: number) => string;

beforeAll(async () => {
  t = await testEngine();
  // dockerd takes an --ip only on a subnet given at create.
  block = reserveTestBlock();
  const subnet = block.subnet(0);
  await t.engine.createNetwork({ name: network, subnet });
  address = (last) => subnet.replace(/\.\d+\/\d+$/, `.${last}`);
});

afterEach(async () => {
  for (const c of await t.engine.ps({ all: true })) await t.engine.remove(c.Id, { force: true }).catch(() => undefined);
});

afterAll(async () => {
  await t?.engine.close();
  await t?.engine.removeNetwork(network).catch(() => undefined);
  await t?.cleanup();
  block?.release();
});

async function sleeper(name: string, options: { ip?: string; network?: string } = {}): Promise<string> {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network, name, cmd: ['sleep', '600'], ...options });
  await t.engine.start(id);
  return id;
}

async function inside(id: string, cmd: string[]): Promise<string> {
  const stdout = collector();
  await t.engine.exec(id, { cmd, stdout, stderr: stdout });
  return stdout.text();
}

const ipOf = async (id: string): Promise<string | undefined> => (await t.engine.inspect(id)).NetworkSettings.Networks[network]?.IPAddress;

test('a stopped container\'s --ip is free: another container with it runs', async () => {
  const first = await sleeper('runs-first', { ip: address(77) });
  await t.engine.stop(first, { timeout: 0 });
  const second = await sleeper('runs-second', { ip: address(77) });
  expect(await ipOf(second)).toBe(address(77));
});

test('two containers may be created with one --ip; the second to start is refused in docker\'s words', async () => {
  const { id: a } = await t.engine.create({ image: 'busybox', pull: 'never', network, ip: address(78), cmd: ['sleep', '600'] });
  const { id: b } = await t.engine.create({ image: 'busybox', pull: 'never', network, ip: address(78), cmd: ['sleep', '600'] });
  await t.engine.start(a);
  await expect(t.engine.start(b)).rejects.toMatchObject({ code: 'Denied', message: 'Address already in use' });
  expect((await t.engine.inspect(b)).State.Running).toBe(false);
});

test("a run whose --ip another container holds fails at its start in docker's words, leaving its container created", async () => {
  await sleeper('runs-holder', { ip: address(79) });
  const refused = t.engine.run({ image: 'busybox', pull: 'never', network, ip: address(79), name: 'runs-late', cmd: ['sleep', '600'], detach: true });
  await expect(refused).rejects.toMatchObject({ code: 'Denied', message: 'Address already in use' });
  expect((await t.engine.inspect('runs-late')).State).toMatchObject({ Status: 'created', Running: false });
});

test('a run whose --ip is outside the network\'s subnet is refused at its create, leaving nothing', async () => {
  const refused = t.engine.run({ image: 'busybox', pull: 'never', network, ip: '192.0.2.10', name: 'runs-outside', cmd: ['sleep', '600'], detach: true });
  await expect(refused).rejects.toMatchObject({ code: 'InvalidArgument', message: 'no configured subnet contains the IP address 192.0.2.10' });
  expect(await t.engine.ps({ all: true, filters: { name: ['runs-outside'] } })).toEqual([]);
});

test('a created container has no address; started, its /etc/hosts names the address it got', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network, name: 'runs-hosts', cmd: ['sleep', '600'] });
  expect((await t.engine.inspect(id)).NetworkSettings.Networks[network]).toMatchObject({ IPAddress: '', EndpointID: '' });
  await t.engine.start(id);
  const ip = await ipOf(id);
  expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  expect(await inside(id, ['cat', '/etc/hosts'])).toContain(`${ip}\t${id.slice(0, 12)}\n`);
});

test('with --hostname and --domainname, /etc/hosts names the FQDN then the bare hostname at its address, and hostname -f gives the FQDN', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network, hostname: 'h1', domainname: 'example.org', cmd: ['sleep', '600'] });
  await t.engine.start(id);
  expect(await inside(id, ['tail', '-n', '1', '/etc/hosts'])).toBe(`${await ipOf(id)}\th1.example.org h1\n`);
  expect(await inside(id, ['hostname', '-f'])).toBe('h1.example.org\n');
});

test('a stopped container has no namespace, no address and no endpoint', async () => {
  const id = await sleeper('runs-stopped');
  await t.engine.stop(id, { timeout: 0 });
  const settings = (await t.engine.inspect(id)).NetworkSettings;
  expect(settings.SandboxKey).toBe('');
  expect(settings.Networks[network]).toMatchObject({ IPAddress: '', EndpointID: '', Gateway: '' });
  await expect(access(join(t.runRoot, 'netns', id))).rejects.toThrow();
});

test('network inspect lists the running containers only', async () => {
  const running = await sleeper('runs-listed');
  const stopped = await sleeper('runs-unlisted');
  await t.engine.stop(stopped, { timeout: 0 });
  expect(Object.keys((await t.engine.inspectNetwork(network)).Containers)).toEqual([running]);
});

test('a network whose containers are all stopped can be removed', async () => {
  const other = `runs-rm-${process.pid}`;
  await t.engine.createNetwork({ name: other });
  const id = await sleeper('runs-on-other', { network: other });
  await t.engine.stop(id, { timeout: 0 });
  await t.engine.removeNetwork(other);
  await expect(t.engine.inspectNetwork(other)).rejects.toMatchObject({ code: 'NotFound' });
});

test('a container that exits on its own releases its address once its exit is seen', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network, ip: address(79), cmd: ['true'] });
  await t.engine.start(id);
  await t.engine.wait(id);
  expect(await sleeper('runs-after-exit', { ip: address(79) })).toBeTruthy();
});

test('restart brings the container back with its --ip', async () => {
  const id = await sleeper('runs-restarted', { ip: address(80) });
  await t.engine.restart(id, { timeout: 0 });
  expect((await t.engine.inspect(id)).State.Running).toBe(true);
  expect(await ipOf(id)).toBe(address(80));
  expect(await inside(id, ['ip', '-o', '-4', 'addr', 'show', 'eth0'])).toContain(`${address(80)}/`);
});

test('a restart policy restarts the container with its --ip', async () => {
  await t.engine.startMonitor({ scanIntervalMs: 200 });
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network, ip: address(81), restart: 'on-failure:1', cmd: ['sh', '-c', '[ -f /ran ] && exec sleep 600; touch /ran; exit 3'] });
  await t.engine.start(id);
  const restarted = await eventually(() => t.engine.inspect(id), (c) => c.RestartCount === 1 && c.State.Running && !c.State.Restarting);
  expect(restarted.NetworkSettings.Networks[network]?.IPAddress).toBe(address(81));
});

test('docker-compose\'s recreate: the new container is made with the old one\'s address and starts once the old one stopped', async () => {
  const old = await sleeper('runs-web', { ip: address(82) });
  const { id: fresh } = await t.engine.create({ image: 'busybox', pull: 'never', network, ip: address(82), cmd: ['sleep', '600'] });
  await t.engine.stop(old, { timeout: 0 });
  await t.engine.rename(old, `${old.slice(0, 12)}_runs-web`);
  await t.engine.start(fresh);
  await t.engine.remove(old);
  expect(await ipOf(fresh)).toBe(address(82));
});

test('after a rename a peer resolves the new name through 127.0.0.11', async () => {
  const peer = await sleeper('runs-peer');
  const renamed = await sleeper('runs-before');
  await t.engine.rename(renamed, 'runs-after');
  const answer = await inside(peer, ['nslookup', 'runs-after', '127.0.0.11']);
  expect(answer).toContain(`Address: ${await ipOf(renamed)}`);
  expect((await t.engine.inspectNetwork(network)).Containers[renamed]?.Name).toBe('runs-after');
});

test('a network connected to a created container gets its endpoint at the start, with the --ip asked for', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'bridge', cmd: ['sleep', '600'] });
  await t.engine.connect(network, id, { ip: address(83) });
  expect(Object.keys((await t.engine.inspectNetwork(network)).Containers)).not.toContain(id);
  await t.engine.start(id);
  const networks = (await t.engine.inspect(id)).NetworkSettings.Networks;
  expect(networks[network]?.IPAddress).toBe(address(83));
  expect(networks.bridge?.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
});

test('a link to a stopped container on the default bridge is refused in docker\'s words', async () => {
  const linked = await sleeper('runs-link-target', { network: 'bridge' });
  await t.engine.stop(linked, { timeout: 0 });
  await expect(t.engine.create({ image: 'busybox', pull: 'never', network: 'bridge', name: 'runs-linker', links: ['runs-link-target:db'] })).rejects.toMatchObject({
    code: 'Conflict',
    message: 'Cannot link to a non running container: /runs-link-target AS /runs-linker/db',
  });
});

describe('--network container:<name>', () => {
  test('the container has the other\'s hostname and /etc/hosts', async () => {
    const owner = await sleeper('runs-owner');
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'container:runs-owner', cmd: ['sleep', '600'] });
    await t.engine.start(id);
    expect(await inside(id, ['hostname'])).toBe(`${owner.slice(0, 12)}\n`);
    expect(await inside(id, ['cat', '/etc/hosts'])).toBe(await readFile((await t.engine.inspect(owner)).HostsPath, 'utf8'));
  });

  test('the namespace of a container on none is joined: the same namespace, with its loopback alone', async () => {
    const owner = await sleeper('runs-none-owner', { network: 'none' });
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'container:runs-none-owner', cmd: ['sleep', '600'] });
    await t.engine.start(id);
    expect(await inside(id, ['readlink', '/proc/self/ns/net'])).toBe(await inside(owner, ['readlink', '/proc/self/ns/net']));
    expect(await inside(id, ['ls', '/sys/class/net'])).toBe('lo\n');
  });

  test('joining a container on none gives its hostname', async () => {
    const { id: owner } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', name: 'runs-none-named', hostname: 'nonehost', cmd: ['sleep', '600'] });
    await t.engine.start(owner);
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'container:runs-none-named', cmd: ['sleep', '600'] });
    await t.engine.start(id);
    expect(await inside(id, ['hostname'])).toBe('nonehost\n');
  });

  test('joining a container on none that is not running is refused in docker\'s words', async () => {
    const owner = await sleeper('runs-none-idle', { network: 'none' });
    await t.engine.stop(owner, { timeout: 0 });
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: `container:${owner}`, cmd: ['sleep', '600'] });
    await expect(t.engine.start(id)).rejects.toMatchObject({ code: 'Conflict', message: `cannot join network of a non running container: ${owner}` });
  });

  test('joining a container that is not running is refused in docker\'s words', async () => {
    const owner = await sleeper('runs-idle-owner');
    await t.engine.stop(owner, { timeout: 0 });
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: `container:${owner}`, cmd: ['sleep', '600'] });
    await expect(t.engine.start(id)).rejects.toMatchObject({ code: 'Conflict', message: `cannot join network of a non running container: ${owner}` });
  });

  test('with a --hostname of its own the create is refused in docker\'s words', async () => {
    await sleeper('runs-named-owner');
    await expect(t.engine.create({ image: 'busybox', pull: 'never', network: 'container:runs-named-owner', hostname: 'mine' })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'conflicting options: hostname and the network mode',
    });
  });

  test('a stopped container connected to a network is recorded on it, and its start makes no endpoint there', async () => {
    const owner = await sleeper('runs-sharing-owner');
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: `container:${owner}`, cmd: ['sleep', '600'] });
    await t.engine.connect(network, id);
    await t.engine.start(id);
    expect((await t.engine.inspect(id)).NetworkSettings.Networks[network]).toMatchObject({ IPAddress: '', EndpointID: '' });
    expect(Object.keys((await t.engine.inspectNetwork(network)).Containers)).toEqual([owner]);
  });
});

describe('--network host', () => {
  test("a running container's second connect to host meets its endpoint there, refused as libnetwork refuses it (a 403)", async () => {
    await sleeper('runs-host-twice', { network: 'host' });
    await expect(t.engine.connect('host', 'runs-host-twice')).rejects.toMatchObject({
      code: 'Denied',
      message: 'endpoint with name runs-host-twice already exists in network host',
    });
  });

  test('a stopped container disconnected from host is on no network, and still runs in the host namespace', async () => {
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'host', cmd: ['sleep', '600'] });
    await t.engine.disconnect('host', id);
    expect((await t.engine.inspect(id)).NetworkSettings.Networks).toEqual({});
    await t.engine.start(id);
    expect(await inside(id, ['readlink', '/proc/self/ns/net'])).toBe(`${await readlink('/proc/self/ns/net')}\n`);
  });
});
