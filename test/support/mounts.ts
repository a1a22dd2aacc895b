import { readFileSync } from 'node:fs';

/** The mount points in this process's mount table, as `mount` lists them. */
function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '');
}

/** Whether `dir` is a mount point. */
export function isMountPoint(dir: string): boolean {
  return mountPoints().includes(dir);
}

/** The mount points below `dir`. */
export function mountsUnder(dir: string): string[] {
  return mountPoints().filter((point) => point.startsWith(`${dir}/`));
}
