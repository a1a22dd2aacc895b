import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A call the test volume plugin received. */
export interface PluginCall {
  method: string;
  body: { Name?: string; ID?: string; Opts?: Record<string, string> };
}

/** A running test volume plugin (volume-plugin-server.js) and what it was asked. */
export interface TestVolumePlugin {
  readonly socket: string;
  /** Where it keeps its volumes: `<dataDir>/volumes/NAME`. */
  readonly dataDir: string;
  /** Every call so far, first first. */
  calls(): Promise<PluginCall[]>;
  /** The calls of `method` (`VolumeDriver.Mount`…), first first. */
  callsOf(method: string): Promise<PluginCall[]>;
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL): its socket file stays behind with nobody listening on it. */
  kill(): Promise<void>;
}

const SERVER = join(__dirname, 'volume-plugin-server.js');

/**
 * Start the test volume plugin listening on `socket` (a legacy plugin's: `<dir>/NAME.sock`),
 * keeping its volumes under `dataDir`; resolved once it listens. `env` adds PLUGIN_SCOPE /
 * PLUGIN_IMPLEMENTS.
 */
export async function startVolumePlugin(socket: string, dataDir: string, env: Record<string, string> = {}): Promise<TestVolumePlugin> {
  const child: ChildProcess = spawn(process.execPath, [SERVER, socket, dataDir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the test volume plugin exited with ${code}`)));
    child.stdout?.once('data', () => resolve());
  });
  const calls = async (): Promise<PluginCall[]> =>
    (await readFile(join(dataDir, 'calls.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as PluginCall);
  const signalled = (signal: NodeJS.Signals): Promise<void> =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  return {
    socket,
    dataDir,
    calls,
    callsOf: async (method) => (await calls()).filter((call) => call.method === method),
    stop: () => signalled('SIGTERM'),
    kill: () => signalled('SIGKILL'),
  };
}
