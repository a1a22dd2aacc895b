import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** A block device as a test names it to ctr and finds it in cgroup files. */
export interface BlockDevice {
  path: string;
  major: number;
  minor: number;
}

/**
 * The whole disk the root filesystem is on (the kernel throttles disks, not partitions): a
 * real block device of this machine, by its /dev path and numbers.
 */
export function rootDisk(): BlockDevice {
  const dev = statSync('/').dev;
  let sys = `/sys/dev/block/${(dev >> 8) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & ~0xff)}`;
  if (existsSync(path.join(sys, 'partition'))) sys = path.join(sys, '..');
  const uevent = readFileSync(path.join(sys, 'uevent'), 'utf8');
  const field = (name: string): string => new RegExp(`^${name}=(.*)$`, 'm').exec(uevent)?.[1] ?? '';
  return { path: `/dev/${field('DEVNAME')}`, major: Number(field('MAJOR')), minor: Number(field('MINOR')) };
}

/** Whether this kernel has a blkio weight (CFQ's or BFQ's cgroup v1 file), as dockerd asks before it drops one. */
export const kernelHasBlkioWeight = ['blkio.weight', 'blkio.bfq.weight'].some((f) => existsSync(`/sys/fs/cgroup/blkio/${f}`));
