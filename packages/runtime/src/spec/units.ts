import { invalidArgument } from '@ctr/errors';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * Docker's RAMInBytes (go-units' parseSize over binary units): `1024`, `512m`, `1.5g`, `64MB`,
 * `64 MiB`, case-insensitive, with its words for what it refuses (`invalid size: 'abc'`,
 * `invalid suffix: 'zz'`). `what` names the flag in the hint ("memory", "memory-swap").
 */
export function parseBytes(value: number | string, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalidArgument(`invalid ${what}: ${value} is not a whole number of bytes`);
    return value;
  }
  const hint = `${what} takes a number of bytes with an optional unit: b, k, m, g (e.g. 512m)`;
  const invalidSize = (): Error => invalidArgument(`invalid size: '${value}'`, { hint });
  const invalidSuffix = (suffix: string): Error => invalidArgument(`invalid suffix: '${suffix}'`, { hint });
  // The number ends at the last digit, dot or space; a space there separates it from the unit.
  const sep = Math.max(...[...'0123456789. '].map((c) => value.lastIndexOf(c)));
  if (sep === -1) throw invalidSize();
  const number = value[sep] === ' ' ? value.slice(0, sep) : value.slice(0, sep + 1);
  let suffix = value.slice(sep + 1);
  // Go's ParseFloat: the whole text a decimal number.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(number)) throw invalidArgument(`strconv.ParseFloat: parsing ${JSON.stringify(number)}: invalid syntax`, { hint });
  let size = Number(number);
  if (size < 0) throw invalidSize();
  if (suffix.length > 3) throw invalidSuffix(suffix);
  suffix = suffix.toLowerCase();
  if (suffix !== '' && suffix !== 'b') {
    const unit = UNITS[suffix[0] as string];
    if (unit === undefined || suffix[0] === 'b') throw invalidSuffix(suffix);
    if ((suffix.length === 2 && suffix[1] !== 'b') || (suffix.length === 3 && suffix.slice(1) !== 'ib')) throw invalidSuffix(suffix);
    size *= unit;
  }
  const bytes = Math.floor(size);
  if (!Number.isSafeInteger(bytes)) throw invalidArgument(`invalid size: '${value}' is too large`);
  return bytes;
}

/**
 * `--cpus` as a number of CPUs, checked as dockerd checks NanoCPUs: not below 0, nor above
 * the CPUs of the host (`hostCount`, when known). 0 means no limit.
 */
export function checkedCpus(value: number | string, hostCount: number | undefined): number {
  const cpus = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(cpus)) throw invalidArgument(`invalid value "${value}" for cpus: must be a decimal number of CPUs`);
  if (hostCount !== undefined && (cpus < 0 || Math.round(cpus * 1e9) > hostCount * 1e9)) {
    throw invalidArgument(`Range of CPUs is from 0.01 to ${hostCount}.00, as there are only ${hostCount} CPUs available`);
  }
  return cpus;
}

/** `--cpus 1.5` → a CFS quota over a 100 ms period. */
export function parseCpus(value: number | string): { quota: number; period: number } {
  const cpus = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(cpus) || cpus <= 0) {
    throw invalidArgument(`invalid value "${value}" for cpus: must be a positive decimal number of CPUs`);
  }
  const period = 100_000;
  return { quota: Math.round(cpus * period), period };
}

/** The ranges a `0-3,5` list names, as [first, last] pairs. */
function listRanges(list: string): Array<[number, number]> {
  return list.split(',').map((part) => {
    const [first, last = first] = part.split('-').map(Number) as [number, number?];
    return [first, last];
  });
}

/**
 * dockerd's check of a cpuset against the host's (sysinfo's IsCpusetCpusAvailable and
 * IsCpusetMemsAvailable): every CPU or node asked for must be in `available`, when known.
 */
export function checkCpusetAvailable(requested: string, available: string | undefined, what: 'CPUs' | 'memory nodes'): void {
  if (available === undefined) return;
  const have = listRanges(available);
  const covered = ([first, last]: [number, number]): boolean => {
    // Walk the range through the host's ranges, without listing every number of a large one.
    for (let next = first; next <= last; ) {
      const range = have.find(([from, to]) => from <= next && next <= to);
      if (!range) return false;
      next = range[1] + 1;
    }
    return true;
  };
  if (!listRanges(requested).every(covered)) {
    throw invalidArgument(`Requested ${what} are not available - requested ${requested}, available: ${available}`);
  }
}

/** `0-3,5` style CPU and memory-node lists. */
export function checkCpuList(value: string, what: string): string {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value)) {
    throw invalidArgument(`invalid value "${value}" for ${what}: expected a list like 0-3,5`);
  }
  return value;
}

/**
 * go-units' ParseUlimit syntax, `name=soft[:hard]` (a soft limit alone is also the hard one;
 * `-1` or `infinity` is unlimited, read as -1): undefined when the text is not of it, so each
 * caller says so in its own words (a flag's, a daemon.json key's). The soft-over-hard check
 * is the caller's too (`ulimitOrderError`).
 */
export function parseUlimit(text: string): { name: string; soft: number; hard: number } | undefined {
  const match = /^([a-z]+)=(-?\d+|infinity)(?::(-?\d+|infinity))?$/.exec(text);
  if (!match) return undefined;
  const value = (part: string): number => (part === 'infinity' ? -1 : Number(part));
  const soft = value(match[2] as string);
  return { name: match[1] as string, soft, hard: match[3] === undefined ? soft : value(match[3]) };
}

/** go-units' words when a ulimit's soft limit is above its hard one (-1 being unlimited); undefined when it is not. */
export function ulimitOrderError(soft: number, hard: number): string | undefined {
  if (hard === -1) return undefined;
  if (soft === -1) return `ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: ${hard}`;
  return soft > hard ? `ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}` : undefined;
}
