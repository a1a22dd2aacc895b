import { closeSync, constants as fsc, lstatSync, mkdirSync, openSync, type Stats, symlinkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument } from '@ctr/errors';

const DIRS = ['proc', 'sys', 'dev', 'etc'];
const FILES = ['etc/hosts', 'etc/resolv.conf', 'etc/hostname'];
/**
 * The rest of Docker's init layer (moby's initlayer.Setup), made where the image has nothing
 * there: mount points under the /dev tmpfs runc mounts (the container never sees them, an
 * export does), and /etc/mtab for the tools that read it.
 */
const INIT_LAYER_DIRS = ['dev/pts', 'dev/shm'];
const INIT_LAYER_FILES = ['dev/console'];
const MTAB = 'etc/mtab';
const MTAB_TARGET = '/proc/mounts';
/** moby's init layer makes its files 0755 (`os.OpenFile(…, O_CREATE, 0755)`), as an export shows them. */
const INIT_FILE_MODE = 0o755;

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

/**
 * R3: the places runc mounts over must be real directories and files of the rootfs, never
 * symlinks an image planted (a `/dev` symlink lets runc write on the host). Like Docker's
 * init layer, make them real; nothing is followed. An image whose /etc is not a
 * directory is refused rather than repaired. A handful of metadata calls on a freshly
 * mounted overlay: made directly, as the runtime's other small files are.
 */
export async function prepareRootfs(rootfs: string): Promise<void> {
  const root = lstatOrNull(rootfs);
  if (!root?.isDirectory()) throw invalidArgument(`rootfs ${rootfs} is not a directory`);
  for (const name of DIRS) {
    const p = path.join(rootfs, name);
    const stat = lstatOrNull(p);
    if (stat?.isDirectory()) continue;
    if (stat && name === 'etc') throw invalidArgument('the image\'s /etc is not a directory', { hint: 'rebuild the image with a real /etc' });
    if (stat) unlinkSync(p);
    mkdirSync(p, { mode: 0o755 });
  }
  for (const name of FILES) {
    const p = path.join(rootfs, name);
    const stat = lstatOrNull(p);
    if (stat?.isFile()) continue;
    if (stat?.isDirectory()) throw invalidArgument(`the image's /${name} is a directory`, { hint: `/${name} must be a file` });
    if (stat) unlinkSync(p);
    closeSync(openSync(p, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY | fsc.O_NOFOLLOW, INIT_FILE_MODE));
  }
  createDockerenv(rootfs);
  createInitLayerRest(rootfs);
}

/** `INIT_LAYER_DIRS`, `INIT_LAYER_FILES` and /etc/mtab where the image has nothing at those paths (their parents are real directories by now). */
function createInitLayerRest(rootfs: string): void {
  const absent = (rel: string): string | undefined => {
    const p = path.join(rootfs, rel);
    return lstatOrNull(p) ? undefined : p;
  };
  for (const rel of INIT_LAYER_DIRS) {
    const p = absent(rel);
    if (p) mkdirSync(p, { mode: 0o755 });
  }
  for (const rel of INIT_LAYER_FILES) {
    const p = absent(rel);
    if (p) closeSync(openSync(p, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY | fsc.O_NOFOLLOW, INIT_FILE_MODE));
  }
  const mtab = absent(MTAB);
  if (mtab) symlinkSync(MTAB_TARGET, mtab);
}

/**
 * Docker's init layer gives every container an empty `/.dockerenv` (mode 0755), which scripts
 * test to tell they run in a container. Nothing mounts over it: whatever the image has there stays.
 */
function createDockerenv(rootfs: string): void {
  try {
    closeSync(openSync(path.join(rootfs, '.dockerenv'), fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY | fsc.O_NOFOLLOW, INIT_FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
