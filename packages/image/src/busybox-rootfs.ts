import { execFile } from 'node:child_process';
import { chmod, copyFile, lutimes, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CtrError, throwIfAborted } from '@ctr/errors';

const run = promisify(execFile);

/** Where Debian's `busybox-static` puts its statically linked busybox. */
export const HOST_BUSYBOX = '/bin/busybox';

/** The PATH official images set, for configs of images made from this root. */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BusyboxRootfsOptions {
  /** The busybox binary to copy; it must be statically linked. Default `/bin/busybox`. */
  busybox?: string;
  /**
   * Modification time given to every file made, so the same busybox gives the same layer
   * digest (and image ID) every time. Default 2000-01-01T00:00:00Z.
   */
  mtime?: Date;
  signal?: AbortSignal;
}

export interface BusyboxRootfs {
  dir: string;
  /** Applet names linked in `/bin` (`sh`, `ls`, …). */
  applets: string[];
}

const NO_BUSYBOX_HINT = 'install the busybox-static package (scripts/setup-host.sh does)';

const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

const DIRECTORIES: ReadonlyArray<readonly [string, number]> = [
  ['bin', 0o755],
  ['etc', 0o755],
  ['home', 0o755],
  ['root', 0o700],
  ['tmp', 0o1777],
  ['proc', 0o755],
  ['sys', 0o755],
  ['dev', 0o755],
  ['var', 0o755],
  ['usr', 0o755],
  ['usr/bin', 0o755],
];

const FILES: ReadonlyArray<readonly [string, string]> = [
  ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n'],
  ['etc/group', 'root:x:0:\nnobody:x:65534:\n'],
];

/**
 * Make a minimal root filesystem in `dir` from the host's static busybox: `/bin/busybox`
 * with a symlink per applet, `/etc/passwd` and `/etc/group` (root, nobody), `/tmp` (1777),
 * `/root`, and the `/proc`, `/sys`, `/dev` mount points. This is how ctr makes a base image
 * with no internet; import it with `importRootfs(store, { dir }, …)`.
 */
export async function createBusyboxRootfs(dir: string, options: BusyboxRootfsOptions = {}): Promise<BusyboxRootfs> {
  const busybox = options.busybox ?? HOST_BUSYBOX;
  // A second run into the same directory: leave what is there to the user rather than write over it.
  if ((await readdir(join(dir, 'bin')).catch(() => [])).length > 0) {
    throw new CtrError('AlreadyExists', `${dir} already holds a root filesystem (${join(dir, 'bin')} is not empty)`, {
      hint: 'give a new or empty directory, or import the one already there',
    });
  }
  const applets = await listApplets(busybox, options.signal);
  for (const [path, mode] of DIRECTORIES) {
    await mkdir(join(dir, path), { recursive: true });
    await chmod(join(dir, path), mode); // mkdir's mode is filtered by the umask; chmod is not
  }
  throwIfAborted(options.signal, 'creating the busybox root filesystem');
  await copyFile(busybox, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of applets) await symlink('busybox', join(dir, 'bin', applet));
  for (const [path, content] of FILES) await writeFile(join(dir, path), content, { mode: 0o644 });
  await setTimes(dir, options.mtime ?? FIXED_MTIME);
  return { dir, applets };
}

async function listApplets(busybox: string, signal: AbortSignal | undefined): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run(busybox, ['--list'], signal ? { signal } : {}));
  } catch (cause) {
    throwIfAborted(signal, 'listing busybox applets');
    throw new CtrError('Unavailable', `cannot run ${busybox} to list its applets: ${(cause as Error).message}`, {
      cause,
      hint: busybox === HOST_BUSYBOX ? NO_BUSYBOX_HINT : undefined,
    });
  }
  // An applet name becomes a file name: keep only plain names.
  const applets = stdout
    .split('\n')
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'busybox' && !name.includes('/') && name !== '.' && name !== '..');
  // Some other program at that path ran and printed nothing of use: an image with no `sh` would only fail later, at `ctr run`.
  if (applets.length === 0) {
    throw new CtrError('InvalidArgument', `${busybox} is not busybox: \`${busybox} --list\` printed no applets`, {
      hint: busybox === HOST_BUSYBOX ? NO_BUSYBOX_HINT : 'give the path of a statically linked busybox',
    });
  }
  return applets;
}

async function setTimes(dir: string, mtime: Date): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await setTimes(path, mtime);
    await lutimes(path, mtime, mtime);
  }
  await lutimes(dir, mtime, mtime);
}
