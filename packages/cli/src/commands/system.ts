import type { Command } from '../command';
import { apiModule, currentEndpoint, getEngine, println } from '../context';
import { list, str } from '../flags';
import { formatItems, renderTemplate } from '../format';
import { filterFlag, parseFilters } from '../filter-flag';

const CLIENT_VERSION = '0.1.0';

const version: Command = {
  name: 'version',
  usage: '[OPTIONS]',
  description: 'Show the ctr version information',
  flags: [{ name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
  args: [0, 0],
  async run(args, io) {
    const engine = await getEngine();
    const server = await engine.version();
    const where = await currentEndpoint();
    const remote = where.kind === 'remote';
    // A daemon may speak an older API than this client; the client's own is what it would ask for.
    const apiVersion = remote ? apiModule().MAX_API_VERSION : server.ApiVersion;
    const client = { Version: CLIENT_VERSION, ApiVersion: apiVersion, Os: 'linux', Arch: server.Arch, GoVersion: server.GoVersion, Context: where.context };
    const format = str(args, 'format');
    if (format) {
      println(io, renderTemplate(format, { Client: client, Server: server }));
      return 0;
    }
    println(io, 'Client:');
    println(io, ` Version:           ${client.Version}`);
    println(io, ` API version:       ${client.ApiVersion}`);
    println(io, ` Node version:      ${process.versions.node}`);
    println(io, ` OS/Arch:           linux/${client.Arch}`);
    println(io, ` Context:           ${client.Context}`);
    println(io, '');
    println(io, remote ? `Server: ${where.host}` : 'Server: ctr (in-process, no daemon)');
    println(io, ' Engine:');
    println(io, `  Version:          ${server.Version}`);
    println(io, `  API version:      ${server.ApiVersion}`);
    println(io, `  OS/Arch:          ${server.Os || 'linux'}/${server.Arch}`);
    println(io, `  Kernel Version:   ${server.KernelVersion}`);
    if (!remote) println(io, ` runc / conmon:     from PATH`);
    return 0;
  },
};

const info: Command = {
  name: 'info',
  usage: '[OPTIONS]',
  description: 'Display system-wide information',
  flags: [{ name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
  args: [0, 0],
  async run(args, io) {
    const data = await (await getEngine()).info();
    const format = str(args, 'format');
    if (format) {
      println(io, renderTemplate(format, data));
      return 0;
    }
    println(io, 'Server:');
    println(io, ` Containers: ${data.Containers}`);
    println(io, `  Running: ${data.ContainersRunning}`);
    println(io, `  Paused: ${data.ContainersPaused}`);
    println(io, `  Stopped: ${data.ContainersStopped}`);
    println(io, ` Images: ${data.Images}`);
    println(io, ` Server Version: ${data.ServerVersion}`);
    println(io, ` Storage Driver: ${data.Driver}`);
    println(io, ` Cgroup Driver: ${data.CgroupDriver}`);
    println(io, ` Cgroup Version: ${data.CgroupVersion}`);
    println(io, ` Default Runtime: ${data.DefaultRuntime}`);
    println(io, ` Kernel Version: ${data.KernelVersion}`);
    println(io, ` Operating System: ${data.OperatingSystem}`);
    println(io, ` OSType: ${data.OSType}`);
    println(io, ` Architecture: ${data.Architecture}`);
    println(io, ` CPUs: ${data.NCPU}`);
    println(io, ` Total Memory: ${((data.MemTotal as number) / 1024 ** 3).toFixed(2)}GiB`);
    println(io, ` Name: ${data.Name}`);
    println(io, ` Docker Root Dir: ${data.DockerRootDir}`);
    return 0;
  },
};

const events: Command = {
  name: 'events',
  aliases: ['ctr system events'],
  usage: '[OPTIONS]',
  description: 'Get real time events from the server',
  flags: [
    filterFlag('Filter output based on conditions provided', { short: true }),
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
    { name: 'since', type: 'string', description: 'Show all events created since timestamp' },
    { name: 'until', type: 'string', description: 'Stream events until this timestamp' },
  ],
  args: [0, 0],
  async run(args, io) {
    const seconds = (text: string | undefined): number | undefined => {
      if (!text) return undefined;
      const rel = /^(\d+)(s|m|h)$/.exec(text);
      if (rel) return Date.now() / 1000 - Number(rel[1]) * { s: 1, m: 60, h: 3600 }[rel[2] as 's' | 'm' | 'h'];
      return /^\d+(\.\d+)?$/.test(text) ? Number(text) : new Date(text).getTime() / 1000;
    };
    const since = seconds(str(args, 'since'));
    const until = seconds(str(args, 'until'));
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    const format = str(args, 'format');
    try {
      for await (const e of (await getEngine()).events({
        filters: parseFilters(list(args, 'filter')),
        signal: ac.signal,
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      })) {
        if (format) {
          println(io, formatItems(format, [{ ...e, Status: e.Action, ID: e.Actor.ID, From: e.Actor.Attributes.image ?? '' }], {}));
          continue;
        }
        const attrs = Object.entries(e.Actor.Attributes).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(', ');
        const when = new Date(Math.floor(e.timeNano / 1e6)).toISOString().replace('Z', `${String(e.timeNano % 1e6).padStart(6, '0')}Z`);
        println(io, `${when} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ''}`);
      }
    } finally {
      process.off('SIGINT', stop);
    }
    return 0;
  },
};

export const systemCommands: Command[] = [version, info, events];
