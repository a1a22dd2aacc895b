import type { HealthConfig } from '@ctr/image';
import { formatDuration } from './duration';
import { goQuote, goQuoteList } from './go-quote';

/**
 * `created_by` texts as Docker's classic builder writes them, which `docker history` shows:
 * metadata steps as `/bin/sh -c #(nop)  CMD ["sh"]`, COPY/ADD as
 * `/bin/sh -c #(nop) COPY file:<hash> in /dst `, RUN as `|1 V=1 /bin/sh -c make`.
 */
export function nopCreatedBy(shell: readonly string[], text: string): string {
  return [...shell, '#(nop) ', text].join(' ');
}

export function copyCreatedBy(shell: readonly string[], instruction: string, kind: 'file' | 'dir' | 'multi', hash: string, dest: string): string {
  return [...shell, `#(nop) ${instruction} ${kind}:${hash} in ${dest} `].join(' ');
}

export function runCreatedBy(args: readonly string[], buildArgs: readonly string[]): string {
  const prefix = buildArgs.length > 0 ? [`|${buildArgs.length}`, ...buildArgs] : [];
  return [...prefix, ...args].join(' ');
}

/** Go `%q` of a `*HealthConfig` as Docker prints it: `&{["CMD-SHELL" "x"] "30s" "3s" "0s" "0s" '\x03'}`. */
export function healthText(h: HealthConfig): string {
  const d = (n: number | undefined): string => goQuote(formatDuration(n ?? 0));
  const retries = h.Retries ?? 0;
  const rune = retries < 0x20 ? `'\\x${retries.toString(16).padStart(2, '0')}'` : `'${String.fromCodePoint(retries)}'`;
  return `&{${goQuoteList(h.Test ?? [])} ${d(h.Interval)} ${d(h.Timeout)} ${d(h.StartPeriod)} ${d(h.StartInterval)} ${rune}}`;
}
