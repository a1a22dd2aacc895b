import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A call the test logging plugin received. */
export interface LogPluginCall {
  method: string;
  body: { File?: string; Info?: Record<string, unknown>; Config?: Record<string, unknown> };
}

/** A LogEntry the test logging plugin read from a FIFO, decoded. */
export interface LoggedEntry {
  file: string;
  container: string;
  source: string;
  /** Nanoseconds since the epoch, in decimal. */
  timeNano: string;
  line: string;
  partial: boolean;
  partialLogMetadata?: { last: boolean; id: string; ordinal: number };
}

/** A running test logging plugin (log-plugin-server.js) and what it was asked and sent. */
export interface TestLogPlugin {
  readonly socket: string;
  /** The calls of `method` (`LogDriver.StartLogging`…), first first. */
  callsOf(method: string): Promise<LogPluginCall[]>;
  /** The entries read for container `id`, first first. */
  entriesOf(id: string): Promise<LoggedEntry[]>;
  stop(): Promise<void>;
}

const SERVER = join(__dirname, 'log-plugin-server.js');

async function jsonLines<T>(file: string): Promise<T[]> {
  return (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

/**
 * Start the test logging plugin on `socket` (a legacy plugin's: `<dir>/NAME.sock`), writing
 * what it gets under `dataDir`; resolved once it listens. `env`: PLUGIN_READ_LOGS=1,
 * PLUGIN_FAIL_START=<words>, PLUGIN_IMPLEMENTS=A,B.
 */
export async function startLogPlugin(socket: string, dataDir: string, env: Record<string, string> = {}): Promise<TestLogPlugin> {
  const child: ChildProcess = spawn(process.execPath, [SERVER, socket, dataDir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the test logging plugin exited with ${code}`)));
    child.stdout?.once('data', () => resolve());
  });
  return {
    socket,
    callsOf: async (method) => (await jsonLines<LogPluginCall>(join(dataDir, 'calls.log'))).filter((call) => call.method === method),
    entriesOf: async (id) => (await jsonLines<LoggedEntry>(join(dataDir, 'entries.log'))).filter((entry) => entry.container === id),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
