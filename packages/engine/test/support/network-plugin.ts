import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A call the test network plugin received. */
export interface NetworkPluginCall {
  method: string;
  body: Record<string, unknown>;
}

/** A running test network plugin (network-plugin-server.js) and what it was asked. */
export interface TestNetworkPlugin {
  readonly socket: string;
  /** What every link it makes is named from (`tnp` and 4 random hex digits). */
  readonly prefix: string;
  /** The calls of `method` (`NetworkDriver.Join`…), first first. */
  callsOf(method: string): Promise<NetworkPluginCall[]>;
  /** The host's links whose names start with the prefix: what it made and has not removed. */
  links(): string[];
  /** Stops it; it removes what it made. */
  stop(): Promise<void>;
}

const SERVER = join(__dirname, 'network-plugin-server.js');

/** The host's links whose names start with `prefix`. */
export function linksNamed(prefix: string): string[] {
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>;
  return links.map((l) => l.ifname).filter((name) => name.startsWith(prefix));
}

/** Start the test network plugin on `socket` (a legacy plugin's `<dir>/NAME.sock`), logging its calls under `dataDir`; resolved once it listens. */
export async function startNetworkPlugin(socket: string, dataDir: string, env: Record<string, string> = {}): Promise<TestNetworkPlugin> {
  const prefix = `tnp${randomBytes(2).toString('hex')}`;
  const child: ChildProcess = spawn(process.execPath, [SERVER, socket, dataDir, prefix], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the test network plugin exited with ${code}`)));
    child.stdout?.once('data', () => resolve());
  });
  const calls = async (): Promise<NetworkPluginCall[]> =>
    (await readFile(join(dataDir, 'calls.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as NetworkPluginCall);
  return {
    socket,
    prefix,
    callsOf: async (method) => (await calls()).filter((call) => call.method === method),
    links: () => linksNamed(prefix),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
