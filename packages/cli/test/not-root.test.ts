import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, type ProcessResult } from '../../../test/support/run-process';
import { CTR_BIN, cleanEnv } from './remote-fixture';

/** `ctr args…` as nobody: a real unprivileged process, as a user without sudo runs it. */
function asNobody(args: string[], env: NodeJS.ProcessEnv): Promise<ProcessResult> {
  return runProcess('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', CTR_BIN, ...args], { env });
}

const NEEDS_ROOT =
  "ctr needs root: containers run on real mounts, namespaces and cgroups\nrun it as root (sudo ctr …), or drive a ctr daemon that runs as root with -H or 'ctr context use'\n";

describe('ctr as a user other than root', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-not-root-'));
    await chmod(dir, 0o755); // nobody may look, not write: a root it could make would show the check came too late
    env = cleanEnv({ CTR_ROOT: join(dir, 'root'), CTR_RUNROOT: join(dir, 'run'), HOME: dir });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a command on the local engine says ctr needs root, with status 125, and touches nothing', async () => {
    expect(await asNobody(['ps'], env)).toEqual({ code: 125, stdout: '', stderr: NEEDS_ROOT });
    expect(existsSync(join(dir, 'root'))).toBe(false);
  });

  test('run says the same before it pulls or mounts anything', async () => {
    expect(await asNobody(['run', '--rm', '--pull', 'never', 'busybox', 'true'], env)).toEqual({ code: 125, stdout: '', stderr: NEEDS_ROOT });
  });

  test('help needs no root', async () => {
    const result = await asNobody(['ps', '--help'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage:  ctr ps [OPTIONS]');
  });

  test('a remote daemon (-H) is reached without the root check', async () => {
    const result = await asNobody(['-H', `unix://${join(dir, 'none.sock')}`, 'ps'], env);
    expect(result.stderr).toBe(`Cannot connect to the ctr daemon at unix://${join(dir, 'none.sock')}. Is the daemon running?\n`);
  });

  test('context commands need no root', async () => {
    expect((await asNobody(['context', 'ls', '-q'], env)).stdout).toBe('default\n');
  });
});
