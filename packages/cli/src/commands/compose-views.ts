import { writeFile } from 'node:fs/promises';
import type { ComposeContainer, ComposeProject } from '@ctr/compose';
import { invalidArgument } from '@ctr/errors';
import type { Command } from '../command';
import { getEngine } from '../context';
import { filterFlag, parseFilters } from '../filter-flag';
import { bool, list, num, str, type ParsedArgs } from '../flags';
import { commandColumn, formatContext, formatList, goUnixTime, humanSize, labelMethod, tabwrite, truncateId } from '../format';
import { composeLibrary, noSuchService, untilInterrupted, type ComposeSession } from './compose-cli';
import { logPrinter, shortName } from './compose-output';
import { CONTAINER_HEADERS } from './containers';

/** docker compose's ps, ls, logs, config, images, top, port and version. */

/** compose's default `ps` table (its NewContainerFormat). */
const PS_TABLE = 'table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}';

/** docker ps's column names, and compose's own columns. */
const PS_HEADERS: Readonly<Record<string, string>> = { ...CONTAINER_HEADERS, Name: 'NAME', Project: 'PROJECT', Service: 'SERVICE' };

/**
 * `k=v,k=v` back into labels. A value may hold commas itself (config_files is comma-joined):
 * a piece with no `=` belongs to the value before it.
 */
function parseLabels(joined: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let last: string | undefined;
  for (const piece of joined ? joined.split(',') : []) {
    const eq = piece.indexOf('=');
    if (eq === -1 && last !== undefined) labels[last] += `,${piece}`;
    else if (eq !== -1) labels[(last = piece.slice(0, eq))] = piece.slice(eq + 1);
  }
  return labels;
}

/** A container's command as run: the library's row has it quoted already, as compose's JSON shows it. */
function rawCommand(command: string): string {
  if (!command.startsWith('"')) return command;
  try {
    return JSON.parse(command) as string;
  } catch {
    return command;
  }
}

/** What `ps --format` sees of a container: compose's ContainerContext (ID and command cut short unless `--no-trunc`). */
function containerContext(c: ComposeContainer, trunc: boolean): object {
  return formatContext('*formatter.ContainerContext', {
    ID: trunc ? truncateId(c.ID) : c.ID,
    Name: c.Name,
    Names: c.Names,
    Service: c.Service,
    Project: c.Project,
    Image: c.Image,
    Command: commandColumn(rawCommand(c.Command), trunc),
    CreatedAt: goUnixTime(c.Created),
    RunningFor: c.RunningFor,
    ExitCode: c.ExitCode,
    State: c.State,
    Status: c.Status,
    Health: c.Health,
    Publishers: c.Publishers,
    Ports: c.Ports,
    Labels: c.Labels,
    Label: labelMethod(parseLabels(c.Labels)),
    LocalVolumes: c.LocalVolumes,
    Mounts: c.Mounts,
    Networks: c.Networks,
    Size: c.Size,
  });
}

function ps(session: ComposeSession): Command {
  return {
    name: 'ps',
    usage: '[OPTIONS] [SERVICE...]',
    description: 'List containers',
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Show all stopped containers (including those created by the run command)' },
      { name: 'filter', type: 'string', description: 'Filter services by a property (supported filters: status)' },
      {
        name: 'format',
        type: 'string',
        description:
          "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates",
      },
      { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
      { name: 'orphans', type: 'bool', description: 'Include orphaned services (not declared by project)', default: true },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
      { name: 'services', type: 'bool', description: 'Display services' },
      { name: 'status', type: 'list', valueName: 'stringArray', description: 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]' },
    ],
    async run(args, io) {
      const status = [...list(args, 'status')];
      const filter = str(args, 'filter');
      if (filter) {
        const eq = filter.indexOf('=');
        if (eq === -1) throw invalidArgument('arguments to --filter should be in form KEY=VAL');
        if (filter.slice(0, eq) !== 'status') throw invalidArgument(`unknown filter ${filter.slice(0, eq)}`);
        status.push(filter.slice(eq + 1));
      }
      const named = args.positionals;
      const project = await session.loadOrName(named);
      const declared = Object.keys(project.services);
      const services = named.length > 0 ? named : args.flags.orphans === false ? declared : [];
      const compose = await session.compose(project);
      const containers = await compose.ps({ ...(services.length ? { services } : {}), all: bool(args, 'all') || status.length > 0, ...(status.length ? { status } : {}) });
      containers.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
      if (bool(args, 'quiet')) {
        io.stdout.write(containers.map((c) => `${c.ID}\n`).join(''));
        return 0;
      }
      if (bool(args, 'services')) {
        io.stdout.write(`${[...new Set(containers.map((c) => c.Service))].join('\n')}\n`);
        return 0;
      }
      const format = str(args, 'format') || 'table';
      const trunc = !bool(args, 'no-trunc');
      io.stdout.write(formatList(format === 'table' ? PS_TABLE : format, containers.map((c) => containerContext(c, trunc)), PS_HEADERS));
      return 0;
    },
  };
}

/** compose's formatter.Print: `table` (its pretty section, tabwriter 20/1/3) or `json` (the whole list, one line). */
function printList(format: string, items: readonly object[], headers: readonly string[], row: (item: never) => readonly string[]): string {
  switch (format.toLowerCase()) {
    case '':
    case 'table':
    case 'pretty':
      return tabwrite(`${[headers, ...items.map((item) => row(item as never))].map((cells) => `${cells.join('\t')}\n`).join('')}`, 20, 3);
    case 'json':
      return `${JSON.stringify(items)}\n`;
    default:
      throw invalidArgument(`format value ${JSON.stringify(format)} could not be parsed: parsing failed`);
  }
}

function ls(): Command {
  return {
    name: 'ls',
    usage: '[OPTIONS]',
    description: 'List running compose projects',
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Show all stopped Compose projects' },
      filterFlag('Filter output based on conditions provided'),
      { name: 'format', type: 'string', description: 'Format the output. Values: [table | json]', default: 'table' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only display project names' },
    ],
    args: [0, 0],
    async run(args, io) {
      const filters = parseFilters(list(args, 'filter'));
      for (const key of Object.keys(filters)) if (key !== 'name') throw invalidArgument(`invalid filter '${key}'`);
      const projects = await composeLibrary().listProjects(await getEngine(), { all: bool(args, 'all') });
      // docker's filters match a name as a regular expression.
      const names = (filters.name ?? []).map((pattern) => new RegExp(pattern));
      const shown = projects.filter((p) => names.length === 0 || names.some((pattern) => pattern.test(p.Name)));
      if (bool(args, 'quiet')) {
        io.stdout.write(shown.map((p) => `${p.Name}\n`).join(''));
        return 0;
      }
      const view = shown.map(({ Name, Status, ConfigFiles }) => ({ Name, Status, ConfigFiles }));
      io.stdout.write(printList(str(args, 'format') ?? 'table', view, ['NAME', 'STATUS', 'CONFIG FILES'], (p: (typeof view)[number]) => [p.Name, p.Status, p.ConfigFiles]));
      return 0;
    },
  };
}

/** `--tail`: a count, or (anything else, as docker's API takes it) all. */
function tailOf(value: string): number | 'all' {
  return /^\d+$/.test(value) ? Number(value) : 'all';
}

function logs(session: ComposeSession): Command {
  return {
    name: 'logs',
    usage: '[OPTIONS] [SERVICE...]',
    description: 'View output from containers',
    flags: [
      { name: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
      { name: 'index', type: 'number', description: 'index of the container if service has multiple replicas' },
      { name: 'no-color', type: 'bool', description: 'Produce monochrome output' },
      { name: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" },
      { name: 'since', type: 'string', description: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
      { name: 'tail', short: 'n', type: 'string', description: 'Number of lines to show from the end of the logs for each container', default: 'all' },
      { name: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
      { name: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
    ],
    async run(args, io) {
      const services = args.positionals;
      const index = num(args, 'index');
      if (index !== undefined && services.length !== 1) throw invalidArgument('--index requires one service to be selected');
      const project = await session.loadOrName(services);
      const compose = await session.compose(project);
      const printer = logPrinter(args, io, session.globals.ansi);
      const since = str(args, 'since');
      const until = str(args, 'until');
      return untilInterrupted(async (signal) => {
        try {
          const lines = compose.logs({
            ...(services.length ? { services } : {}),
            follow: bool(args, 'follow'),
            tail: tailOf(str(args, 'tail') ?? 'all'),
            timestamps: bool(args, 'timestamps'),
            ...(since ? { since } : {}),
            ...(until ? { until } : {}),
            ...(index !== undefined ? { index } : {}),
            signal,
          });
          for await (const line of lines) printer.line(shortName(project.name, line.container), line.stream, line.line, line.timestamp);
        } catch (error) {
          if (!signal.aborted) throw error;
        }
        return signal.aborted ? 130 : 0;
      });
    },
  };
}

/** Names, one a line, in Go's sorted order. */
const lines = (names: Iterable<string>): string => [...new Set(names)].sort().map((name) => `${name}\n`).join('');

function config(session: ComposeSession): Command {
  return {
    name: 'config',
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Parse, resolve and render compose file in canonical format',
    flags: [
      { name: 'format', type: 'string', description: 'Format the output. Values: [yaml | json]', default: 'yaml' },
      { name: 'hash', type: 'string', description: 'Print the service config hash, one per line.' },
      { name: 'images', type: 'bool', description: 'Print the image names, one per line.' },
      { name: 'networks', type: 'bool', description: 'Print the network names, one per line.' },
      { name: 'no-interpolate', type: 'bool', description: "Don't interpolate environment variables" },
      { name: 'output', short: 'o', type: 'string', description: 'Save to file (default to stdout)' },
      { name: 'profiles', type: 'bool', description: 'Print the profile names, one per line.' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only validate the configuration, don\'t print anything' },
      { name: 'services', type: 'bool', description: 'Print the service names, one per line.' },
      { name: 'volumes', type: 'bool', description: 'Print the volume names, one per line.' },
    ],
    async run(args, io) {
      const format = str(args, 'format') ?? 'yaml';
      if (format !== 'yaml' && format !== 'json') throw invalidArgument(`unsupported format ${JSON.stringify(format)}`);
      const services = args.positionals;
      const project = await session.load(services, { interpolate: !bool(args, 'no-interpolate') });
      const text = configText(project, args, format, services);
      if (bool(args, 'quiet')) return 0;
      const output = str(args, 'output');
      if (output) await writeFile(output, text);
      else io.stdout.write(text);
      return 0;
    },
  };
}

/** What `config` prints: one of its listings, or the project in canonical form. */
function configText(project: ComposeProject, args: ParsedArgs, format: 'yaml' | 'json', services: readonly string[]): string {
  const library = composeLibrary();
  if (bool(args, 'services')) return lines(Object.keys(project.services));
  if (bool(args, 'volumes')) return lines(Object.keys(project.volumes));
  if (bool(args, 'networks')) return lines(Object.keys(project.networks));
  if (bool(args, 'profiles')) return lines([...Object.values(project.services), ...Object.values(project.disabled_services)].flatMap((s) => s.profiles ?? []));
  if (bool(args, 'images')) return lines(Object.values(project.services).map((service) => library.serviceImage(project, service)));
  const hash = str(args, 'hash');
  if (hash !== undefined) {
    const wanted = hash === '*' ? Object.keys(project.services) : hash.split(',');
    return wanted
      .map((name) => {
        const service = project.services[name];
        if (!service) throw noSuchService(name);
        return `${name} ${library.configHash(project, service)}\n`;
      })
      .join('');
  }
  return library.projectConfig(project, { format, ...(services.length ? { services: [...services] } : {}) });
}

function images(session: ComposeSession): Command {
  return {
    name: 'images',
    usage: '[OPTIONS] [SERVICE...]',
    description: 'List images used by the created containers',
    flags: [
      { name: 'format', type: 'string', description: 'Format the output. Values: [table | json]', default: 'table' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
    ],
    async run(args, io) {
      const services = args.positionals;
      const compose = await session.compose(await session.loadOrName(services));
      const rows = await compose.images(services.length ? { services } : {});
      if (bool(args, 'quiet')) {
        io.stdout.write(lines(rows.map((row) => row.ID.slice(row.ID.indexOf(':') + 1))));
        return 0;
      }
      rows.sort((a, b) => (a.Container < b.Container ? -1 : a.Container > b.Container ? 1 : 0));
      io.stdout.write(
        printList(str(args, 'format') ?? 'table', rows, ['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], (row: (typeof rows)[number]) => [
          row.Container,
          row.Repository || '<none>',
          row.Tag || '<none>',
          truncateId(row.ID),
          humanSize(row.Size, 3),
        ]),
      );
      return 0;
    },
  };
}

function top(session: ComposeSession): Command {
  return {
    name: 'top',
    usage: '[SERVICES...]',
    description: 'Display the running processes',
    flags: [],
    async run(args, io) {
      const services = args.positionals;
      const compose = await session.compose(await session.loadOrName(services));
      const rows = await compose.top(services.length ? { services } : {});
      rows.sort((a, b) => (a.container < b.container ? -1 : 1));
      for (const row of rows) {
        const table = [row.titles, ...row.processes].map((cells) => `${cells.join('\t')}\n`).join('');
        io.stdout.write(`${row.container}\n${tabwrite(table, 5, 3)}\n`);
      }
      return 0;
    },
  };
}

function port(session: ComposeSession): Command {
  return {
    name: 'port',
    usage: '[OPTIONS] SERVICE PRIVATE_PORT',
    description: 'Print the public port for a port binding',
    flags: [
      { name: 'index', type: 'number', description: 'Index of the container if service has multiple replicas' },
      { name: 'protocol', type: 'string', description: 'tcp or udp', default: 'tcp' },
    ],
    args: [2, 2],
    async run(args, io) {
      const [service, privatePort] = args.positionals as [string, string];
      if (!/^\d+$/.test(privatePort)) throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(privatePort)}: invalid syntax`);
      const protocol = str(args, 'protocol') ?? 'tcp';
      if (protocol !== 'tcp' && protocol !== 'udp') throw invalidArgument(`invalid protocol ${JSON.stringify(protocol)}: expected "tcp" or "udp"`);
      const index = num(args, 'index');
      const compose = await session.compose(await session.loadOrName([service]));
      const published = await compose.port(service, Number(privatePort), { protocol, ...(index ? { index } : {}) });
      io.stdout.write(`${published}\n`);
      return 0;
    },
  };
}

function version(): Command {
  return {
    name: 'version',
    usage: '[OPTIONS]',
    description: 'Show the Docker Compose version information',
    flags: [
      { name: 'format', short: 'f', type: 'string', description: 'Format the output. Values: [pretty | json]. (Default: pretty)' },
      { name: 'short', type: 'bool', description: 'Shows only Compose\'s version number' },
    ],
    args: [0, 0],
    async run(args, io) {
      const { COMPOSE_VERSION } = composeLibrary();
      if (bool(args, 'short')) io.stdout.write(`${COMPOSE_VERSION}\n`);
      else if (str(args, 'format') === 'json') io.stdout.write(`${JSON.stringify({ version: `v${COMPOSE_VERSION}` })}\n`);
      else io.stdout.write(`Docker Compose version v${COMPOSE_VERSION}\n`);
      return 0;
    },
  };
}

export function viewCommands(session: ComposeSession): Command[] {
  return [ps(session), ls(), logs(session), config(session), images(session), top(session), port(session), version()];
}
