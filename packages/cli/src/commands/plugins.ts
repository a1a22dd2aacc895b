import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { CtrError, goPathError, invalidArgument } from '@ctr/errors';
import type { PluginInspect, PluginPrivilege } from '@ctr/engine';
import { familiarName, familiarString, goJsonSyntaxError, parseNormalizedReference } from '@ctr/image';
import type { Command, Io } from '../command';
import { engineModule, getEngine, println, type CliEngine } from '../context';
import { ProgressView } from '../progress';
import { confirm } from '../prompt';
import { bool, list, num, str } from '../flags';
import { filterFlag, parseFilters } from '../filter-flag';
import { ellipsis, formatContext, formatList, naturalCompare, truncateId } from '../format';
import { forEachArg, inspectEach } from './each';

/**
 * docker's plugin create checks before it sends anything: the directory is one, and its
 * config.json opens and decodes (the daemon reads it again, as dockerd does).
 */
async function checkPluginDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const stat = await fs.lstat(abs).catch((error: unknown) => {
    throw invalidArgument(goPathError(error, abs));
  });
  if (!stat.isDirectory()) throw invalidArgument('context must be a directory');
  const config = path.join(abs, 'config.json');
  const text = await fs.readFile(config, 'utf8').catch((error: unknown) => {
    throw invalidArgument(goPathError(error, config));
  });
  // docker's decoder error, bare: Go's words for what is wrong.
  const syntax = goJsonSyntaxError(text);
  if (syntax !== undefined) throw invalidArgument(syntax);
  return abs;
}

const create: Command = {
  name: 'create',
  usage: '[OPTIONS] PLUGIN PLUGIN-DATA-DIR',
  description: 'Create a plugin from a rootfs and configuration. Plugin data directory must contain config.json and rootfs directory.',
  flags: [{ name: 'compress', type: 'bool', description: 'Compress the context using gzip' }],
  args: [2, 2],
  async run(args, io) {
    const [name, dir] = args.positionals as [string, string];
    const abs = await checkPluginDir(dir);
    // The whole directory goes, as docker's CLI sends it; the engine takes config.json and rootfs/ from it.
    const tree = engineModule().tarTree(abs, '');
    // zlib only when asked for: every ctr start loads this file.
    const tar: Readable = bool(args, 'compress') ? tree.pipe((require('node:zlib') as typeof import('node:zlib')).createGzip()) : tree;
    await (await getEngine()).createPlugin(name, tar);
    println(io, name);
    return 0;
  },
};

/** `docker plugin ls`' column names, by field. */
const PLUGIN_HEADERS: Readonly<Record<string, string>> = {
  ID: 'ID',
  Name: 'NAME',
  Description: 'DESCRIPTION',
  Enabled: 'ENABLED',
  PluginReference: 'PLUGIN REFERENCE',
};

/** What `docker plugin ls --format` sees of a plugin: docker's pluginContext (`truncate` cuts the ID and the description). */
function pluginContext(p: PluginInspect, truncate: boolean): object {
  const description = p.Config.Description.replace(/[\r\n]/g, '');
  return formatContext('*formatter.pluginContext', {
    ID: truncate ? truncateId(p.Id) : p.Id,
    Name: p.Name,
    Description: truncate ? ellipsis(description, 45) : description,
    Enabled: p.Enabled,
    PluginReference: p.PluginReference ?? '',
  });
}

/** docker's plugin NewFormat: -q changes only the default and raw formats. */
function pluginFormat(given: string, quiet: boolean): string {
  if (given === 'table') return quiet ? '{{.ID}}' : 'table {{.ID}}\t{{.Name}}\t{{.Description}}\t{{.Enabled}}';
  if (given === 'raw') return quiet ? 'plugin_id: {{.ID}}' : 'plugin_id: {{.ID}}\nname: {{.Name}}\ndescription: {{.Description}}\nenabled: {{.Enabled}}\n';
  return given;
}

const ls: Command = {
  name: 'ls',
  aliases: ['ctr plugin list'],
  usage: '[OPTIONS]',
  description: 'List plugins',
  flags: [
    filterFlag('Provide filter values (e.g. "enabled=true")', { short: true }),
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
    { name: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only display plugin IDs' },
  ],
  args: [0, 0],
  async run(args, io) {
    const plugins = await (await getEngine()).listPlugins({ filters: parseFilters(list(args, 'filter')) });
    const truncate = !bool(args, 'no-trunc');
    const format = pluginFormat(str(args, 'format') || 'table', bool(args, 'quiet'));
    const sorted = [...plugins].sort((a, b) => naturalCompare(a.Name, b.Name));
    io.stdout.write(formatList(format, sorted.map((p) => pluginContext(p, truncate)), PLUGIN_HEADERS));
    return 0;
  },
};

const inspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] PLUGIN [PLUGIN...]',
  description: 'Display detailed information on one or more plugins',
  flags: [{ name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    return inspectEach(args.positionals, io, str(args, 'format'), (name) => engine.inspectPlugin(name));
  },
};

const enable: Command = {
  name: 'enable',
  usage: '[OPTIONS] PLUGIN',
  description: 'Enable a plugin',
  flags: [{ name: 'timeout', type: 'number', description: 'HTTP client timeout (in seconds)', default: 30 }],
  args: [1, 1],
  async run(args, io) {
    const name = args.positionals[0] as string;
    const timeout = num(args, 'timeout') ?? 30;
    if (timeout < 0) throw invalidArgument(`negative timeout ${timeout} is invalid`);
    await (await getEngine()).enablePlugin(name, { timeout });
    println(io, name);
    return 0;
  },
};

const disable: Command = {
  name: 'disable',
  usage: '[OPTIONS] PLUGIN',
  description: 'Disable a plugin',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force the disable of an active plugin' }],
  args: [1, 1],
  async run(args, io) {
    const name = args.positionals[0] as string;
    await (await getEngine()).disablePlugin(name, { force: bool(args, 'force') });
    println(io, name);
    return 0;
  },
};

const rm: Command = {
  name: 'rm',
  aliases: ['ctr plugin remove'],
  usage: '[OPTIONS] PLUGIN [PLUGIN...]',
  description: 'Remove one or more plugins',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force the removal of an active plugin' }],
  args: [1, Infinity],
  async run(args, io) {
    const engine = await getEngine();
    // docker's joins the failures and says them after the names it removed.
    return forEachArg(args.positionals, io, (name) => engine.removePlugin(name, { force: bool(args, 'force') }), { errorsLast: true });
  },
};

const set: Command = {
  name: 'set',
  usage: 'PLUGIN KEY=VALUE [KEY=VALUE...]',
  description: 'Change settings for a plugin',
  flags: [],
  args: [2, Infinity],
  async run(args) {
    const [name, ...settings] = args.positionals as [string, ...string[]];
    await (await getEngine()).setPlugin(name, settings);
    return 0;
  },
};

/** A plugin name as docker's client takes it: tagged, and never a digest (`invalid name: …`). */
function localName(name: string): string {
  const ref = parseNormalizedReference(name);
  if (ref.digest) throw invalidArgument(`invalid name: ${name}`);
  return familiarString(ref);
}

const push: Command = {
  name: 'push',
  usage: '[OPTIONS] PLUGIN[:TAG]',
  description: 'Push a plugin to a registry',
  flags: [],
  args: [1, 1],
  async run(args, io) {
    const name = localName(args.positionals[0] as string);
    io.stdout.write(`The push refers to repository [${familiarName(parseNormalizedReference(name))}]\n`);
    const view = new ProgressView(io.stdout);
    await (await getEngine()).pushPlugin(name, { onProgress: (event) => view.update(event) });
    return 0;
  },
};

const grantFlag = { name: 'grant-all-permissions', type: 'bool' as const, description: 'Grant all permissions necessary to run the plugin' };

/**
 * What the user grants `remote`, asked as docker's client asks it: every privilege the
 * daemon lists, then "Do you grant the above permissions?" on stdin (no answer is no) —
 * unless granted beforehand, or there is nothing to grant.
 */
async function grantedPrivileges(engine: CliEngine, io: Io, remote: string, grantAll: boolean): Promise<PluginPrivilege[]> {
  const privileges = await engine.pluginPrivileges(remote);
  if (grantAll || privileges.length === 0) return privileges;
  println(io, `Plugin ${JSON.stringify(remote)} is requesting the following privileges:`);
  for (const p of privileges) println(io, ` - ${p.Name}: [${p.Value.join(' ')}]`);
  if (!(await confirm(io, 'Do you grant the above permissions?'))) throw new CtrError('Denied', `permission denied while installing plugin ${remote}`);
  return privileges;
}

/** A plugin pull's progress as docker's client shows it: where from, then each layer. */
function pullView(io: Io, remote: string): (event: { id: string; status: string; kind: string; current?: number; total?: number }) => void {
  const ref = parseNormalizedReference(remote);
  io.stdout.write(`${ref.tag ?? ref.digest}: Pulling from ${familiarName(ref)}\n`);
  const view = new ProgressView(io.stdout);
  return (event) => {
    if (event.kind === 'layer') view.update(event);
  };
}

const install: Command = {
  name: 'install',
  usage: '[OPTIONS] PLUGIN [KEY=VALUE...]',
  description: 'Install a plugin',
  flags: [
    { name: 'alias', type: 'string', description: 'Local name for plugin' },
    { name: 'disable', type: 'bool', description: 'Do not enable the plugin on install' },
    grantFlag,
  ],
  args: [1, Infinity],
  async run(args, io) {
    const [remote, ...settings] = args.positionals as [string, ...string[]];
    const alias = str(args, 'alias');
    const name = alias ? localName(alias) : undefined;
    parseNormalizedReference(remote);
    const engine = await getEngine();
    const privileges = await grantedPrivileges(engine, io, remote, bool(args, 'grant-all-permissions'));
    // As docker's client: pull, then set, then enable, each its own request.
    const pulled = await engine.pullPlugin(remote, { privileges, ...(name ? { name } : {}), onProgress: pullView(io, remote) });
    if (settings.length > 0) await engine.setPlugin(pulled.Name, settings);
    if (!bool(args, 'disable')) await engine.enablePlugin(pulled.Name, { timeout: 0 });
    println(io, `Installed plugin ${remote}`);
    return 0;
  },
};

const upgrade: Command = {
  name: 'upgrade',
  usage: '[OPTIONS] PLUGIN [REMOTE]',
  description: 'Upgrade an existing plugin',
  flags: [grantFlag, { name: 'skip-remote-check', type: 'bool', description: 'Do not check if specified remote plugin matches existing plugin image' }],
  args: [1, 2],
  async run(args, io) {
    const engine = await getEngine();
    let plugin: PluginInspect;
    try {
      plugin = await engine.inspectPlugin(args.positionals[0] as string);
    } catch (error) {
      throw invalidArgument(`error reading plugin data: ${(error as Error).message}`, { cause: error });
    }
    if (plugin.Enabled) throw invalidArgument('the plugin must be disabled before upgrading');
    const remote = (args.positionals[1] as string | undefined) || plugin.PluginReference || plugin.Name;
    const next = familiarString(parseNormalizedReference(remote));
    const old = familiarString(parseNormalizedReference(plugin.PluginReference || plugin.Name));
    println(io, `Upgrading plugin ${plugin.Name} from ${old} to ${next}`);
    if (!bool(args, 'skip-remote-check') && next !== old && !(await confirm(io, 'Plugin images do not match, are you sure?'))) {
      throw new CtrError('Aborted', 'plugin upgrade has been cancelled');
    }
    const privileges = await grantedPrivileges(engine, io, remote, bool(args, 'grant-all-permissions'));
    await engine.upgradePlugin(plugin.Name, remote, { privileges, onProgress: pullView(io, remote) });
    println(io, `Upgraded plugin ${plugin.Name} to ${remote}`);
    return 0;
  },
};

export const pluginCommands: Command[] = [create, disable, enable, inspect, install, ls, push, rm, set, upgrade];
