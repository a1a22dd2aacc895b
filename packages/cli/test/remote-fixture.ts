import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess, type ProcessResult, type RunProcessOptions } from '../../../test/support/run-process';

export { startTestDaemon, type TestDaemon } from '../../api/test/fixture';

/** The built command's launcher; the tests run it as a user would, in its own process. */
export const CTR_BIN = join(__dirname, '..', 'bin', 'ctr');

export type Result = ProcessResult;

/** Variables that would send ctr somewhere other than where a test points it. */
const SELECTING = ['CTR_HOST', 'DOCKER_HOST', 'CTR_CONTEXT', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_TLS', 'DOCKER_CERT_PATH', 'CTR_CERT_PATH', 'CTR_CONFIG'];

/** The test process's environment without any daemon selection, plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SELECTING) delete env[name];
  return { ...env, ...extra };
}

/** Run `ctr args…`; a missing build fails the test with what to do. */
export function ctr(args: string[], options: RunProcessOptions): Promise<Result> {
  if (!existsSync(join(__dirname, '..', 'dist', 'main.js'))) throw new Error('packages/cli/dist is missing: build first (npx tsc -b packages/cli)');
  return runProcess(CTR_BIN, args, options);
}
