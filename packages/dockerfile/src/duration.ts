import { SyntaxProblem } from './dockerfile-error';

const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's `time.ParseDuration`, in nanoseconds (HEALTHCHECK `--interval=1m30s`). */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== text.length) throw new SyntaxProblem(`time: invalid duration ${JSON.stringify(text)}`);
  return Math.round(total);
}

/** Go's `Duration.String()`: `1m30s`, `500ms`, `0s` (Docker writes these into history). */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trimNumber(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trimNumber(ns / 1e6)}ms`;
  let out = '';
  let rest = ns;
  const hours = Math.floor(rest / 3600e9);
  rest -= hours * 3600e9;
  const minutes = Math.floor(rest / 60e9);
  rest -= minutes * 60e9;
  if (hours > 0) out += `${hours}h`;
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  return out + `${trimNumber(rest / 1e9)}s`;
}

const trimNumber = (n: number): string => String(Number(n.toFixed(9)));
