import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { conflict, internal, invalidArgument } from '@ctr/errors';
import type { ContainerRecord } from './container-records';
import type { EngineContext } from './context';

/** `docker top`: `ps` columns and one row per container process. */
export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage: number;
  online_cpus: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** One sample of `docker stats` / `GET /containers/{id}/stats`, Docker's field names (cgroup v1). */
export interface ContainerStats {
  read: string;
  preread: string;
  id: string;
  name: string;
  num_procs: number;
  pids_stats: { current: number; limit?: number };
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; limit?: number; failcnt?: number; stats?: Record<string, number> };
  blkio_stats: { io_service_bytes_recursive: BlkioEntry[] | null; io_serviced_recursive: BlkioEntry[] | null };
  storage_stats: Record<string, never>;
  networks?: Record<string, { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }>;
}

export interface StatsOptions {
  /** Keep sampling every `intervalMs` (default 1000, like Docker) until the signal aborts. */
  stream?: boolean;
  /** Without streaming: one sample at once, with empty `precpu_stats` (Docker's `one-shot`). */
  oneShot?: boolean;
  intervalMs?: number;
  signal?: AbortSignal;
}

const CGROUP_ROOT = '/sys/fs/cgroup';
const NO_LIMIT = 0x7ffffffffffff000;
const CLOCK_TICKS = 100;
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The container's cgroup path, as its spec gave it to runc. */
async function cgroupPath(ctx: EngineContext, record: ContainerRecord): Promise<string> {
  const info = await ctx.runtime.inspect(record.id);
  return info.spec.linux?.cgroupsPath ?? `/ctr/${record.id}`;
}

async function readText(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').catch(() => undefined);
}

async function readNumber(file: string): Promise<number> {
  const text = await readText(file);
  const n = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(n) ? n : 0;
}

async function containerPids(cgroup: string): Promise<number[]> {
  const text = (await readText(`${CGROUP_ROOT}/pids${cgroup}/cgroup.procs`)) ?? '';
  return text.split('\n').filter(Boolean).map(Number);
}

/**
 * The host's `ps` with these arguments. A failure is dockerd's (moby's ContainerTop): `ps: `
 * and the first line of what ps wrote to stderr, which says what was wrong (`error: unknown
 * gnu long option`) without the usage text after it.
 */
function runPs(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ps', args, { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const why = stderr.split('\n', 1)[0] || (typeof error.code === 'number' ? `exit status ${error.code}` : error.message);
      reject(internal(`ps: ${why}`, { cause: error }));
    });
  });
}

/**
 * `docker top`: the host's `ps` (default `-ef`), keeping the rows whose PID is in the
 * container's cgroup — what dockerd does. The output is parsed by column positions of the
 * header, the last column (the command) taking the rest of the line.
 */
export async function top(ctx: EngineContext, record: ContainerRecord, psArgs = '-ef'): Promise<TopResult> {
  const state = await ctx.runtime.state(record.id);
  if (!state.running) throw conflict(`Container ${record.id} is not running`);
  const pids = new Set(await containerPids(await cgroupPath(ctx, record)));
  const output = await runPs(psArgs.split(/\s+/).filter(Boolean));
  const [header = '', ...lines] = output.split('\n').filter((l) => l.trim() !== '');
  const Titles = header.trim().split(/\s+/);
  const pidColumn = Titles.indexOf('PID');
  if (pidColumn === -1) throw invalidArgument(`Couldn't find PID field in ps output`, { hint: 'the ps options must include the PID column' });
  const Processes: string[][] = [];
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    const row = [...fields.slice(0, Titles.length - 1), fields.slice(Titles.length - 1).join(' ')];
    if (pids.has(Number(row[pidColumn]))) Processes.push(row);
  }
  return { Titles, Processes };
}

function emptyCpu(): CpuStats {
  return {
    cpu_usage: { total_usage: 0, percpu_usage: [], usage_in_kernelmode: 0, usage_in_usermode: 0 },
    system_cpu_usage: 0,
    online_cpus: 0,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/** Host CPU time in nanoseconds, from the first line of /proc/stat (what dockerd reads). */
async function systemCpuUsage(): Promise<number> {
  const line = ((await readText('/proc/stat')) ?? '').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((sum, n) => sum + Number(n), 0);
  return (ticks * 1e9) / CLOCK_TICKS;
}

async function cpuStats(cgroup: string): Promise<CpuStats> {
  const dir = `${CGROUP_ROOT}/cpuacct${cgroup}`;
  const [total, percpu, stat, throttling, system] = await Promise.all([
    readNumber(`${dir}/cpuacct.usage`),
    readText(`${dir}/cpuacct.usage_percpu`),
    readText(`${dir}/cpuacct.stat`),
    readText(`${CGROUP_ROOT}/cpu${cgroup}/cpu.stat`),
    systemCpuUsage(),
  ]);
  const kv = (text: string | undefined): Record<string, number> =>
    Object.fromEntries((text ?? '').split('\n').filter(Boolean).map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]));
  const times = kv(stat);
  const throttled = kv(throttling);
  const percpuUsage = (percpu ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    cpu_usage: {
      total_usage: total,
      percpu_usage: percpuUsage,
      usage_in_kernelmode: ((times.system ?? 0) * 1e9) / CLOCK_TICKS,
      usage_in_usermode: ((times.user ?? 0) * 1e9) / CLOCK_TICKS,
    },
    system_cpu_usage: system,
    online_cpus: percpuUsage.length || os.cpus().length,
    throttling_data: { periods: throttled.nr_periods ?? 0, throttled_periods: throttled.nr_throttled ?? 0, throttled_time: throttled.throttled_time ?? 0 },
  };
}

async function memoryStats(cgroup: string): Promise<ContainerStats['memory_stats']> {
  const dir = `${CGROUP_ROOT}/memory${cgroup}`;
  const [usage, max, limit, failcnt, stat] = await Promise.all([
    readNumber(`${dir}/memory.usage_in_bytes`),
    readNumber(`${dir}/memory.max_usage_in_bytes`),
    readNumber(`${dir}/memory.limit_in_bytes`),
    readNumber(`${dir}/memory.failcnt`),
    readText(`${dir}/memory.stat`),
  ]);
  const stats = Object.fromEntries((stat ?? '').split('\n').filter(Boolean).map((l) => [l.split(' ')[0] as string, Number(l.split(' ')[1])]));
  // Docker reports the host's memory as the limit of an unlimited container.
  return { usage, max_usage: max, limit: limit >= NO_LIMIT || limit === 0 ? os.totalmem() : Math.min(limit, os.totalmem()), failcnt, stats };
}

async function blkioStats(cgroup: string): Promise<ContainerStats['blkio_stats']> {
  const parse = (text: string | undefined): BlkioEntry[] =>
    (text ?? '')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length === 3 && f[0]?.includes(':'))
      .map(([dev, op, value]) => {
        const [major, minor] = (dev as string).split(':').map(Number) as [number, number];
        return { major, minor, op: (op as string).toLowerCase(), value: Number(value) };
      });
  const dir = `${CGROUP_ROOT}/blkio${cgroup}`;
  const [bytes, ios] = await Promise.all([readText(`${dir}/blkio.throttle.io_service_bytes`), readText(`${dir}/blkio.throttle.io_serviced`)]);
  return { io_service_bytes_recursive: parse(bytes), io_serviced_recursive: parse(ios) };
}

/** Interface counters as the container sees them (its init's network namespace), loopback left out. */
async function networkStats(pid: number): Promise<ContainerStats['networks']> {
  const text = await readText(`/proc/${pid}/net/dev`);
  if (!text) return undefined;
  const out: NonNullable<ContainerStats['networks']> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    out[name] = { rx_bytes: f[0] ?? 0, rx_packets: f[1] ?? 0, rx_errors: f[2] ?? 0, rx_dropped: f[3] ?? 0, tx_bytes: f[8] ?? 0, tx_packets: f[9] ?? 0, tx_errors: f[10] ?? 0, tx_dropped: f[11] ?? 0 };
  }
  return out;
}

async function sample(ctx: EngineContext, record: ContainerRecord, previous: ContainerStats | undefined): Promise<ContainerStats> {
  const base = {
    read: new Date().toISOString(),
    preread: previous?.read ?? ZERO_TIME,
    id: record.id,
    name: `/${record.name}`,
    num_procs: 0,
    precpu_stats: previous?.cpu_stats ?? emptyCpu(),
    storage_stats: {},
  };
  const state = await ctx.runtime.state(record.id);
  if (!state.running) {
    // Docker answers with zeros for a container that is not running.
    return { ...base, read: ZERO_TIME, preread: ZERO_TIME, pids_stats: { current: 0 }, cpu_stats: emptyCpu(), memory_stats: {}, blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null } };
  }
  const cgroup = await cgroupPath(ctx, record);
  const [cpu, memory, blkio, pids, pidsMax, networks] = await Promise.all([
    cpuStats(cgroup),
    memoryStats(cgroup),
    blkioStats(cgroup),
    readNumber(`${CGROUP_ROOT}/pids${cgroup}/pids.current`),
    readText(`${CGROUP_ROOT}/pids${cgroup}/pids.max`),
    networkStats(state.pid),
  ]);
  const limit = pidsMax?.trim() === 'max' || pidsMax === undefined ? undefined : Number(pidsMax);
  return {
    ...base,
    pids_stats: { current: pids, ...(limit !== undefined ? { limit } : {}) },
    cpu_stats: cpu,
    memory_stats: memory,
    blkio_stats: blkio,
    ...(networks && Object.keys(networks).length > 0 ? { networks } : {}),
  };
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * `docker stats`: samples of the container's cgroup counters. Streaming yields one every
 * interval until the signal aborts; otherwise one sample is yielded — taken after a first
 * one an interval earlier so `precpu_stats` gives a CPU percentage, unless `oneShot`.
 */
export async function* stats(ctx: EngineContext, record: ContainerRecord, options: StatsOptions = {}): AsyncGenerator<ContainerStats> {
  const interval = options.intervalMs ?? 1000;
  let previous: ContainerStats | undefined;
  if (!options.stream && !options.oneShot) {
    previous = await sample(ctx, record, undefined);
    await delay(interval, options.signal);
  }
  for (;;) {
    if (options.signal?.aborted) return;
    const current = await sample(ctx, record, previous);
    yield current;
    if (!options.stream) return;
    previous = current;
    await delay(interval, options.signal);
  }
}
