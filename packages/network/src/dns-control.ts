import { CtrError } from '@ctr/errors';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { promises as fs, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dnsDaemonMain } from './dns-daemon';
import type { StatePaths } from './state';

const MARKER = 'ctr-network-dns';
const READY_TIMEOUT_MS = 20_000;

function pidFile(paths: StatePaths): string {
  return path.join(paths.runDir, 'dns.pid');
}

/** The daemon's pid if it is running (checked by its command line, not just the pid). */
export async function dnsDaemonPid(paths: StatePaths): Promise<number | undefined> {
  const pid = Number((await fs.readFile(pidFile(paths), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const args = cmdline.split('\0');
  return args.includes(MARKER) && args.includes(paths.dir) ? pid : undefined;
}

function start(paths: StatePaths): void {
  const log = openSync(path.join(paths.runDir, 'dns.log'), 'a');
  try {
    const code = `(${dnsDaemonMain.toString()})(process.argv[2], process.argv[3])`;
    const child = spawn(process.execPath, ['-e', code, MARKER, paths.dir, pidFile(paths)], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
  } finally {
    closeSync(log);
  }
}

/** Starts the server and waits until it has written its pid, so it is never started twice. */
async function startAndWait(paths: StatePaths, deadline: number): Promise<void> {
  start(paths);
  while ((await dnsDaemonPid(paths)) === undefined && Date.now() < deadline) await sleep(10);
}

/** Sends a header-only query; the server answers FORMERR, which proves it is listening. */
function probe(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const id = Math.floor(Math.random() * 0xffff);
    const query = Buffer.alloc(12);
    query.writeUInt16BE(id, 0);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 200);
    sock.on('error', () => done(false));
    sock.on('message', (msg) => done(msg.length >= 2 && msg.readUInt16BE(0) === id));
    sock.send(query, 53, address);
  });
}

/**
 * Makes sure the DNS server runs and answers on every gateway given, starting it if
 * needed. Fails with the server's log when it does not come up.
 */
export async function ensureDnsDaemon(paths: StatePaths, gateways: string[], reload = false): Promise<void> {
  if (gateways.length === 0) return;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const wake = async (): Promise<void> => {
    const pid = await dnsDaemonPid(paths);
    // One with no network left ends by itself: it may have just done so.
    if (pid === undefined || !signalled(pid, 'SIGHUP')) await startAndWait(paths, deadline);
  };
  // A running server reloads names by itself on its next query; a new gateway needs a
  // reload (`reload`), or is found when a probe shows it does not answer there yet.
  if (reload || (await dnsDaemonPid(paths)) === undefined) await wake();
  for (const gw of gateways) {
    while (!(await probe(gw))) {
      if (Date.now() > deadline) {
        const log = await fs.readFile(path.join(paths.runDir, 'dns.log'), 'utf8').catch(() => '');
        throw new CtrError('Unavailable', `The embedded DNS server does not answer on ${gw}:53`, {
          hint: 'is another DNS server bound to port 53 on all addresses?',
          details: { log: log.split('\n').slice(-10).join('\n') },
        });
      }
      await wake();
      await sleep(50);
    }
  }
}

/** Stops the DNS server of this root, waiting until it has exited. */
export async function stopDnsDaemon(paths: StatePaths): Promise<boolean> {
  const pid = await dnsDaemonPid(paths);
  if (pid === undefined) return false;
  if (signalled(pid, 'SIGTERM')) {
    for (let i = 0; i < 100 && (await dnsDaemonPid(paths)) === pid; i++) await sleep(20);
  }
  await fs.rm(pidFile(paths), { force: true });
  return true;
}

/** Sends `signal` to `pid`; false when it has exited since it was looked up. */
function signalled(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
