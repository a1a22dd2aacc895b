/**
 * `--cpus` and the cpusets against the host's CPUs, as dockerd's verifyPlatformContainerSettings
 * checks them: pure, with the host's facts given in the spec context as the runtime reads them.
 */
import os from 'node:os';
import { generateSpec, type ImageConfig, type RunOptions, type SpecContext } from '@ctr/runtime';
import { readHostCpus, usesHostCpus } from '../src/spec/host-cpus';

const busybox: ImageConfig = { Cmd: ['sh'] };
/** A two-CPU host with one memory node. */
const twoCpus: SpecContext = { id: 'abcdef0123456789', rootfs: '/rootfs', hostCpus: { count: 2, cpus: '0-1', mems: '0' } };

function cpuOf(options: RunOptions, ctx: SpecContext = twoCpus): unknown {
  return generateSpec(busybox, options, ctx).linux.resources?.cpu;
}

describe('--cpus', () => {
  test('up to the host\'s CPUs becomes a CFS quota', () => {
    expect(cpuOf({ cpus: 2 })).toEqual({ quota: 200000, period: 100000 });
  });

  test("more than the host has is refused in dockerd's words", () => {
    expect(() => cpuOf({ cpus: 1000 })).toThrow('Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available');
  });

  test('a negative count is refused the same way', () => {
    expect(() => cpuOf({ cpus: -1 })).toThrow('Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available');
  });

  test('0 is no limit, as dockerd\'s NanoCPUs of 0', () => {
    expect(cpuOf({ cpus: 0 })).toBeUndefined();
  });

  test('0 does not conflict with a CFS period', () => {
    expect(cpuOf({ cpus: 0, cpuPeriod: 50000 })).toEqual({ period: 50000 });
  });

  test('is not checked against a host the context does not describe', () => {
    expect(cpuOf({ cpus: 64 }, { id: 'abcdef0123456789', rootfs: '/rootfs' })).toEqual({ quota: 6400000, period: 100000 });
  });
});

describe('--cpuset-cpus and --cpuset-mems', () => {
  test("CPUs the host's cpuset has are taken", () => {
    expect(cpuOf({ cpusetCpus: '0,1', cpusetMems: '0' })).toEqual({ cpus: '0,1', mems: '0' });
  });

  test("a CPU beyond the host's cpuset is refused in dockerd's words", () => {
    expect(() => cpuOf({ cpusetCpus: '5' })).toThrow('Requested CPUs are not available - requested 5, available: 0-1');
  });

  test('a range reaching past the cpuset is refused', () => {
    expect(() => cpuOf({ cpusetCpus: '1-9' })).toThrow('Requested CPUs are not available - requested 1-9, available: 0-1');
  });

  test("a memory node beyond the host's is refused in dockerd's words", () => {
    expect(() => cpuOf({ cpusetMems: '3' })).toThrow('Requested memory nodes are not available - requested 3, available: 0');
  });

  test('a range is covered by several of the host\'s ranges together', () => {
    expect(cpuOf({ cpusetCpus: '1-4' }, { ...twoCpus, hostCpus: { count: 8, cpus: '0-2,3-7' } })).toEqual({ cpus: '1-4' });
  });

  test('an empty cpuset is none', () => {
    expect(cpuOf({ cpusetCpus: '' })).toBeUndefined();
  });
});

describe('the host facts', () => {
  test('are read only for a CPU limit', () => {
    expect([usesHostCpus({}), usesHostCpus({ cpus: 1 }), usesHostCpus({ cpusetCpus: '0' }), usesHostCpus({ cpusetMems: '0' })]).toEqual([false, true, true, true]);
  });

  test('count the CPUs this process may run on', () => {
    expect(readHostCpus().count).toBe(os.availableParallelism());
  });

  test("list the cpuset's CPUs as the kernel writes them", () => {
    expect(readHostCpus().cpus).toMatch(/^\d+(-\d+)?(,\d+(-\d+)?)*$/);
  });
});
