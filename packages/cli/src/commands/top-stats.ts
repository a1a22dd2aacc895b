import type { ContainerStats } from '@ctr/engine';
import { CtrError, invalidArgument, isCtrError, notFound } from '@ctr/errors';
import type { Command, Io } from '../command';
import { getEngine, println } from '../context';
import { bool, str, type ParsedArgs } from '../flags';
import { formatContext, formatList, humanSize, naturalCompare, renderTable } from '../format';
import { errorLine } from '../errors';

const top: Command = {
  name: 'top',
  aliases: ['ctr container top'],
  usage: 'CONTAINER [ps OPTIONS]',
  description: 'Display the running processes of a container',
  flags: [],
  stopAtPositional: true,
  args: [1, Infinity],
  async run(args, io) {
    const [container, ...psArgs] = args.positionals as [string, ...string[]];
    const result = await (await getEngine()).top(container, psArgs.length > 0 ? psArgs.join(' ') : undefined);
    // docker top's tabwriter is wider than its formatter's: columns of at least 20.
    println(io, renderTable([result.Titles, ...result.Processes], 20));
    return 0;
  },
};

const port: Command = {
  name: 'port',
  aliases: ['ctr container port'],
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  description: 'List port mappings or a specific mapping for the container',
  flags: [],
  args: [1, 2],
  async run(args, io) {
    const [container, wanted] = args.positionals as [string, string | undefined];
    const info = await (await getEngine()).inspect(container);
    const ports = info.NetworkSettings.Ports;
    // Go's net.JoinHostPort: an IPv6 address in brackets.
    const hostPort = (b: { HostIp: string; HostPort: string }): string => (b.HostIp.includes(':') ? `[${b.HostIp}]:${b.HostPort}` : `${b.HostIp}:${b.HostPort}`);
    let lines: string[];
    if (wanted === undefined) {
      lines = Object.entries(ports).flatMap(([port, bindings]) => (bindings ?? []).map((b) => `${port} -> ${hostPort(b)}`));
    } else {
      const [number, proto = 'tcp'] = wanted.split('/') as [string, string | undefined];
      if (!/^\d+$/.test(number) || Number(number) > 65535) throw invalidArgument(`Error: invalid port (${number}): strconv.ParseUint: parsing ${JSON.stringify(number)}: ${/^\d+$/.test(number) ? 'value out of range' : 'invalid syntax'}`);
      lines = (ports[`${number}/${proto}`] ?? []).map(hostPort);
      if (lines.length === 0) throw notFound(`Error: No public port '${wanted}' published for ${container}`);
    }
    // docker sorts them in natural order (`80/tcp` before `443/tcp`).
    for (const line of lines.sort(naturalCompare)) println(io, line);
    return 0;
  },
};

/** go-units BytesSize: binary units with four significant digits, "1.5MiB", "23.54GiB". */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`;
}

/** One row of `docker stats`, computed as docker's CLI does for cgroup v1. */
export interface StatsRow {
  ID: string;
  Container: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

export function statsRow(s: ContainerStats, container: string): StatsRow {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const systemDelta = s.cpu_stats.system_cpu_usage - s.precpu_stats.system_cpu_usage;
  const cpus = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage.length;
  const cpu = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  // Docker's CLI leaves the page cache out: usage minus total_inactive_file.
  const mem = Math.max(0, (s.memory_stats.usage ?? 0) - (s.memory_stats.stats?.total_inactive_file ?? 0));
  const limit = s.memory_stats.limit ?? 0;
  const net = Object.values(s.networks ?? {}).reduce((sum, n) => ({ rx: sum.rx + n.rx_bytes, tx: sum.tx + n.tx_bytes }), { rx: 0, tx: 0 });
  const blk = (s.blkio_stats.io_service_bytes_recursive ?? []).reduce(
    (sum, e) => ({ read: sum.read + (e.op === 'read' ? e.value : 0), write: sum.write + (e.op === 'write' ? e.value : 0) }),
    { read: 0, write: 0 },
  );
  return {
    ID: s.id.slice(0, 12),
    Container: container,
    Name: s.name.replace(/^\//, '') || '--',
    CPUPerc: `${cpu.toFixed(2)}%`,
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    MemPerc: `${limit > 0 ? ((mem / limit) * 100).toFixed(2) : '0.00'}%`,
    NetIO: `${humanSize(net.rx)} / ${humanSize(net.tx)}`,
    BlockIO: `${humanSize(blk.read)} / ${humanSize(blk.write)}`,
    PIDs: String(s.pids_stats.current ?? 0),
  };
}

/** `docker stats`' column names, by field. */
const HEADERS: Readonly<Record<string, string>> = {
  ID: 'CONTAINER ID',
  Container: 'CONTAINER',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};
const DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

function printRows(io: Io, rows: StatsRow[], format: string, clear: boolean): void {
  const text = formatList(format, rows.map((row) => formatContext('*container.statsContext', row)), HEADERS);
  io.stdout.write(`${clear ? '\x1b[2J\x1b[H' : ''}${text}`);
}

/**
 * Every container's first sample, as docker stats waits for them: any that could not be had
 * fails the command, each said on its own line in the order given, and nothing is shown.
 */
async function allOrErrors<T>(samples: Array<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(samples);
  const failed = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failed.length > 0) throw new CtrError(isCtrError(failed[0]) ? failed[0].code : 'Internal', failed.map(errorLine).join('\n'), { cause: failed[0] });
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}

const stats: Command = {
  name: 'stats',
  aliases: ['ctr container stats'],
  usage: '[OPTIONS] [CONTAINER...]',
  description: 'Display a live stream of container(s) resource usage statistics',
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
    { name: 'no-stream', type: 'bool', description: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', type: 'bool', description: 'Do not truncate output' },
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
  ],
  args: [0, Infinity],
  run: (args, io) => runStats(args, io),
};

/** docker stats (its RunStats): the containers named, else those `filters` select (compose stats passes its project's labels). */
export async function runStats(args: ParsedArgs, io: Io, filters?: Record<string, string[]>): Promise<number> {
  const engine = await getEngine();
  // Named as given, or (all of them) by short ID: docker's CONTAINER column.
  const refs = args.positionals.length > 0 ? args.positionals : (await engine.ps({ all: bool(args, 'all'), ...(filters ? { filters } : {}) })).map((c) => c.Id.slice(0, 12));
  const given = str(args, 'format') || 'table';
  const format = given === 'table' ? DEFAULT_FORMAT : given;
  const sample = async (previous: Map<string, ContainerStats>): Promise<StatsRow[]> =>
    allOrErrors(
      refs.map(async (ref) => {
        const before = previous.get(ref);
        let latest: ContainerStats | undefined;
        for await (const s of engine.stats(ref, { oneShot: before !== undefined })) latest = s;
        const current = latest as ContainerStats;
        const withPrevious = before ? { ...current, precpu_stats: before.cpu_stats } : current;
        previous.set(ref, current);
        const row = statsRow(withPrevious, ref);
        return bool(args, 'no-trunc') ? { ...row, ID: current.id } : row;
      }),
    );
  const previous = new Map<string, ContainerStats>();
  if (bool(args, 'no-stream')) {
    printRows(io, await sample(previous), format, false);
    return 0;
  }
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  try {
    while (!ac.signal.aborted) {
      printRows(io, await sample(previous), format, io.stdout.isTTY === true);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    process.off('SIGINT', stop);
  }
  return 0;
}

export const topStatsCommands: Command[] = [top, stats, port];
