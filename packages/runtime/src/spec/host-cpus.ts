import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { HostCpus, RunOptions } from '../types';

/** Where the cpuset's lists are: the root of cgroup v1's cpuset hierarchy, or cgroup v2's root. */
const CPUSET_FILES = {
  cpus: ['/sys/fs/cgroup/cpuset/cpuset.cpus', '/sys/fs/cgroup/cpuset.cpus.effective'],
  mems: ['/sys/fs/cgroup/cpuset/cpuset.mems', '/sys/fs/cgroup/cpuset.mems.effective'],
} as const;

function firstList(files: readonly string[]): string | undefined {
  for (const file of files) {
    try {
      const list = readFileSync(file, 'utf8').trim();
      if (list) return list;
    } catch {
      // not this cgroup layout: the next one
    }
  }
  return undefined;
}

/** Whether `run` asks for a CPU limit the host's CPUs bound: only then are they read. */
export function usesHostCpus(run: Pick<RunOptions, 'cpus' | 'cpusetCpus' | 'cpusetMems'>): boolean {
  return run.cpus !== undefined || !!run.cpusetCpus || !!run.cpusetMems;
}

/** The host's CPUs as dockerd's sysinfo reads them: the CPUs this process may use, and the root cpuset's lists. */
export function readHostCpus(): HostCpus {
  const cpus = firstList(CPUSET_FILES.cpus);
  const mems = firstList(CPUSET_FILES.mems);
  return { count: os.availableParallelism(), ...(cpus ? { cpus } : {}), ...(mems ? { mems } : {}) };
}
