/**
 * A tmpfs mount's options as dockerd sets them (`--tmpfs /x:opts`, a `--mount` tmpfs): its
 * defaults `noexec,nosuid,nodev`, the user's options over them (the later of a kind wins, so
 * `exec` lifts `noexec`), `size=`, `mode=`, `uid=`, `gid=` and `ro` — in the spec, and in force
 * inside the container (real runc).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { generateSpec, type RunOptions, type TmpfsMount } from '@ctr/runtime';
import { Collector, testBed, type TestBed } from './helpers';

function tmpfsOptions(mount: Omit<TmpfsMount, 'type' | 'target'>): string[] | undefined {
  const spec = generateSpec({ Cmd: ['sh'] }, { mounts: [{ type: 'tmpfs', target: '/x', ...mount }] }, { id: 'tmpfs-spec', rootfs: '/rootfs' });
  return spec.mounts.find((m) => m.destination === '/x')?.options;
}

describe('in the spec', () => {
  test("a tmpfs gets dockerd's defaults: noexec, nosuid, nodev, rprivate, and no mode", () => {
    expect(tmpfsOptions({})).toEqual(['noexec', 'nosuid', 'nodev', 'rprivate']);
  });

  test('exec, suid and dev replace their defaults', () => {
    expect(tmpfsOptions({ options: ['exec', 'suid', 'dev'] })).toEqual(['rprivate', 'exec', 'suid', 'dev']);
  });

  test('of two options of a kind the later is kept', () => {
    expect(tmpfsOptions({ options: ['exec', 'noexec', 'uid=1', 'uid=2'] })).toEqual(['nosuid', 'nodev', 'rprivate', 'noexec', 'uid=2']);
  });

  test('size, mode, uid, gid and ro are passed on', () => {
    expect(tmpfsOptions({ size: '1m', mode: 0o1770, readOnly: true, options: ['uid=1000', 'gid=1000'] })).toEqual([
      'noexec', 'nosuid', 'nodev', 'rprivate', 'uid=1000', 'gid=1000', 'size=1048576', 'mode=1770', 'ro',
    ]);
  });

  test("an option a tmpfs cannot take is refused in dockerd's words", () => {
    expect(() => tmpfsOptions({ options: ['bogus'] })).toThrow('Invalid tmpfs option ["bogus"]');
    expect(() => tmpfsOptions({ options: ['foo=bar'] })).toThrow('Invalid tmpfs option ["foo" "bar"]');
  });
});

describe('inside the container', () => {
  let bed: TestBed;
  let n = 0;
  beforeAll(async () => {
    bed = await testBed();
  });
  afterAll(async () => {
    await bed?.cleanup();
  });

  /** Runs `script` with a tmpfs at /x; gives its exit code and output. */
  async function withTmpfs(mount: Omit<TmpfsMount, 'type' | 'target'>, script: string, prepare?: (rootfs: string) => Promise<void>): Promise<{ exitCode: number; out: string; err: string }> {
    const id = `tmpfs${n++}`;
    const rootfs = await bed.rootfs();
    await prepare?.(rootfs);
    const stdout = new Collector();
    const stderr = new Collector();
    const run: RunOptions = { mounts: [{ type: 'tmpfs', target: '/x', ...mount }] };
    await bed.runtime.create(id, { rootfs, image: { Cmd: ['sh', '-c', script] }, run });
    try {
      const { attached } = await bed.runtime.start(id, { attach: { stdout, stderr } });
      const { exitCode } = await bed.runtime.wait(id);
      await attached;
      return { exitCode, out: stdout.text(), err: stderr.text() };
    } finally {
      await bed.runtime.delete(id, { force: true });
    }
  }

  /** Writes a script into /x and runs it. */
  const RUN_FROM_X = "grep ' /x ' /proc/mounts; printf '#!/bin/sh\\necho ran\\n' > /x/s; chmod +x /x/s; /x/s";

  test('a default tmpfs is mounted noexec, nosuid, nodev: a program on it cannot be run', async () => {
    const { exitCode, out, err } = await withTmpfs({}, RUN_FROM_X);
    expect(out).toMatch(/^tmpfs \/x tmpfs rw,nosuid,nodev,noexec,/);
    expect(err).toMatch(/Permission denied/);
    expect(exitCode).toBe(126);
  });

  test('with exec, a program on the tmpfs runs', async () => {
    const { exitCode, out } = await withTmpfs({ options: ['exec'] }, RUN_FROM_X);
    expect(out).toMatch(/^tmpfs \/x tmpfs rw,nosuid,nodev,relatime/);
    expect(out).not.toContain('noexec');
    expect(out).toMatch(/\nran\n$/);
    expect(exitCode).toBe(0);
  });

  test('size, mode, uid and gid are the mount\'s', async () => {
    const { exitCode, out } = await withTmpfs({ size: '1m', mode: 0o1770, options: ['uid=1000', 'gid=1001'] }, "grep ' /x ' /proc/mounts; stat -c '%a %u %g' /x");
    expect(exitCode).toBe(0);
    expect(out).toMatch(/^tmpfs \/x tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770,uid=1000,gid=1001/);
    expect(out).toMatch(/\n1770 1000 1001\n$/);
  });

  test('ro mounts it read-only', async () => {
    const { exitCode, out, err } = await withTmpfs({ readOnly: true }, "grep ' /x ' /proc/mounts; touch /x/f");
    expect(out).toMatch(/^tmpfs \/x tmpfs ro,nosuid,nodev,noexec,/);
    expect(err).toMatch(/Read-only file system/);
    expect(exitCode).not.toBe(0);
  });

  test('without a mode, the tmpfs takes the mode of the directory it covers, as under dockerd', async () => {
    const { out } = await withTmpfs({}, "stat -c '%a' /x", (rootfs) => mkdir(path.join(rootfs, 'x'), { mode: 0o750 }));
    expect(out).toBe('750\n');
  });

  test('without a mode over no directory, the tmpfs is 1777', async () => {
    const { out } = await withTmpfs({}, "stat -c '%a' /x");
    expect(out).toBe('1777\n');
  });
});
