import { readFileSync } from 'node:fs';

/**
 * Whether the kernel's cgroup freezer holds the process: what runc itself calls paused
 * (`runc pause` records nothing but the freezer's state). Read from the process's own
 * cgroup, so a pause whose caller died before it could record it, or could not (a full
 * disk), is seen, and can be undone, all the same.
 */
export function isFrozen(pid: number): boolean {
  try {
    const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    const v1 = /^\d+:freezer:(.*)$/m.exec(cgroups)?.[1];
    if (v1 !== undefined) return readFileSync(`/sys/fs/cgroup/freezer${v1}/freezer.state`, 'utf8').trim() === 'FROZEN';
    const v2 = /^0::(.*)$/m.exec(cgroups)?.[1];
    return v2 !== undefined && readFileSync(`/sys/fs/cgroup${v2}/cgroup.freeze`, 'utf8').trim() === '1';
  } catch {
    // The process has gone: nothing of it is frozen.
    return false;
  }
}
