import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { goErrnoWords, invalidArgument } from '@ctr/errors';
import type { BlkioOption, RunOptions, ThrottleDevice, WeightDevice } from '../types';
import { major, minor } from './devices';

type DeviceOption = Exclude<BlkioOption, 'blkioWeight'>;

/** The options that name block devices, by the flag docker's messages name them with. */
const DEVICE_FLAGS: Record<DeviceOption, string> = {
  blkioWeightDevice: '--blkio-weight-device',
  blkioDeviceReadBps: '--device-read-bps',
  blkioDeviceWriteBps: '--device-write-bps',
  blkioDeviceReadIOps: '--device-read-iops',
  blkioDeviceWriteIOps: '--device-write-iops',
};

const valueOf = (entry: WeightDevice | ThrottleDevice): number => ('weight' in entry ? entry.weight : entry.rate);

/** One device of a blkio option, refused as the flag's value when it is not a block device on this host. */
function blockDevice(entry: WeightDevice | ThrottleDevice, flag: string): { major: number; minor: number } {
  const refuse = (reason: string): Error => invalidArgument(`invalid argument "${entry.path}:${valueOf(entry)}" for "${flag}" flag: ${reason}`);
  let stat;
  try {
    stat = statSync(entry.path, { bigint: true });
  } catch (error) {
    throw refuse(`stat ${entry.path}: ${goErrnoWords(error)}`);
  }
  // The kernel limits block devices only: runc would fail the start on anything else.
  if (!stat.isBlockDevice()) throw refuse(`${entry.path} is not a block device`);
  return { major: major(stat.rdev), minor: minor(stat.rdev) };
}

/** The numbers of every block device `options` names, read from the host (the spec needs major:minor). */
export function blockDevices(options: RunOptions): Record<string, { major: number; minor: number }> {
  const out: Record<string, { major: number; minor: number }> = {};
  for (const [option, flag] of Object.entries(DEVICE_FLAGS) as Array<[DeviceOption, string]>) {
    for (const entry of options[option] ?? []) out[entry.path] ??= blockDevice(entry, flag);
  }
  return out;
}

/** Whether `options` set any blkio option: only then is the kernel asked what it takes. */
export function usesBlkio(options: RunOptions): boolean {
  return (options.blkioWeight ?? 0) !== 0 || (Object.keys(DEVICE_FLAGS) as DeviceOption[]).some((option) => (options[option]?.length ?? 0) > 0);
}

let support: Record<BlkioOption, boolean> | undefined;

/**
 * Which blkio options this kernel takes, as dockerd's sysinfo finds out: by the cgroup v1
 * files each one is written to (CFQ's weight files, or BFQ's where CFQ is gone). Read once:
 * the kernel does not change under a process.
 */
export function blkioSupport(): Record<BlkioOption, boolean> {
  support ??= readBlkioSupport('/sys/fs/cgroup/blkio');
  return support;
}

function readBlkioSupport(mountPoint: string): Record<BlkioOption, boolean> {
  const has = (file: string): boolean => existsSync(path.join(mountPoint, file));
  // runc writes BFQ's pair where CFQ's weight file is missing.
  const cfq = has('blkio.weight');
  return {
    blkioWeight: cfq || has('blkio.bfq.weight'),
    blkioWeightDevice: has(cfq ? 'blkio.weight_device' : 'blkio.bfq.weight_device'),
    blkioDeviceReadBps: has('blkio.throttle.read_bps_device'),
    blkioDeviceWriteBps: has('blkio.throttle.write_bps_device'),
    blkioDeviceReadIOps: has('blkio.throttle.read_iops_device'),
    blkioDeviceWriteIOps: has('blkio.throttle.write_iops_device'),
  };
}

/** dockerd's warning for each blkio option it drops where the kernel cannot take it. */
const DROPPED: Record<BlkioOption, string> = {
  blkioWeight: 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
  blkioWeightDevice: 'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.',
  blkioDeviceReadBps: 'Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.',
  blkioDeviceWriteBps: 'Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded.',
  blkioDeviceReadIOps: 'Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded.',
  blkioDeviceWriteIOps: 'Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.',
};

/** dockerd's warnings for the blkio options `options` sets that `support` says the kernel cannot take (the spec drops them). */
export function blkioWarnings(options: RunOptions, support: Partial<Record<BlkioOption, boolean>>): string[] {
  const isSet = (value: number | unknown[] | undefined): boolean => (Array.isArray(value) ? value.length > 0 : (value ?? 0) !== 0);
  return (Object.keys(DROPPED) as BlkioOption[]).filter((option) => support[option] === false && isSet(options[option])).map((option) => DROPPED[option]);
}
