import { createOptionsFromBody, updateOptionsFromBody } from '@ctr/api';
import { createRequest, updateRequest } from '../src/create-request';

const create = (host: Record<string, unknown>): ReturnType<typeof createOptionsFromBody> => createOptionsFromBody({ Image: 'busybox', HostConfig: host }, undefined);

describe('a create body\'s blkio, swappiness, OOM score and cgroup fields', () => {
  test('map to the engine create options', () => {
    const options = create({
      BlkioWeight: 300,
      BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 200 }],
      BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1048576 }],
      BlkioDeviceWriteBps: [{ Path: '/dev/sdb', Rate: 2048 }],
      BlkioDeviceReadIOps: [{ Path: '/dev/sda', Rate: 1000 }],
      BlkioDeviceWriteIOps: [{ Path: '/dev/sda', Rate: 10 }],
      MemorySwappiness: 10,
      OomScoreAdj: -500,
      CgroupParent: '/mine',
      CgroupnsMode: 'private',
    });
    expect(options).toMatchObject({
      blkioWeight: 300,
      blkioWeightDevice: [{ path: '/dev/sda', weight: 200 }],
      blkioDeviceReadBps: [{ path: '/dev/sda', rate: 1048576 }],
      blkioDeviceWriteBps: [{ path: '/dev/sdb', rate: 2048 }],
      blkioDeviceReadIOps: [{ path: '/dev/sda', rate: 1000 }],
      blkioDeviceWriteIOps: [{ path: '/dev/sda', rate: 10 }],
      memorySwappiness: 10,
      oomScoreAdj: -500,
      cgroupParent: '/mine',
      cgroupns: 'private',
    });
  });

  test('the docker CLI\'s defaults (0, [], -1 and \'\') set none of them', () => {
    const options = create({
      BlkioWeight: 0,
      BlkioWeightDevice: [],
      BlkioDeviceReadBps: [],
      BlkioDeviceWriteBps: null,
      BlkioDeviceReadIOps: [],
      BlkioDeviceWriteIOps: [],
      MemorySwappiness: -1,
      OomScoreAdj: 0,
      CgroupParent: '',
      CgroupnsMode: '',
    });
    expect(options).toEqual({ image: 'busybox', pull: 'never' });
  });

  test('a swappiness of 0 is kept: it is a value, not "unset"', () => {
    expect(create({ MemorySwappiness: 0 }).memorySwappiness).toBe(0);
  });

  test('a throttle device without a Path is an invalid-argument error naming the field', () => {
    expect(() => create({ BlkioDeviceReadBps: [{ Rate: 1 }] })).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', message: 'invalid HostConfig.BlkioDeviceReadBps: Path is required' }),
    );
  });

  test('a rate of the wrong type is an invalid-argument error', () => {
    expect(() => create({ BlkioDeviceWriteIOps: [{ Path: '/dev/sda', Rate: '10' }] })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});

describe('an update body\'s BlkioWeight', () => {
  test('maps to the update options', () => {
    expect(updateOptionsFromBody({ BlkioWeight: 500 })).toEqual({ blkioWeight: 500 });
  });

  test('of 0 means unchanged', () => {
    expect(updateOptionsFromBody({ BlkioWeight: 0, Memory: 0 })).toEqual({});
  });
});

describe('the client\'s bodies', () => {
  test('create options become Docker\'s HostConfig fields', () => {
    const { HostConfig } = createRequest({
      image: 'busybox',
      blkioWeight: 300,
      blkioWeightDevice: [{ path: '/dev/sda', weight: 200 }],
      blkioDeviceReadBps: [{ path: '/dev/sda', rate: 1048576 }],
      blkioDeviceWriteIOps: [{ path: '/dev/sda', rate: 10 }],
      memorySwappiness: 0,
      oomScoreAdj: 100,
      cgroupParent: '/mine',
      cgroupns: 'host',
    });
    expect(HostConfig).toMatchObject({
      BlkioWeight: 300,
      BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 200 }],
      BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1048576 }],
      BlkioDeviceWriteIOps: [{ Path: '/dev/sda', Rate: 10 }],
      MemorySwappiness: 0,
      OomScoreAdj: 100,
      CgroupParent: '/mine',
      CgroupnsMode: 'host',
    });
  });

  test('create options and a body round-trip through the server\'s parser unchanged', () => {
    const options = {
      image: 'busybox',
      blkioDeviceReadIOps: [{ path: '/dev/sda', rate: 1000 }],
      blkioWeightDevice: [{ path: '/dev/sdb', weight: 10 }],
      memorySwappiness: 60,
      oomScoreAdj: -1000,
      cgroupParent: 'relative/parent',
      cgroupns: 'private' as const,
    };
    expect(createOptionsFromBody(createRequest(options) as unknown as Record<string, unknown>, undefined)).toMatchObject(options);
  });

  test('an update with a blkio weight sends BlkioWeight', () => {
    expect(updateRequest({ blkioWeight: 700 })).toEqual({ BlkioWeight: 700 });
  });
});
