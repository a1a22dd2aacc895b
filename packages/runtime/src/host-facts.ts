import { execFile } from 'node:child_process';
import { accessSync, constants as fsc, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CtrError } from '@ctr/errors';
import { ALL_CAPABILITIES } from './spec/defaults';

/**
 * Find an executable: an explicit path is checked, a bare name is searched on PATH.
 * The error says every place it looked, so "runtime not found" is never opaque. A stat per
 * PATH entry, made directly and without an exception for each directory that lacks it: a
 * fresh `ctr` process does this before its first container.
 */
export async function findExecutable(name: string, explicit?: string): Promise<string> {
  const candidates = explicit
    ? [explicit]
    : (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(':')
        .filter(Boolean)
        .map((dir) => path.join(dir, name));
  const tried: string[] = [];
  for (const candidate of candidates) {
    try {
      const stat = statSync(candidate, { throwIfNoEntry: false });
      if (!stat) {
        tried.push(`${candidate}: ENOENT`);
        continue;
      }
      accessSync(candidate, fsc.X_OK);
      if (stat.isFile()) return candidate;
      tried.push(`${candidate}: not a file`);
    } catch (error) {
      tried.push(`${candidate}: ${(error as NodeJS.ErrnoException).code ?? 'not usable'}`);
    }
  }
  throw new CtrError('Unavailable', `${name} not found (tried ${tried.join('; ')})`, {
    hint: explicit ? `check the path given for ${name}` : `install ${name} (Debian package "${name}") or give its path in the Runtime options`,
  });
}

const LIMIT_NAMES: Record<string, string> = {
  'Max cpu time': 'cpu', 'Max file size': 'fsize', 'Max data size': 'data', 'Max stack size': 'stack',
  'Max core file size': 'core', 'Max resident set': 'rss', 'Max processes': 'nproc', 'Max open files': 'nofile',
  'Max locked memory': 'memlock', 'Max address space': 'as', 'Max file locks': 'locks',
  'Max pending signals': 'sigpending', 'Max msgqueue size': 'msgqueue', 'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio', 'Max realtime timeout': 'rttime',
};

/** This process's hard rlimits (from /proc/self/limits), by Docker's ulimit names; unlimited ones are left out. */
export function parseLimits(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const name = match && LIMIT_NAMES[match[1] as string];
    if (!match || !name || match[3] === 'unlimited') continue;
    out[name] = Number(match[3]);
  }
  return out;
}

export async function hostRlimitCeilings(): Promise<Record<string, number>> {
  return parseLimits(readFileSync('/proc/self/limits', 'utf8'));
}

/**
 * The capabilities this process can give a container: the known ones in its bounding set
 * (a sandboxed host may lack some, and runc fails a container asking for one of them).
 * What `--privileged` and `--cap-add ALL` mean here, as in moby.
 */
export function grantableCapabilities(): string[] {
  const bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (!bounding) return [...ALL_CAPABILITIES];
  const mask = BigInt(`0x${bounding}`);
  // ALL_CAPABILITIES is in the kernel's numbering order.
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** Whether cgroup v1 accounts swap; without it a memory+swap limit cannot be written. */
export async function hasSwapAccounting(): Promise<boolean> {
  try {
    accessSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether containers can be given a real-time CPU budget: moby's sysinfo finds it in cgroup
 * v1's `cpu.rt_period_us`; cgroup v2 has no real-time controller.
 */
export function hasCpuRealtime(): boolean {
  return !existsSync('/sys/fs/cgroup/cgroup.controllers') && existsSync('/sys/fs/cgroup/cpu/cpu.rt_period_us');
}

/** Which limits the host's cgroups can enforce: what dockerd's `info` reports of its sysinfo. */
export interface CgroupFeatures {
  version: '1' | '2';
  memoryLimit: boolean;
  swapLimit: boolean;
  oomKillDisable: boolean;
  cpuCfsPeriod: boolean;
  cpuCfsQuota: boolean;
  cpuShares: boolean;
  cpuSet: boolean;
  pidsLimit: boolean;
}

/**
 * The cgroup features as moby's sysinfo finds them: on v1 each controller's files in its
 * hierarchy, on v2 the controllers the root enables (v2 has no oom-kill-disable). Swap is
 * `hasSwapAccounting`, the fact the runtime itself goes by when writing a memory+swap limit.
 */
export async function cgroupFeatures(): Promise<CgroupFeatures> {
  const root = '/sys/fs/cgroup';
  const has = (file: string): boolean => existsSync(path.join(root, file));
  const swapLimit = await hasSwapAccounting();
  if (has('cgroup.controllers')) {
    const controllers = readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').split(/\s+/);
    const cpu = controllers.includes('cpu');
    return {
      version: '2',
      memoryLimit: controllers.includes('memory'),
      swapLimit,
      oomKillDisable: false,
      cpuCfsPeriod: cpu,
      cpuCfsQuota: cpu,
      cpuShares: cpu,
      cpuSet: controllers.includes('cpuset'),
      pidsLimit: controllers.includes('pids'),
    };
  }
  return {
    version: '1',
    memoryLimit: has('memory/memory.limit_in_bytes'),
    swapLimit,
    oomKillDisable: has('memory/memory.oom_control'),
    cpuCfsPeriod: has('cpu/cpu.cfs_period_us'),
    cpuCfsQuota: has('cpu/cpu.cfs_quota_us'),
    cpuShares: has('cpu/cpu.shares'),
    cpuSet: has('cpuset/cpuset.cpus'),
    // The pids controller's root has no pids.max: mounted is enough, as for moby.
    pidsLimit: has('pids/cgroup.procs'),
  };
}

/**
 * R1 (CVE-2019-5736): runc before 1.0.0-rc6 lets a container overwrite the runc binary on
 * the host. Refuse such a runtime. (Distributions backport later fixes without changing the
 * version — Debian's 1.1.5+ds1-1+deb12u1 carries the CVE-2024-21626 fix — so newer
 * thresholds cannot be checked by version.)
 */
export async function checkRuntimeVersion(binary: string): Promise<string> {
  const text = await new Promise<string>((resolve, reject) =>
    execFile(binary, ['--version'], (error, stdout) => (error ? reject(error) : resolve(stdout))),
  ).catch((error: Error) => {
    throw new CtrError('Unavailable', `cannot run ${binary} --version: ${error.message}`, { cause: error });
  });
  const match = /version\s+(\d+)\.(\d+)\.(\d+)(-rc(\d+))?/.exec(text);
  if (!match) return text.split('\n')[0] ?? '';
  const [major, minor, patch, rc] = [Number(match[1]), Number(match[2]), Number(match[3]), match[5] === undefined ? Infinity : Number(match[5])];
  const tooOld = major < 1 || (major === 1 && minor === 0 && patch === 0 && rc < 6);
  if (tooOld) {
    throw new CtrError('Unavailable', `${binary} is version ${match[0].replace(/^version\s+/, '')}, which lets a container overwrite it on the host (CVE-2019-5736)`, {
      hint: 'install runc 1.0.0-rc6 or later',
    });
  }
  return match[0].replace(/^version\s+/, '');
}

/**
 * `checkRuntimeVersion`, remembered in `runDir` for as long as the binary stays the same
 * file: running a Go binary costs ~10 ms, paid otherwise by every short-lived process (each
 * `ctr run`). Only a version that passed is remembered.
 */
export async function checkRuntimeVersionOnce(binary: string, runDir: string): Promise<string> {
  const stat = statSync(binary);
  const key = `${binary} ${stat.size} ${stat.mtimeMs} ${stat.ino}`;
  const file = path.join(runDir, 'runtime-version.json');
  const cached = readCachedVersion(file);
  if (cached?.key === key && typeof cached.version === 'string') return cached.version;
  const version = await checkRuntimeVersion(binary);
  try {
    writeFileSync(file, JSON.stringify({ key, version }));
  } catch {
    // a read-only run directory: check again next time
  }
  return version;
}

function readCachedVersion(file: string): { key?: string; version?: string } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { key?: string; version?: string };
  } catch {
    return undefined;
  }
}
