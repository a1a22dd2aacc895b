import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon, type DaemonOptions } from '@ctr/api';
import { NetworkManager } from '@ctr/network';
import { runProcess, type ProcessResult } from '../../../test/support/run-process';

/** A ctrd on a throwaway root with `busybox:latest` imported from the host's static busybox. */
export interface TestDaemon {
  daemon: Daemon;
  root: string;
  runRoot: string;
  socket: string;
  /** Environment for a docker CLI that talks to this daemon and reads no user config. */
  env: NodeJS.ProcessEnv;
  /** Errors the daemon counted as its own fault (500s): a test expects none. */
  internalErrors: string[];
  cleanup(): Promise<void>;
}

/** `options`: daemon settings a test needs beside the throwaway root's (its plugin directories, its log). */
export async function startTestDaemon(options: Pick<DaemonOptions, 'plugins' | 'log'> = {}): Promise<TestDaemon> {
  const root = await mkdtemp(join(tmpdir(), 'ctr-api-'));
  const runRoot = await mkdtemp(join(tmpdir(), 'ctr-api-run-'));
  const socket = join(runRoot, 'ctr.sock');
  const internalErrors: string[] = [];
  const daemon = await startDaemon({
    ...options,
    root,
    runRoot,
    hosts: [`unix://${socket}`],
    onInternalError: (error, request) => internalErrors.push(`${request}: ${(error as Error).stack ?? String(error)}`),
  });
  await daemon.engine.importBusybox();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: root,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(root, 'docker-config'),
    DOCKER_BUILDKIT: '0',
    DOCKER_CLI_HINTS: 'false',
  };
  return {
    daemon,
    root,
    runRoot,
    socket,
    env,
    internalErrors,
    async cleanup() {
      for (const c of await daemon.engine.ps({ all: true }).catch(() => [])) {
        await daemon.engine.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
      }
      for (const n of await daemon.engine.networks().catch(() => [])) {
        if (!['bridge', 'host', 'none'].includes(n.Name)) await daemon.engine.removeNetwork(n.Id).catch(() => undefined);
      }
      await daemon.stop();
      // The default bridge (runs and builds make it) and its rules live outside the root.
      await new NetworkManager({ root, runRoot }).gc().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
      await rm(runRoot, { recursive: true, force: true });
    },
  };
}

export type Run = ProcessResult;

/** A tool that cannot be started fails the test (it is a required component), saying where it comes from. */
function required(what: string): (error: Error) => never {
  return (error) => {
    throw new Error(`${what} could not be run (install it: scripts/setup-host.sh): ${error.message}`);
  };
}

/** Run the real docker CLI against the daemon. */
export function docker(env: NodeJS.ProcessEnv, args: string[], options: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<Run> {
  return runProcess('docker', args, { ...options, env }).catch(required('the docker CLI'));
}

/** Run docker-compose (1.29) on the project `name` whose docker-compose.yml is in `dir`. */
export function dockerCompose(env: NodeJS.ProcessEnv, dir: string, name: string, args: string[]): Promise<Run> {
  // Building and starting a project can outlast docker()'s limit; the test's own timeout is the bound.
  return runProcess('docker-compose', ['-p', name, ...args], { env, cwd: dir, timeoutMs: 120_000 }).catch(required('docker-compose'));
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request over the daemon's unix socket. */
export function request(socket: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function json(response: RawResponse): unknown {
  return JSON.parse(response.body.toString('utf8'));
}

/**
 * A daemon for the test file that calls this: started before its tests, cleaned up after
 * them, and no test may leave a 500 behind. The result stands for the daemon once started.
 */
export function useTestDaemon(options: Pick<DaemonOptions, 'plugins'> = {}): TestDaemon {
  let started: TestDaemon | undefined;
  beforeAll(async () => {
    started = await startTestDaemon(options);
  });
  afterAll(async () => {
    await started?.cleanup();
  });
  afterEach(() => {
    expect(started?.internalErrors).toEqual([]);
  });
  return new Proxy({} as TestDaemon, {
    get(_target, key) {
      if (!started) throw new Error('the test daemon is not started yet (use it inside tests and hooks)');
      return Reflect.get(started, key) as unknown;
    },
  });
}
