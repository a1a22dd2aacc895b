import { readdirSync, readFileSync } from 'node:fs';

/**
 * The command lines of running processes, as `ps -eo args` prints them, read from /proc: on a
 * busy CI machine ps's output outgrew execFileSync's buffer (ENOBUFS) and failed the test.
 */
export function commandLines(): string[] {
  const lines: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (args !== '') lines.push(args.replace(/\0$/, '').replaceAll('\0', ' '));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return lines;
}
