import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './free-port';

/**
 * A swarm's node agent, for tests that make a swarm on the host: `swarm init` listens on the
 * cluster port (0.0.0.0:2377 unless told), which test files running side by side would share,
 * and the agent it starts is a process a test must not leave behind.
 */

/** A `--listen-addr` (the API's ListenAddr) no other test file listens on: loopback only, so nothing outside the machine can reach it. */
export async function loopbackListenAddr(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/** `/proc/<pid>/stat`'s state and start time (fields 3 and 22); undefined when no such process. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] as string, start: fields[19] as string };
  } catch {
    return undefined;
  }
}

/** Whether process `pid` runs (a zombie nobody reaped yet has ended). */
export function processRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/**
 * The PID in `<runRoot>/swarm/agent.pid` (`pid starttime [ready]`) while that process still
 * runs — the same process, its start time checked, and not a zombie waiting to be reaped; ctrd's
 * in-process agent is the daemon's own PID. Undefined when no agent runs for the root.
 */
export function swarmAgentPid(runRoot: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(runRoot, 'swarm', 'agent.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const [pid, start] = text.trim().split(/\s+/);
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  const now = procStat(n);
  return now && now.state !== 'Z' && now.start === start ? n : undefined;
}

/**
 * Ends the root's detached agent when it outlived the test (a test failed before `swarm leave
 * --force`, which stops it, could run), or as a test's crash (`signal` SIGKILL), and waits until
 * it is gone, with SIGKILL when `signal` did not end it. Never this process: ctrd's agent ends
 * with the daemon.
 */
export async function killSwarmAgent(runRoot: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const pid = swarmAgentPid(runRoot);
  if (pid === undefined || pid === process.pid) return;
  for (const sent of new Set<NodeJS.Signals>([signal, 'SIGKILL'])) {
    try {
      process.kill(pid, sent);
    } catch {
      return;
    }
    for (let waited = 0; waited < 10_000; waited += 100) {
      if (swarmAgentPid(runRoot) !== pid) return;
      await delay(100);
    }
  }
}
