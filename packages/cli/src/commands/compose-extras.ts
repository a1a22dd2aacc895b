import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ComposeEvent } from '@ctr/compose';
import { invalidArgument, isNotFound } from '@ctr/errors';
import { goLocalClock } from '@ctr/image';
import type { Command, Io } from '../command';
import { engineModule, println } from '../context';
import { bool, list, num, str, type FlagSpec } from '../flags';
import { rfc3339 } from '../format';
import { composeLibrary, untilInterrupted, type ComposeSession } from './compose-cli';
import { copyIn, copyOut, sourceMissing } from './container-files';
import { attach as containerAttach } from './containers';
import { runStats } from './top-stats';

/** docker compose's wait, cp, events, attach, scale, stats, commit and export. */

const indexFlag: FlagSpec = { name: 'index', type: 'number', description: 'index of the container if service has multiple replicas.' };

function wait(session: ComposeSession): Command {
  return {
    name: 'wait',
    usage: 'SERVICE [SERVICE...] [OPTIONS]',
    description: 'Block until containers of all (or specified) services stop.',
    flags: [{ name: 'down-project', type: 'bool', description: 'Drops project when the first container stops' }],
    args: [1, Infinity],
    async run(args, io) {
      const services = args.positionals;
      const compose = await session.compose(await session.loadOrName(services));
      const onExit = (container: { id: string }, exitCode: number): void => println(io, `container ${JSON.stringify(container.id)} exited with status code ${exitCode}`);
      if (!bool(args, 'down-project')) return compose.wait({ services, onExit });
      return session.withProgress((view) => compose.wait({ services, onExit, downProject: true, onProgress: view.update }));
    },
  };
}

/** compose's splitCpArg: `SERVICE:PATH`, unless the argument is an absolute path or starts with a `.`. */
function serviceAndPath(arg: string): { service: string; path: string } | undefined {
  const colon = arg.indexOf(':');
  if (arg.startsWith('/') || colon === -1 || arg.startsWith('.')) return undefined;
  return { service: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** Where `ctr cp`'s report of a copy goes when compose's progress says it instead. */
const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, done): void {
      done();
    },
  });

/**
 * compose's cp into a container under its dry-run client: the destination stat-ed for real (a
 * path not there yet would be made by the copy, a container not there is refused) and the local
 * source (stdin's `-` aside) looked for, as `copyIn` does before its pretended write.
 */
async function dryCopyIn(engine: Pick<Awaited<ReturnType<ComposeSession['engine']>>, 'statPath'>, source: string, to: { container: string; path: string }): Promise<void> {
  await engine.statPath(to.container, to.path).catch((error: unknown) => {
    if (!isNotFound(error)) throw error;
  });
  if (source !== '-' && !(await stat(source).catch(() => undefined))) throw await sourceMissing(source);
}

function cp(session: ComposeSession): Command {
  return {
    name: 'cp',
    usage: '[OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tctr compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH',
    description: 'Copy files/folders between a service container and the local filesystem',
    flags: [
      { name: 'all', type: 'bool', description: 'Include containers created by the run command' },
      { name: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
      { name: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
      { ...indexFlag, description: 'Index of the container if service has multiple replicas' },
    ],
    args: [2, 2],
    async run(args, io) {
      const [source, destination] = args.positionals as [string, string];
      if (source === '') throw invalidArgument('source can not be empty');
      if (destination === '') throw invalidArgument('destination can not be empty');
      const from = serviceAndPath(source);
      const to = serviceAndPath(destination);
      if (from && to) throw invalidArgument('copying between services is not supported');
      if (!from && !to) throw invalidArgument('unknown copy direction');
      const target = (from ?? to) as { service: string; path: string };
      const compose = await session.compose(await session.loadOrName());
      const index = num(args, 'index');
      const containers = await compose.copyTargets(target.service, { direction: from ? 'from' : 'to', all: bool(args, 'all'), ...(index ? { index } : {}) });
      const quiet: Io = { ...io, stderr: discard() };
      const follow = bool(args, 'follow-link');
      const engine = await session.engine();
      await session.withProgress(async (view) => {
        for (const container of containers) {
          const name = container.Names[0]?.replace(/^\//, '') ?? container.Id;
          view.update({ resource: 'Container', name, status: 'Copying', done: false });
          if (session.globals.dryRun) {
            // A dry run copies nothing; as compose's, it still checks what the copy would read and where it would write.
            if (from) await engine.statPath(container.Id, from.path);
            else await dryCopyIn(engine, source, { container: container.Id, path: target.path });
          } else if (from) await copyOut({ container: container.Id, path: from.path }, destination, quiet, bool(args, 'archive'), follow);
          else await copyIn(source, { container: container.Id, path: target.path }, quiet, follow);
          view.update({ resource: 'Container', name, status: 'Copied', done: true });
        }
      });
      return 0;
    },
  };
}

/** An event's time as compose's text shows it: the local clock, to the microsecond. */
function eventClock(timeNano: bigint): string {
  const { day, time } = goLocalClock(new Date(Number(timeNano / 1_000_000n)));
  return `${day} ${time}.${String(timeNano % 1_000_000_000n).padStart(9, '0').slice(0, 6)}`;
}

/** An event as compose prints it: its api.Event's String() (which ends in a newline of its own, so a blank line follows), or with `--json` one object a line, keys sorted as Go writes a map. */
function eventText(event: ComposeEvent, json: boolean): string {
  if (json) {
    const fraction = String(event.timeNano % 1_000_000_000n).padStart(9, '0').replace(/0+$/, '');
    const time = rfc3339(Number(event.timeNano / 1_000_000_000n), fraction ? `.${fraction}` : '');
    const attributes = Object.fromEntries(Object.entries(event.attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
    return `${JSON.stringify({ action: event.action, attributes, id: event.container, service: event.service, time, type: 'container' })}\n`;
  }
  const attributes = Object.entries(event.attributes)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
  return `${eventClock(event.timeNano)} container ${event.action} ${event.container} (${attributes})\n\n`;
}

function events(session: ComposeSession): Command {
  return {
    name: 'events',
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Receive real time events from containers',
    flags: [
      { name: 'json', type: 'bool', description: 'Output events as a stream of json objects' },
      { name: 'since', type: 'string', description: 'Show all events created since timestamp' },
      { name: 'until', type: 'string', description: 'Stream events until this timestamp' },
    ],
    async run(args, io) {
      const services = args.positionals;
      // As docker's client reads them (timetypes.GetTimestamp), as `ctr events` does.
      const seconds = (text: string | undefined): number | undefined => (text ? engineModule().parseTimestamp(text) / 1000 : undefined);
      const since = seconds(str(args, 'since'));
      const until = seconds(str(args, 'until'));
      const compose = await session.compose(await session.loadOrName(services));
      const json = bool(args, 'json');
      await untilInterrupted(async (signal) => {
        const stream = compose.events({ ...(services.length ? { services } : {}), ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), signal });
        for await (const event of stream) io.stdout.write(eventText(event, json));
      });
      return 0;
    },
  };
}

function attach(session: ComposeSession): Command {
  return {
    name: 'attach',
    usage: '[OPTIONS] SERVICE',
    description: "Attach local standard input, output, and error streams to a service's running container",
    flags: [indexFlag, ...containerAttach.flags],
    args: [1, 1],
    async run(args, io) {
      const service = args.positionals[0] as string;
      const index = num(args, 'index');
      const compose = await session.compose(await session.loadOrName([service]));
      // In a dry run the library's attach refuses, in compose's words: nothing runs to attach to.
      if (session.globals.dryRun) return compose.attach(service, index ? { index } : {}).then(() => 0);
      const container = await compose.replica(service, index ? { index } : {});
      // From here it is `ctr attach` on that container: its TTY, detach keys, signal proxy and exit code.
      return containerAttach.run({ ...args, positionals: [container.Id] }, io);
    },
  };
}

/** compose's parseServicesReplicasArgs: `SERVICE=N`, in its words when it is not. */
function replicas(specifiers: readonly string[]): Record<string, number> {
  const parsed: Record<string, number> = {};
  for (const specifier of specifiers) {
    const eq = specifier.indexOf('=');
    if (eq <= 0 || eq === specifier.length - 1) throw invalidArgument(`invalid scale specifier: ${specifier}`);
    const value = specifier.slice(eq + 1);
    if (!/^[+-]?\d+$/.test(value)) throw invalidArgument(`invalid scale specifier: can't parse replica value as int: ${specifier}`);
    parsed[specifier.slice(0, eq)] = Number(value);
  }
  return parsed;
}

function scale(session: ComposeSession): Command {
  return {
    name: 'scale',
    usage: '[SERVICE=REPLICAS...]',
    description: 'Scale services ',
    flags: [{ name: 'no-deps', type: 'bool', description: "Don't start linked services" }],
    args: [1, Infinity],
    async run(args) {
      const wanted = replicas(args.positionals);
      const compose = await session.compose(await session.load(Object.keys(wanted)));
      await session.withProgress((view) => compose.scale(wanted, { noDeps: bool(args, 'no-deps'), onProgress: view.update }));
      return 0;
    },
  };
}

function stats(session: ComposeSession): Command {
  return {
    name: 'stats',
    usage: '[OPTIONS] [SERVICE]',
    description: 'Display a live stream of container(s) resource usage statistics',
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
      {
        name: 'format',
        type: 'string',
        description:
          "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/engine/cli/formatting/ for more information about formatting output with templates",
      },
      { name: 'no-stream', type: 'bool', description: 'Disable streaming stats and only pull the first result' },
      { name: 'no-trunc', type: 'bool', description: 'Do not truncate output' },
    ],
    args: [0, 1],
    async run(args, io) {
      const { LABEL } = composeLibrary();
      const project = await session.loadOrName();
      const service = args.positionals[0];
      const label = [`${LABEL.project}=${project.name}`, ...(service !== undefined ? [`${LABEL.service}=${service}`] : [])];
      // `ctr stats` over the project's containers, as compose hands docker's RunStats its label filters.
      return runStats({ ...args, positionals: [] }, io, { label });
    },
  };
}

function commit(session: ComposeSession): Command {
  return {
    name: 'commit',
    usage: '[OPTIONS] SERVICE [REPOSITORY[:TAG]]',
    description: "Create a new image from a service container's changes",
    flags: [
      { name: 'author', short: 'a', type: 'string', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
      { name: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image' },
      indexFlag,
      { name: 'message', short: 'm', type: 'string', description: 'Commit message' },
      { name: 'pause', short: 'p', type: 'bool', description: 'Pause container during commit', default: true },
    ],
    args: [1, 2],
    async run(args) {
      const [service, reference] = args.positionals as [string, string | undefined];
      const index = num(args, 'index');
      const author = str(args, 'author');
      const comment = str(args, 'message');
      const compose = await session.compose(await session.loadOrName([service]));
      await session.withProgress((view) =>
        compose.commit(service, {
          changes: list(args, 'change'),
          pause: args.flags.pause !== false,
          onProgress: view.update,
          ...(index ? { index } : {}),
          ...(reference ? { reference } : {}),
          ...(author ? { author } : {}),
          ...(comment ? { comment } : {}),
        }),
      );
      return 0;
    },
  };
}

/** docker's ValidateOutputPath, as compose's export words its refusal: the file's directory must exist. */
async function checkOutputPath(output: string): Promise<void> {
  const directory = path.dirname(path.normalize(output));
  if (directory !== '.' && !(await stat(directory).catch(() => undefined))) throw invalidArgument(`failed to export container: invalid output path: directory ${JSON.stringify(directory)} does not exist`);
}

function exportCommand(session: ComposeSession): Command {
  return {
    name: 'export',
    usage: '[OPTIONS] SERVICE',
    description: "Export a service container's filesystem as a tar archive",
    flags: [indexFlag, { name: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' }],
    args: [1, 1],
    async run(args, io) {
      const service = args.positionals[0] as string;
      const output = str(args, 'output');
      const index = num(args, 'index');
      const compose = await session.compose(await session.loadOrName([service]));
      if (!output && io.stdout.isTTY) throw invalidArgument('output option is required when exporting to terminal');
      if (output) await checkOutputPath(output);
      const tar = await compose.export(service, index ? { index } : {});
      await pipeline(tar, output ? createWriteStream(output, { mode: 0o600 }) : io.stdout);
      return 0;
    },
  };
}

export function extraCommands(session: ComposeSession): Command[] {
  return [wait(session), cp(session), events(session), attach(session), scale(session), stats(session), commit(session), exportCommand(session)];
}
