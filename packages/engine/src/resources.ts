import { conflict, invalidArgument } from '@ctr/errors';
import { hasCpuRealtime, parseBytes, shmSizeOf, type RunOptions, type Spec } from '@ctr/runtime';

/**
 * `docker update`: new limits for a container (the runtime's run options of those names), as
 * a library call. A field left out, or 0 (Docker's "unchanged"), keeps the current value;
 * `pidsLimit` 0 or -1 lifts the limit.
 */
export type UpdateOptions = Pick<
  RunOptions,
  | 'memory'
  | 'memorySwap'
  | 'memoryReservation'
  | 'cpus'
  | 'cpuShares'
  | 'cpuQuota'
  | 'cpuPeriod'
  | 'cpuRealtimePeriod'
  | 'cpuRealtimeRuntime'
  | 'cpusetCpus'
  | 'cpusetMems'
  | 'pidsLimit'
  | 'blkioWeight'
> & {
  /** `no`, `always`, `unless-stopped`, `on-failure[:N]`. */
  restart?: string;
};

/** The limits inspect's `HostConfig` shows, Docker's field names. */
export interface HostResources {
  Memory: number;
  MemorySwap: number;
  MemoryReservation: number;
  NanoCpus: number;
  CpuShares: number;
  CpuQuota: number;
  CpuPeriod: number;
  CpuRealtimePeriod: number;
  CpuRealtimeRuntime: number;
  CpusetCpus: string;
  CpusetMems: string;
  PidsLimit: number | null;
  OomKillDisable: boolean;
  ShmSize: number;
  Ulimits: Array<{ Name: string; Soft: number; Hard: number }> | null;
  BlkioWeight: number;
  BlkioWeightDevice: Array<{ Path: string; Weight: number }>;
  BlkioDeviceReadBps: ThrottleDevice[];
  BlkioDeviceWriteBps: ThrottleDevice[];
  BlkioDeviceReadIOps: ThrottleDevice[];
  BlkioDeviceWriteIOps: ThrottleDevice[];
  /** null when unset: the kernel's default. */
  MemorySwappiness: number | null;
  OomScoreAdj: number;
  CgroupParent: string;
  CgroupnsMode: 'host' | 'private';
  /** `--device-cgroup-rule`s as given, null for none (Go's nil list). */
  DeviceCgroupRules: string[] | null;
}

type ThrottleDevice = { Path: string; Rate: number };

const given = <T>(value: T | undefined | 0 | ''): value is T => value !== undefined && value !== 0 && value !== '';

/**
 * The limits in force: what the spec holds, in bytes, where runc reads them. A memory
 * limit with no swap limit in the spec means the kernel does not account swap (dockerd
 * then shows -1 too).
 */
export function hostResources(run: RunOptions, spec: Spec): HostResources {
  const { memory = {}, cpu = {}, pids, blockIO = {} } = spec.linux.resources ?? {};
  // A device list the kernel could not take is not in the spec, and shows empty, as dockerd shows it once dropped.
  const throttles = (list: RunOptions['blkioDeviceReadBps'], inSpec: unknown[] | undefined): ThrottleDevice[] =>
    inSpec?.length ? (list ?? []).map((d) => ({ Path: d.path, Rate: d.rate })) : [];
  return {
    Memory: memory.limit ?? 0,
    MemorySwap: memory.swap ?? (memory.limit ? -1 : 0),
    MemoryReservation: memory.reservation ?? 0,
    NanoCpus: given(run.cpus) ? Math.round(Number(run.cpus) * 1e9) : 0,
    CpuShares: run.cpuShares ?? 0,
    CpuQuota: run.cpuQuota ?? 0,
    CpuPeriod: run.cpuPeriod ?? 0,
    CpuRealtimePeriod: cpu.realtimePeriod ?? 0,
    CpuRealtimeRuntime: cpu.realtimeRuntime ?? 0,
    CpusetCpus: run.cpusetCpus ?? '',
    CpusetMems: run.cpusetMems ?? '',
    PidsLimit: pids?.limit ?? null,
    OomKillDisable: run.oomKillDisable ?? false,
    // moby's adaptContainerSettings fills it in at create whatever the IPC mode, where the spec's /dev/shm may have no size (a shareable or host one, none).
    ShmSize: shmSizeOf(run),
    Ulimits: run.ulimits?.length ? run.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })) : null,
    BlkioWeight: blockIO.weight ?? 0,
    BlkioWeightDevice: blockIO.weightDevice?.length ? (run.blkioWeightDevice ?? []).map((d) => ({ Path: d.path, Weight: d.weight })) : [],
    BlkioDeviceReadBps: throttles(run.blkioDeviceReadBps, blockIO.throttleReadBpsDevice),
    BlkioDeviceWriteBps: throttles(run.blkioDeviceWriteBps, blockIO.throttleWriteBpsDevice),
    BlkioDeviceReadIOps: throttles(run.blkioDeviceReadIOps, blockIO.throttleReadIOPSDevice),
    BlkioDeviceWriteIOps: throttles(run.blkioDeviceWriteIOps, blockIO.throttleWriteIOPSDevice),
    MemorySwappiness: memory.swappiness ?? null,
    OomScoreAdj: spec.process.oomScoreAdj ?? 0,
    CgroupParent: run.cgroupParent ?? '',
    CgroupnsMode: spec.linux.namespaces.some((n) => n.type === 'cgroup') ? 'private' : 'host',
    DeviceCgroupRules: run.deviceCgroupRules?.length ? run.deviceCgroupRules : null,
  };
}

/**
 * A container's run options with an update's limits merged in, refused as moby refuses
 * them: `--cpus` and a CFS quota or period exclude each other across the two, and a memory
 * limit may not pass the swap limit already in force unless the update sets swap too. One
 * difference, chosen on purpose: a container that had no memory limit takes one alone
 * (dockerd asks for `--memory-swap` as well), with swap at twice memory as at create.
 */
export function mergeUpdate(run: RunOptions, current: HostResources, update: UpdateOptions): RunOptions {
  const refuse = (message: string): never => {
    throw conflict(`Conflicting options: ${message}`);
  };
  if (given(update.cpus) && current.CpuPeriod > 0) refuse('Nano CPUs cannot be updated as CPU Period has already been set');
  if (given(update.cpus) && current.CpuQuota > 0) refuse('Nano CPUs cannot be updated as CPU Quota has already been set');
  if (given(update.cpuPeriod) && current.NanoCpus > 0) refuse('CPU Period cannot be updated as NanoCPUs has already been set');
  if (given(update.cpuQuota) && current.NanoCpus > 0) refuse('CPU Quota cannot be updated as NanoCPUs has already been set');
  const period = given(update.cpuRealtimePeriod) ? update.cpuRealtimePeriod : current.CpuRealtimePeriod;
  const runtime = given(update.cpuRealtimeRuntime) ? update.cpuRealtimeRuntime : current.CpuRealtimeRuntime;
  checkCpuRealtime(period, runtime, given(update.cpuRealtimePeriod) || given(update.cpuRealtimeRuntime));
  const merged: RunOptions = { ...run };
  if (given(update.memory)) {
    const memory = parseBytes(update.memory, 'memory');
    if (!given(update.memorySwap) && current.MemorySwap > 0 && memory > current.MemorySwap) {
      throw conflict('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    merged.memory = memory;
    // The swap limit in force stays as it is, also when it was only create's default.
    if (!given(update.memorySwap) && current.MemorySwap > 0) merged.memorySwap = current.MemorySwap;
  }
  if (given(update.memorySwap)) merged.memorySwap = update.memorySwap;
  if (given(update.memoryReservation)) merged.memoryReservation = update.memoryReservation;
  if (given(update.cpus)) merged.cpus = update.cpus;
  if (given(update.cpuShares)) merged.cpuShares = update.cpuShares;
  if (given(update.cpuQuota)) merged.cpuQuota = update.cpuQuota;
  if (given(update.cpuPeriod)) merged.cpuPeriod = update.cpuPeriod;
  if (given(update.cpuRealtimePeriod)) merged.cpuRealtimePeriod = update.cpuRealtimePeriod;
  if (given(update.cpuRealtimeRuntime)) merged.cpuRealtimeRuntime = update.cpuRealtimeRuntime;
  if (given(update.cpusetCpus)) merged.cpusetCpus = update.cpusetCpus;
  if (given(update.cpusetMems)) merged.cpusetMems = update.cpusetMems;
  if (given(update.blkioWeight)) merged.blkioWeight = update.blkioWeight;
  if (update.pidsLimit !== undefined) {
    if (update.pidsLimit > 0) merged.pidsLimit = update.pidsLimit;
    else delete merged.pidsLimit;
  }
  return merged;
}

/**
 * `--cpu-rt-period` and `--cpu-rt-runtime` (0: none), refused in moby's words (runconfig's
 * validateResources) where the host has no real-time controller, or the runtime passes the
 * period. `asked`: whether this request names either, which alone makes the host matter.
 */
export function checkCpuRealtime(period: number | undefined, runtime: number | undefined, asked = Boolean(period || runtime)): void {
  if (asked && !hasCpuRealtime()) throw invalidArgument('Your kernel does not support CPU real-time scheduler');
  if (period && runtime && runtime > period) throw invalidArgument('cpu real-time runtime cannot be higher than cpu real-time period');
}
