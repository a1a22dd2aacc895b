import { constants } from 'node:os';
import { invalidArgument } from '@ctr/errors';

/**
 * A signal by Docker's spellings: `SIGTERM`, `TERM`, `term`, `15`, `SIGRTMIN+3`.
 * Returns the canonical name runc understands and the number.
 */
export function parseSignal(value: string | number): { name: string; number: number } {
  const signals = constants.signals as Record<string, number>;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    const name = Object.keys(signals).find((n) => signals[n] === number);
    if (name) return { name, number };
    if (number >= 34 && number <= 64) return { name: String(number), number };
    throw invalidArgument(`invalid signal: ${text}`);
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const number = signals[name];
  if (number !== undefined) return { name, number };
  const rt = /^SIGRTM(IN|AX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const n = (rt[1] === 'IN' ? 34 : 64) + Number(rt[2] ?? 0);
    if (n >= 34 && n <= 64) return { name: String(n), number: n };
  }
  throw invalidArgument(`invalid signal: ${text}`, { hint: 'use a signal name such as SIGTERM or a number such as 15' });
}
