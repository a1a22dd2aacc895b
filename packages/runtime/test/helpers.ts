import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Runtime } from '@ctr/runtime';
export { isMountPoint, mountsUnder } from '../../../test/support/mounts';

/** A busybox root filesystem made from the host's static /bin/busybox. */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  await fs.mkdir(path.join(dir, 'bin'), { recursive: true });
  await fs.copyFile('/bin/busybox', path.join(dir, 'bin', 'busybox'));
  await fs.chmod(path.join(dir, 'bin', 'busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  await Promise.all(applets.map((a) => fs.symlink('busybox', path.join(dir, 'bin', a))));
  await fs.mkdir(path.join(dir, 'etc'));
  await fs.mkdir(path.join(dir, 'tmp'), { mode: 0o1777 });
  await fs.writeFile(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await fs.writeFile(path.join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  return dir;
}

export interface TestBed {
  base: string;
  runtime: Runtime;
  cgroupParent: string;
  /** A fresh busybox rootfs directory for one container. */
  rootfs(): Promise<string>;
  cleanup(): Promise<void>;
}

let counter = 0;

/** A root, run root and cgroup parent of this test file's own, removed by `cleanup`. */
export async function testBed(): Promise<TestBed> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-runtime-'));
  const cgroupParent = `/ctr-test-${process.pid}-${counter++}`;
  const runtime = new Runtime({ root: path.join(base, 'root'), runRoot: path.join(base, 'run'), cgroupParent });
  const template = await makeBusyboxRootfs(path.join(base, 'template'));
  let n = 0;
  return {
    base,
    runtime,
    cgroupParent,
    async rootfs() {
      const dir = path.join(base, `rootfs-${n++}`);
      await fs.cp(template, dir, { recursive: true, verbatimSymlinks: true });
      return dir;
    },
    async cleanup() {
      for (const c of await runtime.list()) await runtime.delete(c.id, { force: true }).catch(() => undefined);
      for (const controller of await fs.readdir('/sys/fs/cgroup')) {
        await fs.rmdir(path.join('/sys/fs/cgroup', controller, cgroupParent)).catch(() => undefined);
      }
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

/** Cgroup directories left under `parent` in any v1 controller. */
export async function leftoverCgroups(parent: string): Promise<string[]> {
  const out: string[] = [];
  for (const controller of await fs.readdir('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', controller, parent);
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) out.push(path.join(dir, e.name));
  }
  return out;
}

/** A writable that keeps what it is given, for asserting on output. */
export class Collector extends Writable {
  private chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Retry `check` until it stops throwing (state that another process updates), up to `ms`. */
export async function eventually<T>(check: () => Promise<T>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
