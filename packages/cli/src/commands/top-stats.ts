import type { ContainerStats } from '@ctr/engine';
import { notFound } from '@ctr/errors';
import type { Command, Io } from '../command';
import { getEngine, println } from '../context';
import { bool, str } from '../flags';
import { formatItems, humanSize, renderTable } from '../format';

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
    println(io, renderTable([result.Titles, ...result.Processes]));
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
    const published = Object.entries(info.NetworkSettings.Ports).flatMap(([port, bindings]) => (bindings ?? []).map((b) => ({ port, host: `${b.HostIp || '0.0.0.0'}:${b.HostPort}` })));
    if (wanted === undefined) {
      for (const { port: p, host } of published) println(io, `${p} -> ${host}`);
      return 0;
    }
    const key = wanted.includes('/') ? wanted : `${wanted}/tcp`;
    const hosts = published.filter((p) => p.port === key).map((p) => p.host);
    if (hosts.length === 0) throw notFound(`No public port '${key}' published for ${container}`);
    for (const host of hosts) println(io, host);
    return 0;
  },
};

/** go-units BytesSize: binary units, "1.5MiB". */
function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(2))}${units[unit]}`;
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

const HEADERS = { ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' };
const DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

function printRows(io: Io, rows: StatsRow[], format: string | undefined, clear: boolean): void {
  const text = formatItems(format ?? DEFAULT_FORMAT, rows, HEADERS);
  io.stdout.write(`${clear ? '\x1b[2J\x1b[H' : ''}${text}\n`);
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
  async run(args, io) {
    const engine = await getEngine();
    const refs = args.positionals.length > 0 ? args.positionals : (await engine.ps({ all: bool(args, 'all') })).map((c) => c.Id);
    const format = str(args, 'format');
    const sample = async (previous: Map<string, ContainerStats>): Promise<StatsRow[]> =>
      Promise.all(
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
  },
};

export const topStatsCommands: Command[] = [top, stats, port];
