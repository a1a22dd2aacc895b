import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A call the test IPAM plugin received. */
export interface IpamPluginCall {
  method: string;
  body: Record<string, unknown>;
}

/** A running test IPAM plugin (ipam-plugin-server.js) and what it was asked. */
export interface TestIpamPlugin {
  readonly socket: string;
  /** The calls of `method` (`IpamDriver.RequestAddress`…), first first. */
  callsOf(method: string): Promise<IpamPluginCall[]>;
  stop(): Promise<void>;
}

const SERVER = join(__dirname, 'ipam-plugin-server.js');

/**
 * Start the test IPAM plugin on `socket` (a legacy plugin's `<dir>/NAME.sock`), giving
 * `defaultPool` (an IPv4 /24) when no pool is asked for and logging its calls under `dataDir`;
 * resolved once it listens.
 */
export async function startIpamPlugin(socket: string, dataDir: string, defaultPool: string): Promise<TestIpamPlugin> {
  const child: ChildProcess = spawn(process.execPath, [SERVER, socket, dataDir, defaultPool], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the test IPAM plugin exited with ${code}`)));
    child.stdout?.once('data', () => resolve());
  });
  return {
    socket,
    callsOf: async (method) =>
      (await readFile(join(dataDir, 'calls.log'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as IpamPluginCall)
        .filter((call) => call.method === method),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
