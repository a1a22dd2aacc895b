import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NetworkManager, type IpamDriver } from '../src';

/** An IPAM plugin gives ctr IPv4 pools alone: `--ipv6` with one is refused before anything is asked of it or made. */
test('--ipv6 with an IPAM plugin is Unsupported, and no pool is asked for', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-ipam6-'));
  const asked: string[] = [];
  const ipam: IpamDriver = {
    name: 'fake',
    localAddressSpace: async () => 'local',
    requestPool: async () => {
      asked.push('requestPool');
      return { poolId: 'p', pool: '10.99.0.0/24', data: {} };
    },
    releasePool: async () => undefined,
    requestAddress: async () => '10.99.0.2/24',
    releaseAddress: async () => undefined,
  };
  try {
    const manager = new NetworkManager({ root: path.join(dir, 'root'), runRoot: path.join(dir, 'run'), ipamDrivers: async () => ipam });
    await expect(manager.createNetwork({ name: 'ipam6', ipamDriver: 'fake', ipv6: true })).rejects.toMatchObject({
      code: 'Unsupported',
      message: 'IPv6 is not supported with IPAM driver fake',
    });
    expect(asked).toEqual([]);
    await expect(fs.readdir(path.join(dir, 'root')).catch(() => [])).resolves.toEqual([]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
