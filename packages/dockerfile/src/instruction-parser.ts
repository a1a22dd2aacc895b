import { DockerfileError, SourceLocation, SyntaxProblem } from './dockerfile-error';
import { parseDuration } from './duration';
import { FlagSpec, FlagValues, parseFlags } from './flags';
import { chompHeredocContent, parseHeredocWord } from './heredoc';
import type {
  ArgInstruction,
  CommandLine,
  CopyInstruction,
  Dockerfile,
  HealthConfig,
  Instruction,
  KeyValue,
  Stage,
} from './instructions';
import { DockerfileNode, parse, ParseOptions } from './parser';
import { withSuggestion } from './suggest';

export const instructionNames = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;

const exactlyOne = (name: string): SyntaxProblem => new SyntaxProblem(`${name} requires exactly one argument`);
const atLeastOne = (name: string): SyntaxProblem => new SyntaxProblem(`${name} requires at least one argument`);

const copyFlags: FlagSpec = { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' };
const addFlags: FlagSpec = {
  chown: 'string', chmod: 'string', link: 'bool', exclude: 'strings', checksum: 'string', 'keep-git-dir': 'bool', unpack: 'bool',
};
const runFlags: FlagSpec = { mount: 'strings', network: 'string', security: 'string', device: 'strings' };
const healthFlags: FlagSpec = {
  interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string',
};

function keyValues(node: DockerfileNode, name: string): KeyValue[] {
  if (node.args.length === 0) throw atLeastOne(name);
  if (node.args.length % 3 !== 0) throw new SyntaxProblem(`Bad input to ${name}, too many arguments`);
  const pairs: KeyValue[] = [];
  for (let i = 0; i < node.args.length; i += 3) {
    if (node.args[i] === '') throw new SyntaxProblem(`${name} names can not be blank`);
    pairs.push({ key: node.args[i]!, value: node.args[i + 1]! });
  }
  return pairs;
}

/** Shell-form arguments are one command line; exec form keeps the JSON list. */
function commandLine(node: DockerfileNode): CommandLine {
  return node.json ? { command: node.args, shell: false } : { command: [node.args.join(' ')], shell: true };
}

function one(node: DockerfileNode, name: string): string {
  parseFlags(node.flags, {});
  if (node.args.length !== 1) throw exactlyOne(name);
  return node.args[0]!;
}

function copyOrAdd(node: DockerfileNode, kind: 'COPY' | 'ADD'): Omit<CopyInstruction, 'node' | 'location'> {
  const flags = parseFlags(node.flags, kind === 'COPY' ? copyFlags : addFlags);
  if (node.args.length === 0) throw new SyntaxProblem(`${kind} requires at least two arguments`);
  if (node.args.length === 1) {
    throw new SyntaxProblem(`${kind} requires at least two arguments, but only one was provided. Destination could not be determined`);
  }
  const dest = node.args[node.args.length - 1]!;
  if (!node.json && parseHeredocWord(dest)) throw new SyntaxProblem(`${kind} cannot accept a heredoc as a destination`);
  const bodies = new Map(node.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const sourceContents: CopyInstruction['sourceContents'] = [];
  for (const src of node.args.slice(0, -1)) {
    const doc = node.json ? undefined : parseHeredocWord(src);
    if (!doc) {
      sources.push(src);
      continue;
    }
    const content = bodies.get(doc.name)?.content ?? '';
    sourceContents.push({ path: doc.name, data: doc.chomp ? chompHeredocContent(content) : content, expand: doc.expand });
  }
  return {
    kind,
    sources,
    sourceContents,
    dest,
    ...optional('from', flags.strings.get('from')),
    ...optional('chown', flags.strings.get('chown')),
    ...optional('chmod', flags.strings.get('chmod')),
    ...optional('checksum', flags.strings.get('checksum')),
    ...optional('unpack', flags.bools.get('unpack')),
    link: flags.bools.get('link') ?? false,
    parents: flags.bools.get('parents') ?? false,
    keepGitDir: flags.bools.get('keep-git-dir') ?? false,
    exclude: flags.lists.get('exclude') ?? [],
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function duration(flags: FlagValues, name: string): number | undefined {
  const text = flags.strings.get(name);
  if (text === undefined || text === '') return undefined;
  const ns = parseDuration(text);
  if (ns < 0) throw new SyntaxProblem(`Interval "${name}" cannot be negative`);
  if (ns !== 0 && ns < 1e6) throw new SyntaxProblem(`Interval "${name}" cannot be less than 1ms`);
  return ns;
}

function healthcheck(node: DockerfileNode): HealthConfig {
  if (node.args.length === 0) throw atLeastOne('HEALTHCHECK');
  const type = node.args[0]!.toUpperCase();
  const rest = node.args.slice(1);
  if (type === 'NONE') {
    if (rest.length !== 0) throw new SyntaxProblem('HEALTHCHECK NONE takes no arguments');
    return { test: ['NONE'] };
  }
  const flags = parseFlags(node.flags, healthFlags);
  if (type !== 'CMD') throw new SyntaxProblem(`Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  const command = node.json ? rest : rest.length ? [rest.join(' ')] : [];
  if (command.length === 0) throw new SyntaxProblem('Missing command after HEALTHCHECK CMD');
  const health: HealthConfig = { test: [node.json ? 'CMD' : 'CMD-SHELL', ...command] };
  const durations = { interval: 'interval', timeout: 'timeout', startPeriod: 'start-period', startInterval: 'start-interval' } as const;
  for (const [key, flag] of Object.entries(durations) as [keyof typeof durations, string][]) {
    const ns = duration(flags, flag);
    if (ns !== undefined) health[key] = ns;
  }
  const retries = flags.strings.get('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^[+-]?\d+$/.test(retries)) throw new SyntaxProblem(`strconv.ParseInt: parsing "${retries}": invalid syntax`);
    const n = Number(retries);
    if (n < 0) throw new SyntaxProblem(`--retries cannot be negative (${n})`);
    health.retries = n;
  }
  return health;
}

function onbuildExpression(node: DockerfileNode): string {
  const trigger = node.trigger;
  if (!trigger) throw atLeastOne('ONBUILD');
  parseFlags(node.flags, {});
  const keyword = trigger.keyword.toUpperCase();
  if (keyword === 'ONBUILD') throw new SyntaxProblem('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (keyword === 'MAINTAINER' || keyword === 'FROM') throw new SyntaxProblem(`${keyword} isn't allowed as an ONBUILD trigger`);
  let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const doc of node.heredocs) expression += '\n' + doc.content + doc.name;
  return expression;
}

const stageNamePattern = /^[a-z][a-z0-9-_.]*$/;

type Parsed = Instruction extends infer I ? (I extends Instruction ? Omit<I, 'node' | 'location'> : never) : never;

function interpret(node: DockerfileNode): Parsed {
  const keyword = node.keyword.toUpperCase();
  switch (keyword) {
    case 'FROM': {
      const flags = parseFlags(node.flags, { platform: 'string' });
      const a = node.args;
      let stageName: string | undefined;
      if (a.length === 3 && a[1]!.toLowerCase() === 'as') {
        stageName = a[2]!.toLowerCase();
        if (!stageNamePattern.test(stageName)) {
          throw new SyntaxProblem(`invalid name for build stage: "${a[2]}", name can't start with a number or contain symbols`);
        }
      } else if (a.length !== 1) throw new SyntaxProblem('FROM requires either one or three arguments');
      return { kind: 'FROM', image: a[0]!, ...optional('stageName', stageName), ...optional('platform', flags.strings.get('platform')) };
    }
    case 'RUN': {
      const flags = parseFlags(node.flags, runFlags);
      if (node.args.length === 0) throw atLeastOne('RUN');
      return {
        kind: 'RUN',
        ...commandLine(node),
        heredocs: node.heredocs,
        mounts: flags.lists.get('mount') ?? [],
        ...optional('network', flags.strings.get('network')),
        ...optional('security', flags.strings.get('security')),
      };
    }
    case 'CMD':
    case 'ENTRYPOINT':
      parseFlags(node.flags, {});
      return { kind: keyword, ...commandLine(node) };
    case 'SHELL':
      parseFlags(node.flags, {});
      if (!node.json) throw new SyntaxProblem('SHELL requires the arguments to be in JSON form');
      if (node.args.length === 0) throw new SyntaxProblem('SHELL requires at least one argument');
      return { kind: 'SHELL', shell: node.args };
    case 'ENV':
      parseFlags(node.flags, {});
      return { kind: 'ENV', env: keyValues(node, 'ENV') };
    case 'LABEL':
      parseFlags(node.flags, {});
      return { kind: 'LABEL', labels: keyValues(node, 'LABEL') };
    case 'MAINTAINER':
      return { kind: 'MAINTAINER', maintainer: one(node, 'MAINTAINER') };
    case 'COPY':
    case 'ADD':
      return copyOrAdd(node, keyword);
    case 'EXPOSE':
      parseFlags(node.flags, {});
      if (node.args.length === 0) throw atLeastOne('EXPOSE');
      return { kind: 'EXPOSE', ports: node.args };
    case 'USER':
      return { kind: 'USER', user: one(node, 'USER') };
    case 'WORKDIR':
      return { kind: 'WORKDIR', path: one(node, 'WORKDIR') };
    case 'STOPSIGNAL':
      return { kind: 'STOPSIGNAL', signal: one(node, 'STOPSIGNAL') };
    case 'VOLUME': {
      parseFlags(node.flags, {});
      if (node.args.length === 0) throw atLeastOne('VOLUME');
      const volumes = node.args.map((v) => v.trim());
      if (volumes.some((v) => v === '')) throw new SyntaxProblem('VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', volumes };
    }
    case 'ARG': {
      parseFlags(node.flags, {});
      if (node.args.length === 0) throw atLeastOne('ARG');
      return {
        kind: 'ARG',
        args: node.args.map((word) => {
          const eq = word.indexOf('=');
          return eq < 0 ? { key: word } : { key: word.slice(0, eq), value: word.slice(eq + 1) };
        }),
      };
    }
    case 'ONBUILD':
      return { kind: 'ONBUILD', expression: onbuildExpression(node) };
    case 'HEALTHCHECK':
      return { kind: 'HEALTHCHECK', health: healthcheck(node) };
    default:
      throw new SyntaxProblem(withSuggestion(`unknown instruction: ${node.keyword}`, node.keyword, instructionNames));
  }
}

function locationOf(file: string, node: DockerfileNode): SourceLocation {
  return { file, line: node.startLine, column: node.column, endLine: node.endLine };
}

function located<T>(file: string, node: DockerfileNode, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SyntaxProblem) throw new DockerfileError(e.message, locationOf(file, node), { cause: e });
    throw e;
  }
}

/** One node → its typed instruction, or a DockerfileError at the node's location. */
export function parseInstruction(node: DockerfileNode, file = 'Dockerfile'): Instruction {
  // assign onto the fresh object: spreading the many instruction shapes is slow in V8
  return located(file, node, () => Object.assign(interpret(node), { node, location: locationOf(file, node) }) as Instruction);
}

/** Parse a Dockerfile into global ARGs and stages, checking every instruction. */
export function parseDockerfile(source: string | Uint8Array, options: ParseOptions = {}): Dockerfile {
  const result = parse(source, options);
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const names = new Set<string>();
  for (const node of result.nodes) {
    const instruction = parseInstruction(node, result.file);
    if (instruction.kind === 'FROM') {
      const name = instruction.stageName;
      if (name !== undefined) {
        if (names.has(name)) {
          throw new DockerfileError(`duplicate stage name "${name}"`, instruction.location);
        }
        names.add(name);
      }
      stages.push({ index: stages.length, ...optional('name', name), from: instruction, instructions: [] });
    } else if (stages.length > 0) stages[stages.length - 1]!.instructions.push(instruction);
    else if (instruction.kind === 'ARG') metaArgs.push(instruction);
    else throw new DockerfileError('no build stage in current context', instruction.location, { hint: 'Start the Dockerfile with FROM (only ARG may come before it).' });
  }
  if (stages.length === 0) {
    throw new DockerfileError('no build stage in current context', { file: result.file, line: 1, column: 1 }, { hint: 'A Dockerfile needs at least one FROM instruction.' });
  }
  return { file: result.file, escapeToken: result.escapeToken, metaArgs, stages, warnings: result.warnings };
}

