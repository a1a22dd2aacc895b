import { invalidArgument, type CtrError } from '@ctr/errors';
import { goParseBool } from '@ctr/image';

/**
 * Command-line flags the way docker's (pflag) parses them: `-it`, `-e X`, `-eX`, `-e=X`,
 * `--env X`, `--env=X`, repeated list flags, `--` to end flags. Commands that run a
 * program (`run`, `exec`, `create`) stop at the first positional so that the program's
 * own flags pass through untouched.
 */

export type FlagType = 'bool' | 'string' | 'list' | 'number';

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  description: string;
  /** Shown in help as the value's name, e.g. `list`, `string`, `int`. */
  valueName?: string;
  default?: string | number | boolean;
  /** Accepted but not listed in help: a deprecated name kept working, as docker keeps `--time`. */
  hidden?: boolean;
  /** Refuses a bad value as it is parsed (pflag's `Value.Set`): docker's `invalid argument … flag: <why>`, a usage error. */
  check?: (value: string) => void;
}

export type FlagValue = string | number | boolean | string[];

export interface ParsedArgs {
  flags: Record<string, FlagValue | undefined>;
  positionals: string[];
}

export interface ParseOptions {
  /** Stop parsing flags at the first positional (docker's `SetInterspersed(false)`). */
  stopAtPositional?: boolean;
}

/**
 * A flag's value refused as pflag refuses one its type cannot take (`invalid argument "x" for
 * "--ulimit" flag: …`, `… for "-f, --filter" flag: …`): a usage error, so it exits 125 as
 * docker's does, whichever command. `flag` is the long name, or the spec, which shows its short one too.
 */
export function flagValueError(flag: string | Pick<FlagSpec, 'name' | 'short'>, value: string, reason: string): CtrError {
  const spec = typeof flag === 'string' ? { name: flag } : flag;
  const shown = spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
  return invalidArgument(`invalid argument ${JSON.stringify(value)} for "${shown}" flag: ${reason}`, { details: { usage: true } });
}

/**
 * Order by `name`, code point by code point (docker's names are ASCII). Not localeCompare:
 * its first call starts ICU's collator, ≈ 8 ms of every ctr start when a command list sorts.
 */
export function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], options: ParseOptions = {}): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const flags: Record<string, FlagValue | undefined> = {};
  for (const spec of specs) {
    if (spec.type === 'list') flags[spec.name] = [];
    else if (spec.default !== undefined) flags[spec.name] = spec.default;
  }
  const positionals: string[] = [];

  const unknown = (flag: string): never => {
    throw invalidArgument(`unknown flag: ${flag}`, { details: { usage: true } });
  };
  const assign = (spec: FlagSpec, raw: string): void => {
    if (spec.check) {
      try {
        spec.check(raw);
      } catch (error) {
        throw flagValueError(spec, raw, (error as Error).message);
      }
    }
    switch (spec.type) {
      case 'bool': {
        const value = goParseBool(raw);
        if (value === undefined) throw flagValueError(spec, raw, `strconv.ParseBool: parsing "${raw}": invalid syntax`);
        flags[spec.name] = value;
        return;
      }
      case 'number': {
        const n = Number(raw);
        if (raw.trim() === '' || !Number.isFinite(n)) {
          throw flagValueError(spec, raw, `strconv.ParseInt: parsing "${raw}": invalid syntax`);
        }
        flags[spec.name] = n;
        return;
      }
      case 'list':
        (flags[spec.name] as string[]).push(raw);
        return;
      case 'string':
        flags[spec.name] = raw;
    }
  };

  let i = 0;
  const takeValue = (shown: string): string => {
    const value = argv[++i];
    if (value === undefined) throw invalidArgument(`flag needs an argument: ${shown}`, { details: { usage: true } });
    return value;
  };

  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byName.get(name) ?? unknown(`--${name}`);
      if (eq !== -1) assign(spec, arg.slice(eq + 1));
      else if (spec.type === 'bool') flags[spec.name] = true;
      else assign(spec, takeValue(`--${name}`));
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // A cluster of short flags: every one but a value-taking flag is a bool; a value-taking
      // flag swallows the rest of the cluster (`-eFOO=bar`) or the next argument.
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j] as string;
        const spec = byShort.get(letter) ?? unknown(`-${letter}`);
        const shown = `'${letter}' in -${letter}`;
        if (spec.type === 'bool') {
          if (arg[j + 1] === '=') {
            assign(spec, arg.slice(j + 2));
            break;
          }
          flags[spec.name] = true;
          continue;
        }
        const rest = arg.slice(j + 1);
        assign(spec, rest === '' ? takeValue(shown) : rest.startsWith('=') ? rest.slice(1) : rest);
        break;
      }
      continue;
    }
    positionals.push(arg);
    if (options.stopAtPositional) {
      positionals.push(...argv.slice(i + 1));
      break;
    }
  }
  return { flags, positionals };
}

export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true;
}

export function num(args: ParsedArgs, name: string): number | undefined {
  const v = args.flags[name];
  return typeof v === 'number' ? v : undefined;
}

export function list(args: ParsedArgs, name: string): string[] {
  const v = args.flags[name];
  return Array.isArray(v) ? v : [];
}
