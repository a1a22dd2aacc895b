import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export { startTestDaemon, type TestDaemon } from '../../api/test/fixture';

/** The built command; the tests run it as a user would, in its own process. */
export const CTR_BIN = join(__dirname, '..', 'bin', 'ctr.js');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables that would send ctr somewhere other than where a test points it. */
const SELECTING = ['CTR_HOST', 'DOCKER_HOST', 'CTR_CONTEXT', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_TLS', 'DOCKER_CERT_PATH', 'CTR_CERT_PATH', 'CTR_CONFIG'];

/** The test process's environment without any daemon selection, plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SELECTING) delete env[name];
  return { ...env, ...extra };
}

/** Run `ctr args…`; a missing build fails the test with what to do. */
export function ctr(args: string[], options: { env: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number }): Promise<Result> {
  if (!existsSync(join(__dirname, '..', 'dist', 'main.js'))) throw new Error('packages/cli/dist is missing: build first (npx tsc -b packages/cli)');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CTR_BIN, ...args], { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 45_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);
  });
}
