/**
 * `--tmpfs /x:opts` and a `--mount` tmpfs's `TmpfsOptions.Options` reach the container as
 * dockerd's do: `noexec,nosuid,nodev` by default, `exec` (and the other options given) over
 * them (real runc, overlayfs).
 */
import { parseTmpfsSpec } from '@ctr/engine';
import type { ApiMount } from '@ctr/engine';
import { collector, testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

/** Writes a script into /x and runs it, after showing how /x is mounted. */
const RUN_FROM_X = "grep ' /x ' /proc/mounts; printf '#!/bin/sh\\necho ran\\n' > /x/s; chmod +x /x/s; /x/s";

async function run(options: { tmpfs?: string[]; mountSpecs?: ApiMount[] }): Promise<{ exitCode: number; out: string; err: string }> {
  const stdout = collector();
  const stderr = collector();
  const { exitCode } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', autoRemove: true, cmd: ['sh', '-c', RUN_FROM_X], stdout, stderr, ...options });
  return { exitCode: exitCode ?? -1, out: stdout.text(), err: stderr.text() };
}

test('--tmpfs keeps size, mode and ro as such and the other options as given', () => {
  expect(parseTmpfsSpec('/x:size=1m,exec,mode=700,uid=1000,ro')).toEqual({ type: 'tmpfs', target: '/x', size: '1m', mode: 0o700, readOnly: true, options: ['exec', 'uid=1000'] });
});

test('a --tmpfs without options is noexec: a program on it cannot be run', async () => {
  const { exitCode, out, err } = await run({ tmpfs: ['/x'] });
  expect(out).toMatch(/^tmpfs \/x tmpfs rw,nosuid,nodev,noexec,/);
  expect(err).toMatch(/Permission denied/);
  expect(exitCode).toBe(126);
});

test('--tmpfs /x:exec lets a program on it run', async () => {
  const { exitCode, out } = await run({ tmpfs: ['/x:exec,uid=1000'] });
  expect(out).toMatch(/^tmpfs \/x tmpfs rw,nosuid,nodev,relatime,.*uid=1000/);
  expect(out).toMatch(/\nran\n$/);
  expect(exitCode).toBe(0);
});

test("a --mount tmpfs's exec option lets a program on it run", async () => {
  const { exitCode, out } = await run({ mountSpecs: [{ Type: 'tmpfs', Target: '/x', TmpfsOptions: { Mode: 0o1770, Options: [['exec']] } }] });
  expect(out).toMatch(/^tmpfs \/x tmpfs rw,nosuid,nodev,relatime,.*mode=1770/);
  expect(out).toMatch(/\nran\n$/);
  expect(exitCode).toBe(0);
});

test("a --tmpfs option a tmpfs cannot take is refused in dockerd's words", async () => {
  await expect(t.engine.create({ image: 'busybox', pull: 'never', network: 'none', tmpfs: ['/x:bogus'] })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'Invalid tmpfs option ["bogus"]',
  });
});
