import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t.cleanup();
});

test("inspect's HostConfig shows the capabilities, DNS, hosts, sysctls, tmpfs and security options as given", async () => {
  const { id } = await t.engine.create({
    image: 'busybox',
    pull: 'never',
    network: 'none',
    capAdd: ['NET_ADMIN'],
    capDrop: ['MKNOD'],
    dns: ['127.0.0.53'],
    dnsSearch: ['example.test'],
    dnsOptions: ['ndots:2'],
    extraHosts: ['db:127.0.0.9', 'gw:host-gateway'],
    sysctls: { 'kernel.msgmax': '65536' },
    tmpfs: ['/run/t:size=1m'],
    noNewPrivileges: true,
  });
  const host = (await t.engine.inspect(id)).HostConfig;
  expect(host).toMatchObject({
    CapAdd: ['NET_ADMIN'],
    CapDrop: ['MKNOD'],
    Dns: ['127.0.0.53'],
    DnsSearch: ['example.test'],
    DnsOptions: ['ndots:2'],
    ExtraHosts: ['db:127.0.0.9', 'gw:host-gateway'],
    Sysctls: { 'kernel.msgmax': '65536' },
    Tmpfs: { '/run/t': 'size=1m' },
    SecurityOpt: ['no-new-privileges'],
    PublishAllPorts: false,
    Runtime: 'runc',
  });
  expect(host.MaskedPaths).toContain('/proc/kcore');
});

test("inspect's HostConfig has docker's keys, empty, for a container that sets none of them", async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none' });
  const host = (await t.engine.inspect(id)).HostConfig;
  expect(host).toMatchObject({ CapAdd: null, CapDrop: null, Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, SecurityOpt: null, ConsoleSize: [0, 0] });
  expect(host).not.toHaveProperty('Sysctls');
  expect(host).not.toHaveProperty('Tmpfs');
});

test('a privileged container, or one sharing the host\'s PID or IPC namespace, has label=disable after its own security options, as dockerd adds it', async () => {
  const securityOpt = async (options: { privileged?: boolean; pid?: 'host'; ipc?: 'host' }): Promise<string[] | null> => {
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', securityOpt: ['no-new-privileges'], noNewPrivileges: true, ...options });
    const inspected = (await t.engine.inspect(id)).HostConfig.SecurityOpt;
    await t.engine.remove(id, { force: true });
    return inspected;
  };
  expect(await securityOpt({ privileged: true })).toEqual(['no-new-privileges', 'label=disable']);
  expect(await securityOpt({ pid: 'host' })).toEqual(['no-new-privileges', 'label=disable']);
  expect(await securityOpt({ ipc: 'host' })).toEqual(['no-new-privileges', 'label=disable']);
});

test('a label option of its own keeps dockerd\'s label=disable away', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', privileged: true, securityOpt: ['label=level:s0:c100,c200'] });
  expect((await t.engine.inspect(id)).HostConfig.SecurityOpt).toEqual(['label=level:s0:c100,c200']);
  await t.engine.remove(id, { force: true });
});

test('a privileged container given no masked or read-only paths shows them null, as dockerd leaves them', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', privileged: true });
  expect((await t.engine.inspect(id)).HostConfig).toMatchObject({ MaskedPaths: null, ReadonlyPaths: null });
  await t.engine.remove(id, { force: true });
});

test('a privileged container shows the masked and read-only paths it was given', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', privileged: true, maskedPaths: ['/proc/kcore'], readonlyPaths: [] });
  expect((await t.engine.inspect(id)).HostConfig).toMatchObject({ MaskedPaths: ['/proc/kcore'], ReadonlyPaths: [] });
  await t.engine.remove(id, { force: true });
});

test("inspect's PortBindings are the -p values as given, one key per port of a range, the host side left empty where unset", async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', publish: ['8080', '127.0.0.1:9000-9001:80-81/udp'] });
  expect((await t.engine.inspect(id)).HostConfig.PortBindings).toEqual({
    '8080/tcp': [{ HostIp: '', HostPort: '' }],
    '80/udp': [{ HostIp: '127.0.0.1', HostPort: '9000' }],
    '81/udp': [{ HostIp: '127.0.0.1', HostPort: '9001' }],
  });
  await t.engine.remove(id, { force: true });
});

test("inspect's PortBindings keep a host range given to one container port, as dockerd echoes it", async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', publish: ['9200-9210:80', '127.0.0.1:9300-9310:53/udp'] });
  expect((await t.engine.inspect(id)).HostConfig.PortBindings).toEqual({
    '80/tcp': [{ HostIp: '', HostPort: '9200-9210' }],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '9300-9310' }],
  });
  await t.engine.remove(id, { force: true });
});

test("inspect's PortBindings tell no host address (HostIp \"\") from 0.0.0.0 or :: given explicitly, as dockerd's do", async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', publish: ['8080:80', '0.0.0.0:8081:81', '[::]:8082:82'] });
  expect((await t.engine.inspect(id)).HostConfig.PortBindings).toEqual({
    '80/tcp': [{ HostIp: '', HostPort: '8080' }],
    '81/tcp': [{ HostIp: '0.0.0.0', HostPort: '8081' }],
    '82/tcp': [{ HostIp: '::', HostPort: '8082' }],
  });
  await t.engine.remove(id, { force: true });
});

test("a -p protocol in capitals is keyed as NetworkSettings.Ports keys it, in lower case", async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', publish: ['8080/TCP'] });
  expect(Object.keys((await t.engine.inspect(id)).HostConfig.PortBindings)).toEqual(['8080/tcp']);
  await t.engine.remove(id, { force: true });
});

test("an exposed port that is not published is no PortBinding (testcontainers waits for every binding's host port)", async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', expose: ['8080'] });
  const inspected = await t.engine.inspect(id);
  expect(inspected.HostConfig.PortBindings).toEqual({});
  await t.engine.remove(id, { force: true });
});

describe('on a user network', () => {
  beforeAll(async () => {
    await t.engine.createNetwork({ name: 'hostcfg-net' });
  });

  test('the embedded DNS server is no Dns of the user', async () => {
    const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'hostcfg-net' });
    expect((await t.engine.inspect(id)).HostConfig.Dns).toEqual([]);
    await t.engine.remove(id, { force: true });
  });

  test("/etc/hosts names the container's own address on the network, as on the default bridge", async () => {
    const stdout = collector();
    await t.engine.run({ image: 'busybox', pull: 'never', network: 'hostcfg-net', hostname: 'self', cmd: ['sh', '-c', 'tail -1 /etc/hosts'], stdout, autoRemove: true });
    expect(stdout.text()).toMatch(/^\d+\.\d+\.\d+\.\d+\tself\n$/);
  });
});
