/**
 * `--mac-address` (an endpoint's own MAC, set on its interface in the container's namespace
 * before the link is up) and the default bridge's gateway that `--add-host NAME:host-gateway`
 * names.
 */
import { parseMac } from '@ctr/network';
import { inNetns, makeTestHost, type TestHost } from './helpers/host';

describe('parseMac', () => {
  test('six octets split by colons or dashes, written as ip link writes them', () => {
    expect(parseMac('92:D0:C6:0A:29:33')).toBe('92:d0:c6:0a:29:33');
    expect(parseMac('92-d0-c6-0a-29-33')).toBe('92:d0:c6:0a:29:33');
  });

  test.each(['xx', '92:d0:c6:0a:29', '92:d0:c6:0a:29:33:00:00', '92:d0-c6:0a:29:33', '92:d0:c6:0a:29:3g'])('%s is refused in dockerd\'s words', (text) => {
    expect(() => parseMac(text)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: `invalid MAC address ${text}` }));
  });

  test('a multicast address is refused: it cannot be an interface\'s own', () => {
    expect(() => parseMac('01:00:5e:00:00:01')).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('a multicast address cannot be a container\'s own') }));
  });
});

describe('on a real bridge', () => {
  let h: TestHost;
  beforeAll(async () => {
    h = await makeTestHost('tmg');
  });
  afterAll(async () => {
    await h.cleanup();
    expect(await h.leftovers()).toEqual([]);
  });

  test('an endpoint given a MAC has it on its interface, and inspect shows it', async () => {
    const attached = await h.manager.attach('tmg-mac', { networks: [{ name: 'bridge', mac: '92:D0:C6:0A:29:33' }] });
    expect(inNetns(attached.netnsPath as string, ['ip', '-o', 'link', 'show', 'eth0'])).toContain('link/ether 92:d0:c6:0a:29:33 ');
    expect(attached.settings.MacAddress).toBe('92:d0:c6:0a:29:33');
    expect(attached.settings.Networks['bridge']?.MacAddress).toBe('92:d0:c6:0a:29:33');
    await h.manager.detach('tmg-mac');
  });

  test('an invalid MAC is refused before anything is made', async () => {
    await expect(h.manager.attach('tmg-bad', { networks: [{ name: 'bridge', mac: 'xx' }] })).rejects.toMatchObject({ code: 'InvalidArgument', message: 'invalid MAC address xx' });
    await expect(h.manager.settings('tmg-bad')).rejects.toMatchObject({ code: 'NotFound' });
  });

  test('the default gateway is the default bridge\'s, made if no container has needed it yet', async () => {
    expect(await h.manager.defaultGateway()).toBe(`${h.net(15)}.1`);
    expect((await h.manager.inspectNetwork('bridge')).IPAM.Config[0]?.Gateway).toBe(`${h.net(15)}.1`);
  });
});
