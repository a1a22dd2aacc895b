import { createReadStream, createWriteStream, fstatSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CtrError, goErrnoWords, invalidArgument, isCtrError } from '@ctr/errors';
import type { Command, Io } from '../command';
import { eprintln, hostFlags, println } from '../context';
import { errorLine } from '../errors';
import { ContextStore, DEFAULT_CONTEXT, checkContextName, configDir, contextArchive, type ContextMeta, type EndpointTls } from '../context-store';
import { goParseBool } from '@ctr/image';
import { bool, str } from '../flags';
import { ellipsis, formatContext, formatInspect, formatItems, goJson, naturalCompare, printedAs } from '../format';
import { currentContext } from '../host';

function store(io: Io): ContextStore {
  return new ContextStore(configDir(io.env));
}

/**
 * The context commands go to, by name, as docker's resolveContextName: `--context`, else
 * `default` when `-H`, `$CTR_HOST` or `$DOCKER_HOST` names a daemon, else the current one.
 */
async function resolvedContext(contexts: ContextStore, io: Io): Promise<string> {
  const flags = hostFlags();
  if (flags.context) return flags.context;
  if (flags.host !== undefined || hostVariable(io)) return DEFAULT_CONTEXT;
  return currentContext(contexts, io.env);
}

/** The variable naming a daemon that overrides the current context, if one is set. */
function hostVariable(io: Io): 'CTR_HOST' | 'DOCKER_HOST' | undefined {
  return io.env.CTR_HOST ? 'CTR_HOST' : io.env.DOCKER_HOST ? 'DOCKER_HOST' : undefined;
}

/** The `default` context as docker shows it: the daemon `-H`, `$CTR_HOST` or `$DOCKER_HOST` names, else the engine in-process. */
function defaultContext(io: Io): { meta: ContextMeta; tls: EndpointTls } {
  const flag = hostFlags().host || undefined;
  const variable = hostVariable(io);
  const host = flag ?? (variable && io.env[variable]);
  // docker says DOCKER_HOST whether that or `-H` named the daemon; CTR_HOST is ctr's own variable.
  const named = flag === undefined && variable === 'CTR_HOST' ? 'CTR_HOST' : 'DOCKER_HOST';
  return {
    meta: {
      Name: DEFAULT_CONTEXT,
      Metadata: { Description: host ? `Current ${named} based configuration` : 'The engine in-process (no daemon)' },
      Endpoints: { docker: { Host: host ?? '', SkipTLSVerify: false } },
    },
    tls: {},
  };
}

const DOCKER_KEYS = ['host', 'ca', 'cert', 'key', 'skip-tls-verify'] as const;
type DockerKey = (typeof DOCKER_KEYS)[number];

/** `--docker "host=ssh://x,ca=ca.pem,skip-tls-verify=true"`: docker's comma-separated key=value list. */
function parseDockerSpec(spec: string): Partial<Record<DockerKey, string>> {
  const out: Partial<Record<DockerKey, string>> = {};
  for (const field of spec.split(',').filter((f) => f.trim() !== '')) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).trim();
    if (!(DOCKER_KEYS as readonly string[]).includes(key)) throw invalidArgument(`unable to create docker endpoint config: unrecognized config key: ${key}`);
    out[key as DockerKey] = eq === -1 ? '' : field.slice(eq + 1).trim();
  }
  return out;
}

/** docker's context `key=bool` (strconv.ParseBool, so an empty value is refused), its error in docker's words. */
function parseBool(text: string, key: string): boolean {
  const value = goParseBool(text);
  if (value === undefined) throw invalidArgument(`unable to create docker endpoint config: ${key}: parsing ${JSON.stringify(text)}: invalid syntax`);
  return value;
}

/** The endpoint and TLS files a `--docker` spec describes, over what the context had before. */
async function endpointFrom(spec: Partial<Record<DockerKey, string>>, before: { meta?: ContextMeta; tls: EndpointTls }): Promise<{ docker: ContextMeta['Endpoints']['docker']; tls: EndpointTls }> {
  const tls: EndpointTls = { ...before.tls };
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = spec[key];
    if (file === undefined) continue;
    if (file === '') delete tls[key];
    else tls[key] = await readFile(file).catch(() => Promise.reject(invalidArgument(`unable to create docker endpoint config: open ${file}: no such file or directory`)));
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw invalidArgument('unable to create docker endpoint config: cert and key must both be given');
  const host = spec.host ?? before.meta?.Endpoints.docker.Host ?? '';
  if (!host) throw invalidArgument('unable to create docker endpoint config: host is required (host=unix://…, tcp://…, ssh://…)');
  if (!/^(unix|tcp|ssh|https?):\/\//.test(host)) throw invalidArgument(`unable to create docker endpoint config: unsupported host ${JSON.stringify(host)}: use unix://, tcp:// or ssh://`);
  const skip = spec['skip-tls-verify'] !== undefined ? parseBool(spec['skip-tls-verify'], 'skip-tls-verify') : (before.meta?.Endpoints.docker.SkipTLSVerify ?? false);
  return { docker: { Host: host, SkipTLSVerify: skip }, tls };
}

const create: Command = {
  name: 'create',
  usage: '[OPTIONS] CONTEXT',
  description: 'Create a context',
  flags: [
    { name: 'description', type: 'string', description: 'Description of the context' },
    { name: 'docker', type: 'string', valueName: 'stringToString', description: 'set the docker endpoint (host=…,ca=…,cert=…,key=…,skip-tls-verify=…)' },
  ],
  args: [1, 1],
  async run(args, io) {
    const name = args.positionals[0] as string;
    checkContextName(name);
    const contexts = store(io);
    const { docker, tls } = await endpointFrom(parseDockerSpec(str(args, 'docker') ?? ''), { tls: {} });
    const description = str(args, 'description');
    await contexts.create({ Name: name, Metadata: description ? { Description: description } : {}, Endpoints: { docker } }, tls);
    println(io, name);
    eprintln(io, `Successfully created context "${name}"`);
    return 0;
  },
};

const update: Command = {
  name: 'update',
  usage: '[OPTIONS] CONTEXT',
  description: 'Update a context',
  flags: create.flags,
  args: [1, 1],
  async run(args, io) {
    const name = args.positionals[0] as string;
    checkContextName(name);
    const contexts = store(io);
    const before = await contexts.get(name);
    const spec = str(args, 'docker');
    const { docker, tls } = spec === undefined ? { docker: before.meta.Endpoints.docker, tls: before.tls } : await endpointFrom(parseDockerSpec(spec), before);
    const description = str(args, 'description');
    const metadata = description === undefined ? before.meta.Metadata : { ...before.meta.Metadata, Description: description };
    await contexts.write({ Name: name, Metadata: metadata, Endpoints: { docker } }, tls);
    println(io, name);
    eprintln(io, `Successfully updated context "${name}"`);
    return 0;
  },
};

const ls: Command = {
  name: 'ls',
  aliases: ['ctr context list'],
  usage: '[OPTIONS]',
  description: 'List contexts',
  flags: [
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Only show context names' },
  ],
  args: [0, 0],
  async run(args, io) {
    const contexts = store(io);
    const current = await resolvedContext(contexts, io);
    const rows = [defaultContext(io), ...(await contexts.list())].map(({ meta }) => ({ Name: meta.Name, Description: meta.Metadata.Description ?? '', DockerEndpoint: meta.Endpoints.docker.Host, Error: '' }));
    // As docker's: a current context that cannot be read (`--context` naming none) is listed still, with why.
    if (!rows.some((row) => row.Name === current)) {
      rows.push({ Name: current, Description: '', DockerEndpoint: '', Error: await contexts.get(current).then(() => '', (error: unknown) => (error as Error).message) });
    }
    rows.sort((a, b) => naturalCompare(a.Name, b.Name));
    const format = str(args, 'format');
    const template = bool(args, 'quiet') ? '{{.Name}}' : !format || format === 'table' ? 'table {{.Name}}{{if .Current}} *{{end}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}' : format;
    // docker's formatter cuts the error in every format, JSON too. Its context has an Error method:
    // it is a Go error, which `{{.}}` and printf's `%v` print as that (the cut error, often '').
    const items = rows.map((row) => {
      const error = ellipsis(row.Error, 45);
      return printedAs(formatContext('*formatter.clientContextContext', { ...row, Current: row.Name === current, Error: error }), () => error);
    });
    println(io, formatItems(template, items, { Name: 'NAME', Description: 'DESCRIPTION', DockerEndpoint: 'DOCKER ENDPOINT', Error: 'ERROR' }));
    const variable = hostVariable(io);
    if (variable) eprintln(io, `Warning: ${variable} environment variable overrides the active context. To use a context, either set the global --context flag, or unset ${variable} environment variable.`);
    return 0;
  },
};

const use: Command = {
  name: 'use',
  usage: 'CONTEXT',
  description: 'Set the current ctr context',
  flags: [],
  args: [1, 1],
  async run(args, io) {
    const name = args.positionals[0] as string;
    const contexts = store(io);
    // docker reads the context's metadata, not only looks for it: one it cannot read is refused in the store's words.
    if (name !== DEFAULT_CONTEXT) {
      checkContextName(name);
      await contexts.get(name);
    }
    await contexts.setCurrent(name);
    println(io, name);
    eprintln(io, `Current context is now "${name}"`);
    const overridden = hostVariable(io);
    if (overridden && name !== DEFAULT_CONTEXT) {
      eprintln(io, `Warning: ${overridden} environment variable overrides the active context. To use "${name}", either set the global --context flag, or unset ${overridden} environment variable.`);
    }
    return 0;
  },
};

const show: Command = {
  name: 'show',
  usage: '',
  description: 'Print the name of the current context',
  flags: [],
  args: [0, 0],
  async run(_args, io) {
    println(io, await resolvedContext(store(io), io));
    return 0;
  },
};

/**
 * What docker's `context inspect` shows of a context, its contextWithTLSListing: a store.Metadata
 * embedded, so `.Name` and `.Endpoints` are the embedded struct's fields but `.Metadata` is the
 * embedded struct itself (Go's shallower field wins), and its JSON is flattened.
 */
function inspectItem(c: { meta: ContextMeta; tls: EndpointTls; metaPath?: string; tlsPath?: string }): object {
  const files = (['ca', 'cert', 'key'] as const).filter((f) => c.tls[f]).map((f) => `${f}.pem`);
  const { Description = '', ...additional } = c.meta.Metadata;
  // store.Metadata holds its Metadata and each endpoint as interface{}s: Go's template errors name that type, not the one held.
  const dockerContext = formatContext(
    'interface {}',
    { Description, AdditionalFields: additional },
    // docker's DockerContext marshals itself as a map with json.Marshal: keys sorted, HTML escaped, an empty description left out.
    () => formatContext('map[string]interface {}', { ...(Description ? { Description } : {}), ...additional }),
    ['Description', 'AdditionalFields'],
  );
  const { docker } = c.meta.Endpoints;
  const Endpoints = { docker: formatContext('interface {}', { ...docker }, undefined, ['Host', 'SkipTLSVerify']) };
  const Name = c.meta.Name;
  const metadata = formatContext('store.Metadata', { Name, Metadata: dockerContext, Endpoints }, undefined, ['Name', 'Metadata', 'Endpoints']);
  const TLSMaterial = files.length > 0 ? { docker: formatContext('store.EndpointFiles', files) } : {};
  const Storage = formatContext('store.StorageInfo', { MetadataPath: c.metaPath ?? '<IN MEMORY>', TLSPath: c.tlsPath ?? '<IN MEMORY>' }, undefined, ['MetadataPath', 'TLSPath']);
  return formatContext(
    'context.contextWithTLSListing',
    { Name, Metadata: metadata, Endpoints, TLSMaterial, Storage },
    () => ({ Name, Metadata: dockerContext, Endpoints, TLSMaterial, Storage }),
    ['Metadata', 'TLSMaterial', 'Storage'],
  );
}

const inspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] [CONTEXT] [CONTEXT...]',
  description: 'Display detailed information on one or more contexts',
  flags: [{ name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
  args: [0, Infinity],
  async run(args, io) {
    const contexts = store(io);
    const names = args.positionals.length > 0 ? args.positionals : [await resolvedContext(contexts, io)];
    const format = str(args, 'format');
    const template = format && format !== 'json' ? format : undefined;
    // A template that does not parse fails before any context is read (formatInspect's exit 64).
    if (template) formatInspect(template, []);
    // As docker's inspect.Inspect: a context not found, or one the template fails on, is said
    // after what the others print (a lone newline when none did), and the status is 1.
    const items: object[] = [];
    const lines: string[] = [];
    const errors: string[] = [];
    for (const name of names) {
      try {
        const item = inspectItem(name === DEFAULT_CONTEXT ? defaultContext(io) : await contexts.get(name));
        if (template) lines.push(formatInspect(template, [item], { marshal: true }));
        else items.push(item);
      } catch (error) {
        errors.push(errorLine(error));
      }
    }
    // docker's CLI marshals a context itself (json.MarshalIndent): HTML escaped.
    println(io, template ? lines.join('\n') : goJson(items, format ? { marshal: true } : { indent: 4, marshal: true }));
    for (const line of errors) io.stderr.write(`${line}\n`);
    return errors.length > 0 ? 1 : 0;
  },
};

const rm: Command = {
  name: 'rm',
  aliases: ['ctr context remove'],
  usage: 'CONTEXT [CONTEXT...]',
  description: 'Remove one or more contexts',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Force the removal of a context in use' }],
  args: [1, Infinity],
  async run(args, io) {
    const contexts = store(io);
    // As docker's: each name removed is printed as it goes, what failed is said together after.
    const errors: string[] = [];
    for (const name of args.positionals) {
      try {
        await contexts.remove(name, bool(args, 'force'));
        println(io, name);
      } catch (error) {
        errors.push(errorLine(error));
      }
    }
    for (const line of errors) eprintln(io, line);
    return errors.length > 0 ? 1 : 0;
  },
};

/** What Go's os package says of a failed `op` (`open`, `read`) on a file: docker's `open FILE: no such file or directory`. */
function goFileError(op: string, file: string, error: unknown): CtrError {
  return invalidArgument(`${op} ${file}: ${goErrnoWords(error)}`, { cause: error });
}

/** `source`, its read errors as Go's: a file that opens but cannot be read (a directory) is `read DIR: is a directory`. */
async function* goReads(source: AsyncIterable<Uint8Array>, file: string): AsyncGenerator<Uint8Array> {
  try {
    yield* source;
  } catch (error) {
    throw goFileError('read', file, error);
  }
}

const exportCommand: Command = {
  name: 'export',
  usage: '[OPTIONS] CONTEXT [FILE|-]',
  description: 'Export a context to a tar archive FILE or a tar stream on STDOUT.',
  flags: [],
  args: [1, 2],
  async run(args, io) {
    const [name, dest = `${name}.dockercontext`] = args.positionals as [string, string?];
    if (name !== DEFAULT_CONTEXT) checkContextName(name);
    // Read before the file is made: docker's leaves an empty file behind for a context not found.
    const context = name === DEFAULT_CONTEXT ? defaultContext(io) : await store(io).get(name);
    if (dest === '-') {
      if (io.stdout.isTTY) throw invalidArgument('cowardly refusing to export to a terminal, specify a file path');
      for await (const chunk of contextArchive(context)) io.stdout.write(chunk);
      return 0;
    }
    // As docker's: never over an existing file (O_EXCL), readable by its owner only (TLS keys are in it).
    const file = await open(dest, 'wx', 0o600).catch((error: unknown) => Promise.reject(goFileError('open', dest, error)));
    // The stream is given the FileHandle, not its number, so that it closes the handle itself (no second close on collection).
    await pipeline(Readable.from(contextArchive(context)), createWriteStream('', { fd: file }));
    eprintln(io, `Written file ${JSON.stringify(dest)}`);
    return 0;
  },
};

/**
 * Stdin, as a file to read. Node makes a directory there an empty stream; docker reads it as
 * it would any file, and fails (`read /dev/stdin: is a directory`), so it is read so here too.
 */
function stdinFile(io: Io): AsyncIterable<Uint8Array> {
  const { fd } = io.stdin as { fd?: unknown };
  if (typeof fd === 'number' && fstatSync(fd).isDirectory()) return createReadStream('', { fd, autoClose: false });
  return io.stdin;
}

const importCommand: Command = {
  name: 'import',
  usage: 'CONTEXT FILE|-',
  description: 'Import a context from a tar or zip file',
  flags: [],
  args: [2, 2],
  async run(args, io) {
    const [name, source] = args.positionals as [string, string];
    const contexts = store(io);
    await contexts.checkNewName(name);
    const input =
      source === '-' ? stdinFile(io) : createReadStream('', { fd: await open(source, 'r').catch((error: unknown) => Promise.reject(goFileError('open', source, error))) });
    await contexts.import(name, goReads(input, source === '-' ? '/dev/stdin' : source));
    println(io, name);
    eprintln(io, `Successfully imported context ${JSON.stringify(name)}`);
    return 0;
  },
};

/** Like docker's context commands, a failure exits 1 (125 is for a container that could not run). */
function exitingOne(command: Command): Command {
  return {
    ...command,
    async run(args, io) {
      try {
        return await command.run(args, io);
      } catch (error) {
        if (!isCtrError(error) || error.details.exitCode !== undefined) throw error;
        throw new CtrError(error.code, error.message, { cause: error, details: { ...error.details, exitCode: 1 }, ...(error.hint ? { hint: error.hint } : {}) });
      }
    },
  };
}

export const contextCommands: Command[] = [create, ls, use, inspect, rm, show, update, exportCommand, importCommand].map(exitingOne);
