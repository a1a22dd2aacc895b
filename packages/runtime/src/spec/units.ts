import { invalidArgument } from '@ctr/errors';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * Docker's RAMInBytes: `1024`, `512m`, `1.5g`, `64MB`, `64 MiB` (binary units, case-insensitive).
 * `what` names the flag in the error ("memory", "memory-swap").
 */
export function parseBytes(value: number | string, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalidArgument(`invalid ${what}: ${value} is not a whole number of bytes`);
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$/i.exec(value);
  if (!match) {
    throw invalidArgument(`invalid size: '${value}'`, {
      hint: `${what} takes a number of bytes with an optional unit: b, k, m, g (e.g. 512m)`,
    });
  }
  const bytes = Math.floor(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
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
