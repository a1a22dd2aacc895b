import { DockerfileError } from './dockerfile-error';
import type { Instruction } from './instructions';

/** `80`, `80/udp`, `8000-8002/tcp` → Docker's `port/proto` keys. */
export function exposedPorts(spec: string, at: Instruction): string[] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw new DockerfileError(`Invalid containerPort: ${spec}`, at.location);
  const first = Number(m[1]);
  const last = m[2] !== undefined ? Number(m[2]) : first;
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (first < 1 || last > 65535 || last < first) throw new DockerfileError(`Invalid containerPort: ${spec}`, at.location);
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${proto}`);
}

const signals = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR',
  'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ',
]);

/** A signal name (`SIGTERM`, `TERM`), number, or `SIGRTMIN+3`, as Docker accepts for STOPSIGNAL. */
export function isSignal(text: string): boolean {
  if (/^\d+$/.test(text)) return Number(text) > 0 && Number(text) < 65;
  const name = text.toUpperCase().replace(/^SIG/, '');
  return signals.has(name) || /^RT(MIN|MAX)([+-]\d+)?$/.test(name);
}

