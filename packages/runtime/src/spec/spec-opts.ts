import path from 'node:path';
import { internal, invalidArgument } from '@ctr/errors';
import type { MountEntry, Spec } from '../oci-spec';
import type { ImageConfig, MountSpec, RunOptions, SpecContext } from '../types';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, DEFAULT_DEVICE_RULES, DEFAULT_PATH, DEFAULT_SHM_SIZE, MASKED_PATHS, READONLY_PATHS, defaultMounts } from './defaults';
import { blockIO } from './block-io';
import { checkBindPropagation } from './mount-propagation';
import { containerSeccomp, defaultSeccompProfile } from './seccomp';
import { RLIM_INFINITY } from './spec-json';
import { DEFAULT_TMPFS_OPTIONS, mergeTmpfsOptions } from './tmpfs-options';
import { checkCpuList, checkCpusetAvailable, checkedCpus, parseBytes, parseCpus, ulimitOrderError } from './units';

/**
 * One step of spec generation: a function that changes a spec in place, as containerd's
 * `SpecOpts`. `generateSpec` applies a fixed list; callers may append their own.
 */
export type SpecOpt = (spec: Spec) => void;

export function applySpecOpts(spec: Spec, opts: readonly SpecOpt[]): Spec {
  for (const opt of opts) opt(spec);
  return spec;
}

/** The skeleton every container starts from: root, namespaces, Docker's defaults. */
export function baseSpec(ctx: SpecContext): Spec {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [],
      env: [],
      cwd: '/',
      capabilities: capabilitySet([...DEFAULT_CAPABILITIES]),
      noNewPrivileges: false,
    },
    root: { path: ctx.rootfs, readonly: false },
    hostname: ctx.id.slice(0, 12),
    mounts: defaultMounts(DEFAULT_SHM_SIZE),
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      resources: { devices: DEFAULT_DEVICE_RULES.map((d) => ({ ...d })) },
      cgroupsPath: `${ctx.cgroupParent ?? '/ctr'}/${ctx.id}`,
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      seccomp: defaultSeccompProfile(ctx.arch),
    },
  };
}

export function capabilitySet(caps: string[]): NonNullable<Spec['process']['capabilities']> {
  return { bounding: [...caps], effective: [...caps], permitted: [...caps], inheritable: [], ambient: [] };
}

/** Docker's ENTRYPOINT/CMD rules: a new entrypoint drops the image's Cmd. */
export function containerArgs(image: ImageConfig, options: RunOptions): string[] {
  const entrypoint = options.entrypoint ?? image.Entrypoint ?? [];
  const cmd = options.cmd ?? (options.entrypoint !== undefined ? [] : image.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw invalidArgument('no command specified', { hint: 'give a command, or use an image with ENTRYPOINT or CMD' });
  }
  return args;
}

/**
 * A container's `Config.Env` as moby's container.Merge makes it: its own variables, then each
 * of the image's it leaves unset (a bare `KEY` of its own sets it, to nothing: see mergeEnv);
 * the image's as they are without any of its own, null when the image has none (as docker shows).
 */
export function configEnv(image: readonly string[] | null | undefined, own: readonly string[] | undefined): string[] | null {
  if (!own?.length) return image ? [...image] : null;
  const keyOf = (entry: string): string => entry.split('=', 1)[0] as string;
  const owned = new Set(own.map(keyOf));
  return [...own, ...(image ?? []).filter((entry) => !owned.has(keyOf(entry)))];
}

/**
 * moby's ReplaceOrAppendEnvValues over each list in turn: a variable replaces its key's in
 * place or is appended; a bare `KEY` — what a docker client sends for `-e KEY` when KEY is
 * unset on its side — unsets KEY, the image's included.
 */
export function mergeEnv(...lists: (readonly string[] | null | undefined)[]): string[] {
  const byKey = new Map<string, string | undefined>();
  for (const list of lists) {
    for (const entry of list ?? []) {
      const eq = entry.indexOf('=');
      const key = eq === -1 ? entry : entry.slice(0, eq);
      if (key === '' || key.includes('\0') || entry.includes('\0')) throw invalidArgument(`invalid environment variable: ${JSON.stringify(entry)}`);
      byKey.set(key, eq === -1 ? undefined : entry);
    }
  }
  return [...byKey.values()].filter((entry): entry is string => entry !== undefined);
}

/** R2 (CVE-2024-21626): a working directory through a leaked fd reaches the host. */
export function checkWorkingDir(dir: string): string {
  if (!dir.startsWith('/')) {
    throw invalidArgument(`the working directory '${dir}' is invalid, it needs to be an absolute path`);
  }
  const clean = cleanPath(dir);
  if (/^\/proc\/(self|thread-self|\d+)(\/task\/\d+)?\/(fd|fdinfo|cwd|root)(\/|$)/.test(clean)) {
    throw invalidArgument(`the working directory '${dir}' is invalid: it is under /proc/*/fd`, {
      hint: 'a working directory must be a directory of the container filesystem',
    });
  }
  return clean;
}

/** Where the init binary appears in the container, as in Docker. */
const INIT_PATH = '/sbin/docker-init';

export function withProcess(image: ImageConfig, options: RunOptions, ctx: SpecContext): SpecOpt {
  return (spec) => {
    const p = spec.process;
    // Docker's `--init`: its init runs the command as its child, reaps orphans and forwards signals.
    p.args = options.init ? [INIT_PATH, '--', ...containerArgs(image, options)] : containerArgs(image, options);
    p.cwd = checkWorkingDir(options.workingDir || image.WorkingDir || '/');
    p.terminal = options.tty === true;
    const size = options.consoleSize;
    if (options.tty && size && (size.height > 0 || size.width > 0)) p.consoleSize = { height: size.height, width: size.width };
    const user = ctx.user ?? { uid: 0, gid: 0, additionalGids: [] };
    p.user = { uid: user.uid, gid: user.gid };
    if (user.additionalGids.length > 0) p.user.additionalGids = [...user.additionalGids];
    const base = [DEFAULT_PATH, `HOSTNAME=${spec.hostname ?? ''}`];
    if (options.tty) base.push('TERM=xterm');
    if (user.home) base.push(`HOME=${user.home}`);
    p.env = mergeEnv(base, configEnv(image.Env, options.env));
    if (options.oomScoreAdj !== undefined) {
      const adj = options.oomScoreAdj;
      if (!Number.isInteger(adj) || adj < -1000 || adj > 1000) throw invalidArgument(`Invalid value ${adj}, range for oom score adj is [-1000, 1000]`);
      p.oomScoreAdj = adj;
    }
  };
}

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}))*$/;

export function withHostname(options: RunOptions): SpecOpt {
  return (spec) => {
    if (options.uts === 'host' && options.hostname !== undefined) throw invalidArgument('Conflicting options: hostname and the UTS mode');
    if (options.network?.mode === 'host' || options.uts === 'host') {
      delete spec.hostname;
      return;
    }
    if (options.hostname !== undefined) {
      if (!HOSTNAME.test(options.hostname) || options.hostname.length > 253) {
        throw invalidArgument(`invalid hostname format: ${options.hostname}`);
      }
      spec.hostname = options.hostname;
    }
    // As a UTS sysctl runc sets in the new namespace: the spec's own `domainname` needs runc 1.2.
    if (options.domainname) spec.linux.sysctl = { ...spec.linux.sysctl, 'kernel.domainname': options.domainname };
  };
}

function normalizeCap(name: string): string {
  const upper = name.trim().toUpperCase();
  const cap = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (upper !== 'ALL' && !ALL_CAPABILITIES.includes(cap)) throw invalidArgument(`unknown capability: "${name}"`);
  return upper === 'ALL' ? 'ALL' : cap;
}

/** `--cap-add` / `--cap-drop`, with `ALL` on either side, as Docker applies them. */
export function withCapabilities(options: RunOptions, ctx: SpecContext): SpecOpt {
  return (spec) => {
    const add = (options.capAdd ?? []).map(normalizeCap);
    const drop = (options.capDrop ?? []).map(normalizeCap);
    let caps = add.includes('ALL') ? [...(ctx.allCapabilities ?? ALL_CAPABILITIES)] : drop.includes('ALL') ? [] : [...DEFAULT_CAPABILITIES];
    for (const c of add) if (c !== 'ALL' && !caps.includes(c)) caps.push(c);
    if (!drop.includes('ALL')) caps = caps.filter((c) => !drop.includes(c));
    spec.process.capabilities = capabilitySet(caps);
  };
}

/** Normalized, without a trailing slash (`/a/b/../c/` → `/a/c`). */
function cleanPath(p: string): string {
  const clean = path.posix.normalize(p);
  return clean.length > 1 ? clean.replace(/\/+$/, '') : clean;
}

function checkTarget(target: string): string {
  if (!target.startsWith('/')) throw invalidArgument(`invalid mount config: mount path must be absolute: ${target}`);
  const clean = cleanPath(target);
  if (clean === '/') throw invalidArgument('invalid mount config: destination can\'t be \'/\'');
  // R5 (CVE-2019-16884): nothing may be mounted over /proc or /sys.
  if (/^\/(proc|sys)(\/|$)/.test(clean)) throw invalidArgument(`invalid mount config: cannot mount over ${clean}`);
  return clean;
}

function userMount(m: MountSpec): MountEntry {
  const target = checkTarget(m.target);
  if (m.type === 'tmpfs') {
    const options = [...DEFAULT_TMPFS_OPTIONS, ...(m.options ?? [])];
    if (m.size !== undefined) options.push(`size=${parseBytes(m.size, 'tmpfs size')}`);
    if (m.mode !== undefined) options.push(`mode=${m.mode.toString(8)}`);
    if (m.readOnly) options.push('ro');
    return { destination: target, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(options) };
  }
  if (!m.source.startsWith('/')) {
    throw invalidArgument(`invalid mount config: bind source path must be absolute: ${m.source}`);
  }
  const propagation = m.type === 'bind' ? m.propagation ?? 'rprivate' : 'rprivate';
  return { destination: target, type: 'bind', source: m.source, options: ['rbind', m.readOnly ? 'ro' : 'rw', propagation] };
}

/** The size of a container's /dev/shm in bytes: `--shm-size`, or docker's 64 MiB. */
export function shmSizeOf(options: RunOptions): number {
  if (options.shmSize === undefined) return DEFAULT_SHM_SIZE;
  const size = parseBytes(options.shmSize, 'shm-size');
  if (size <= 0) throw invalidArgument('invalid shm-size: must be greater than 0');
  return size;
}

export function withMounts(options: RunOptions, ctx: SpecContext): SpecOpt {
  return (spec) => {
    if (options.shmSize !== undefined) {
      const size = shmSizeOf(options);
      const shm = spec.mounts.find((m) => m.destination === '/dev/shm');
      if (shm) shm.options = (shm.options ?? []).map((o) => (o.startsWith('size=') ? `size=${size}` : o));
    }
    const user = (options.mounts ?? []).map(userMount);
    // moby's WithMounts: a shared or slave bind needs its source's mount to propagate so, and a rootfs that passes it on.
    const rootfsNeeds = (options.mounts ?? []).map((m) => (m.type === 'bind' ? checkBindPropagation(m.source, m.propagation, ctx.bindSources?.[m.source]) : undefined));
    if (rootfsNeeds.includes('shared')) spec.linux.rootfsPropagation = 'shared';
    else if (rootfsNeeds.includes('rslave')) spec.linux.rootfsPropagation = 'rslave';
    const seen = new Set<string>();
    for (const m of user) {
      if (seen.has(m.destination)) throw invalidArgument(`Duplicate mount point: ${m.destination}`);
      seen.add(m.destination);
    }
    const etc: MountEntry[] = [];
    const files = ctx.etcFiles ?? {};
    const bind = (source: string, destination: string): MountEntry => ({
      destination,
      type: 'bind',
      source,
      options: ['rbind', 'rprivate', options.readOnlyRootfs ? 'ro' : 'rw'],
    });
    if (files.resolvConf && !seen.has('/etc/resolv.conf')) etc.push(bind(files.resolvConf, '/etc/resolv.conf'));
    if (files.hostname && !seen.has('/etc/hostname')) etc.push(bind(files.hostname, '/etc/hostname'));
    if (files.hosts && !seen.has('/etc/hosts')) etc.push(bind(files.hosts, '/etc/hosts'));
    if (options.init) {
      if (!ctx.initPath) throw internal('--init: the host init binary was not looked up');
      etc.push({ destination: INIT_PATH, type: 'bind', source: ctx.initPath, options: ['rbind', 'rprivate', 'ro'] });
    }
    // A user mount replaces a default one at the same place (e.g. --tmpfs /dev/shm).
    spec.mounts = [...spec.mounts.filter((m) => !seen.has(m.destination)), ...etc, ...user];
  };
}

/** /dev/shm as a bind of a host directory: the host's own, or a shareable container's tmpfs. */
export function shmBind(source: string): MountEntry {
  return { destination: '/dev/shm', type: 'bind', source, options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'] };
}

/** Replaces the spec's /dev/shm mount. */
function replaceShm(spec: Spec, mount: MountEntry): void {
  spec.mounts = spec.mounts.map((m) => (m.destination === '/dev/shm' ? mount : m));
}

/**
 * Namespaces: the network as `options.network` says, the host's where a mode says `host`. A
 * `container:<id>` mode keeps a namespace entry of its type, without a path until each start
 * joins it (`withJoinedNamespaces`): the other container's process changes from run to run.
 */
export function withNamespaces(options: RunOptions, ctx: Pick<SpecContext, 'shmPath'> = {}): SpecOpt {
  return (spec) => {
    const network = options.network ?? { mode: 'none' };
    const rest = spec.linux.namespaces.filter((n) => n.type !== 'network');
    if (network.mode === 'host') {
      spec.linux.namespaces = rest;
      // Without its own network namespace a container may not mount a fresh sysfs.
      spec.mounts = spec.mounts.map((m) =>
        m.destination === '/sys' ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m,
      );
    } else if (network.mode === 'namespace') {
      if (!network.path.startsWith('/')) throw invalidArgument(`network namespace path must be absolute: ${network.path}`);
      spec.linux.namespaces = [...rest, { type: 'network', path: network.path }];
    } else {
      spec.linux.namespaces = [...rest, { type: 'network' }];
    }
    const shared = new Set<string>();
    for (const [type, mode, allowed] of [
      ['pid', options.pid, ['private', 'host']],
      ['ipc', options.ipc, ['private', 'shareable', 'none', 'host']],
      ['uts', options.uts, ['private', 'host']],
    ] as const) {
      if (mode === undefined) continue;
      const joinable = type !== 'uts';
      if (!(allowed as readonly string[]).includes(mode) && !(joinable && /^container:./.test(mode))) {
        throw invalidArgument(`invalid ${type.toUpperCase()} mode: ${JSON.stringify(mode)}`, {
          hint: `--${type} takes ${[...allowed, ...(joinable ? ['container:<name|id>'] : [])].join(', ')}`,
        });
      }
      if (mode === 'host') shared.add(type);
    }
    // The host's cgroup namespace unless asked otherwise: Docker's default on cgroup v1.
    if (options.cgroupns !== undefined && options.cgroupns !== 'host' && options.cgroupns !== 'private') {
      throw invalidArgument(`invalid cgroup namespace mode: ${String(options.cgroupns)}`);
    }
    if (options.cgroupns === 'private') spec.linux.namespaces.push({ type: 'cgroup' });
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => !shared.has(n.type));
    // The host's shared memory, as dockerd mounts it (a fresh mqueue mount already shows the host's queues).
    if (shared.has('ipc')) replaceShm(spec, shmBind('/dev/shm'));
    // A shareable container's /dev/shm is a tmpfs on the host, where joiners find it too.
    else if (options.ipc === 'shareable' && ctx.shmPath) replaceShm(spec, shmBind(ctx.shmPath));
    // moby's WithMounts: no /dev/shm at all (one the user mounts there comes with the mounts).
    else if (options.ipc === 'none') spec.mounts = spec.mounts.filter((m) => m.destination !== '/dev/shm');
  };
}

/** What a start joins for a `container:<id>` mode: that container's process, and for IPC its /dev/shm on the host. */
export interface JoinedNamespaces {
  pid?: { pid: number };
  ipc?: { pid: number; shm: string };
  network?: { pid: number };
}

/** The paths of the namespaces a start joins, and the /dev/shm that goes with another container's IPC. */
export function withJoinedNamespaces(joined: JoinedNamespaces): SpecOpt {
  return (spec) => {
    for (const [type, file] of [['pid', 'pid'], ['ipc', 'ipc'], ['network', 'net']] as const) {
      const target = joined[type];
      if (!target) continue;
      spec.linux.namespaces = [...spec.linux.namespaces.filter((n) => n.type !== type), { type, path: `/proc/${target.pid}/ns/${file}` }];
    }
    if (joined.ipc) replaceShm(spec, shmBind(joined.ipc.shm));
  };
}

const MIN_MEMORY = 6 * 1024 * 1024;

export function withResources(options: RunOptions, ctx: SpecContext): SpecOpt {
  return (spec) => {
    const r = (spec.linux.resources ??= {});
    const memory = options.memory !== undefined ? parseBytes(options.memory, 'memory') : undefined;
    if (memory !== undefined && memory !== 0) {
      if (memory < MIN_MEMORY) throw invalidArgument('Minimum memory limit allowed is 6MB');
      r.memory = { limit: memory };
    }
    // moby's rules: 0 (or none) is twice the memory limit, -1 unlimited; a swap limit needs a memory limit.
    const swap = options.memorySwap === -1 || options.memorySwap === '-1' ? -1 : options.memorySwap === undefined ? 0 : parseBytes(options.memorySwap, 'memory-swap');
    if (!memory) {
      if (swap > 0) throw invalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
    } else {
      if (swap > 0 && swap < memory) throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
      if (ctx.swapAccounting) (r.memory ??= {}).swap = swap === 0 ? memory * 2 : swap;
    }
    if (options.memoryReservation !== undefined) {
      (r.memory ??= {}).reservation = parseBytes(options.memoryReservation, 'memory-reservation');
    }
    if (options.oomKillDisable) (r.memory ??= {}).disableOOMKiller = true;
    // -1 is Docker's "unset" (its CLI always sends the flag's default).
    if (options.memorySwappiness !== undefined && options.memorySwappiness !== -1) {
      const swappiness = options.memorySwappiness;
      if (!Number.isInteger(swappiness) || swappiness < 0 || swappiness > 100) {
        throw invalidArgument(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
      }
      (r.memory ??= {}).swappiness = swappiness;
    }
    const io = blockIO(options, ctx);
    if (io) r.blockIO = io;
    // As dockerd's cgroupfs driver: `<parent>/<id>`; a relative parent is taken from the root cgroup.
    if (options.cgroupParent) spec.linux.cgroupsPath = path.posix.join('/', options.cgroupParent, ctx.id);
    const cpu: NonNullable<typeof r.cpu> = {};
    // 0 CPUs is no limit, as dockerd's NanoCPUs of 0.
    const cpus = options.cpus === undefined ? 0 : checkedCpus(options.cpus, ctx.hostCpus?.count);
    if (cpus > 0) {
      if (options.cpuQuota !== undefined || options.cpuPeriod !== undefined) {
        throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
      }
      Object.assign(cpu, parseCpus(cpus));
    }
    if (options.cpuQuota !== undefined) cpu.quota = options.cpuQuota;
    if (options.cpuPeriod !== undefined) cpu.period = options.cpuPeriod;
    // 0 is none, as dockerd's; whether the host has the controller is the engine's check.
    if (options.cpuRealtimePeriod) cpu.realtimePeriod = options.cpuRealtimePeriod;
    if (options.cpuRealtimeRuntime) cpu.realtimeRuntime = options.cpuRealtimeRuntime;
    if (options.cpuShares !== undefined) {
      if (!Number.isInteger(options.cpuShares) || options.cpuShares < 0) throw invalidArgument(`invalid cpu-shares: ${options.cpuShares}`);
      if (options.cpuShares > 0) cpu.shares = Math.max(2, options.cpuShares);
    }
    // An empty cpuset is none, as dockerd has it.
    if (options.cpusetCpus) {
      cpu.cpus = checkCpuList(options.cpusetCpus, 'cpuset-cpus');
      checkCpusetAvailable(cpu.cpus, ctx.hostCpus?.cpus, 'CPUs');
    }
    if (options.cpusetMems) {
      cpu.mems = checkCpuList(options.cpusetMems, 'cpuset-mems');
      checkCpusetAvailable(cpu.mems, ctx.hostCpus?.mems, 'memory nodes');
    }
    if (Object.keys(cpu).length > 0) r.cpu = cpu;
    if (options.pidsLimit !== undefined) {
      if (!Number.isInteger(options.pidsLimit)) throw invalidArgument(`invalid pids-limit: ${options.pidsLimit}`);
      if (options.pidsLimit > 0) r.pids = { limit: options.pidsLimit };
    }
  };
}

const RLIMIT_NAMES: Record<string, string> = {
  core: 'RLIMIT_CORE', cpu: 'RLIMIT_CPU', data: 'RLIMIT_DATA', fsize: 'RLIMIT_FSIZE', locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK', msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC', rss: 'RLIMIT_RSS', rtprio: 'RLIMIT_RTPRIO', rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING', stack: 'RLIMIT_STACK', as: 'RLIMIT_AS',
};

/** A ulimit value as the spec's: -1 (go-units' unlimited) is RLIM_INFINITY, as dockerd's uint64 conversion makes it. */
function rlimitValue(value: number): number {
  return value === -1 ? RLIM_INFINITY : value;
}

/**
 * Rlimits: Docker's nofile default (1048576) capped at the host's hard limit, since no
 * process here may raise a hard limit (runc would fail the container). An explicit
 * ulimit above the host's hard limit is refused with the limit in the message; -1 is
 * unlimited, which only a host without a hard limit of that kind can give.
 */
export function withRlimits(options: RunOptions, ctx: SpecContext): SpecOpt {
  return (spec) => {
    const ceilings = ctx.rlimitCeilings ?? {};
    const nofileCap = ceilings.nofile ?? 1_048_576;
    const limits = new Map<string, { hard: number; soft: number }>([
      ['nofile', { hard: Math.min(1_048_576, nofileCap), soft: Math.min(1_048_576, nofileCap) }],
    ]);
    for (const u of options.ulimits ?? []) {
      if (!RLIMIT_NAMES[u.name]) throw invalidArgument(`invalid ulimit type: ${u.name}`);
      if (![u.soft, u.hard].every((v) => Number.isSafeInteger(v) && v >= -1)) {
        throw invalidArgument(`invalid ulimit argument: ${u.name}=${u.soft}:${u.hard}`, { hint: 'a limit is a whole number, or -1 for unlimited' });
      }
      const order = ulimitOrderError(u.soft, u.hard);
      if (order) throw invalidArgument(order);
      const ceiling = ceilings[u.name];
      if (ceiling !== undefined && rlimitValue(u.hard) > ceiling) {
        throw invalidArgument(`ulimit ${u.name}=${u.soft}:${u.hard} is above this host's hard limit ${ceiling}`, {
          hint: 'the runtime cannot raise a hard limit; ask for a value at or below it',
        });
      }
      limits.set(u.name, { hard: rlimitValue(u.hard), soft: rlimitValue(u.soft) });
    }
    spec.process.rlimits = [...limits].map(([name, l]) => ({ type: RLIMIT_NAMES[name] as string, hard: l.hard, soft: l.soft }));
  };
}

export function withSecurity(options: RunOptions, ctx: SpecContext): SpecOpt {
  return (spec) => {
    spec.process.noNewPrivileges = options.noNewPrivileges === true;
    spec.root.readonly = options.readOnlyRootfs === true;
    // A privileged container has none (withDevices): moby reads no profile for it.
    const seccomp = options.privileged
      ? undefined
      : containerSeccomp(options.seccomp, { capabilities: spec.process.capabilities?.bounding ?? [], arch: ctx.arch, kernelRelease: ctx.kernelRelease });
    if (seccomp) spec.linux.seccomp = seccomp;
    else delete spec.linux.seccomp;
    if (options.sysctls) {
      for (const key of Object.keys(options.sysctls)) {
        // Namespaced sysctls only, as Docker allows: the rest would change the host.
        if (!/^(kernel\.(msg|sem|shm)|fs\.mqueue\.|net\.)/.test(key)) throw invalidArgument(`sysctl '${key}' is not allowed`);
        if (key.startsWith('net.') && options.network?.mode === 'host') {
          throw invalidArgument(`sysctl '${key}' is not allowed in host network mode`);
        }
      }
      spec.linux.sysctl = { ...spec.linux.sysctl, ...options.sysctls };
    }
    if (options.annotations) spec.annotations = { ...options.annotations };
  };
}

/** The API's masked and read-only paths, as moby's createSpec applies them: last, over the defaults and privileged alike. */
export function withSystemPaths(options: Pick<RunOptions, 'maskedPaths' | 'readonlyPaths'>): SpecOpt {
  return (spec) => {
    if (options.maskedPaths) spec.linux.maskedPaths = [...options.maskedPaths];
    if (options.readonlyPaths) spec.linux.readonlyPaths = [...options.readonlyPaths];
  };
}
