import { mountPoints } from '@ctr/store';

/** Whether `dir` is a mount point (a path with spaces too: the store decodes mountinfo's escapes). */
export async function isMountPoint(dir: string): Promise<boolean> {
  return (await mountPoints()).includes(dir);
}

/** The mount points below `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  return (await mountPoints()).filter((point) => point.startsWith(`${dir}/`));
}
