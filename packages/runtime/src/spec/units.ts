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

/** `--cpus 1.5` → a CFS quota over a 100 ms period. */
export function parseCpus(value: number | string): { quota: number; period: number } {
  const cpus = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(cpus) || cpus <= 0) {
    throw invalidArgument(`invalid value "${value}" for cpus: must be a positive decimal number of CPUs`);
  }
  const period = 100_000;
  return { quota: Math.round(cpus * period), period };
}

/** `0-3,5` style CPU and memory-node lists. */
export function checkCpuList(value: string, what: string): string {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value)) {
    throw invalidArgument(`invalid value "${value}" for ${what}: expected a list like 0-3,5`);
  }
  return value;
}
