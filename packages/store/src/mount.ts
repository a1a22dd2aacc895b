import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CtrError, throwIfAborted } from '@ctr/errors';
import { run } from './exec';
import { mountBySyscall, unmountBySyscall } from './mount-syscalls';

/**
 * A mount as plain data, as snapshotters return it and the runtime performs it
 * (containerd's words). `target` is relative to the directory given to `mountAll`.
 */
export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

/** The kernel takes mount data up to one page; longer overlay options are made relative. */
const MAX_OPTIONS = 4000;
const PATH_OPTIONS = ['lowerdir', 'upperdir', 'workdir'];

/** Perform `mounts` in order on `target` (each mount's own `target` is relative to it). */
export async function mountAll(mounts: readonly Mount[], target: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  const done: string[] = [];
  try {
    for (const mount of mounts) {
      const where = mount.target ? path.join(target, mount.target) : target;
      await mountOne(mount, where, options.signal);
      done.push(where);
    }
  } catch (error) {
    for (const where of done.reverse()) await unmount(where).catch(() => undefined);
    throw error;
  }
}

/** Every mount point in this process's mount namespace, as paths (mountinfo's octal escapes decoded). */
export async function mountPoints(): Promise<string[]> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => !!point)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

/** Unmount `target` (and, with `recursive`, everything below it). Not mounted → no error. */
export async function unmount(target: string, options: { recursive?: boolean; lazy?: boolean } = {}): Promise<void> {
  if (!options.recursive && (await unmountBySyscall(path.resolve(target), options.lazy ?? false))) return;
  const args = [...(options.recursive ? ['-R'] : []), ...(options.lazy ? ['-l'] : []), target];
  try {
    await run('umount', args);
  } catch (error) {
    const text = error instanceof CtrError ? String(error.details.stderr ?? '') : '';
    if (/not mounted|no mount point specified|mountpoint not found/i.test(text)) return;
    throw error;
  }
}

async function mountOne(mount: Mount, where: string, signal?: AbortSignal): Promise<void> {
  if (mount.type === 'bind' || mount.type === 'rbind') {
    const opts = mount.options.includes('rbind') || mount.type === 'rbind' ? ['rbind'] : ['bind'];
    const rest = mount.options.filter((o) => o !== 'bind' && o !== 'rbind');
    await run('mount', ['-o', [...opts, ...rest].join(','), mount.source, where], { signal });
    return;
  }
  let opts = mount.options;
  let cwd: string | undefined;
  if (opts.join(',').length > MAX_OPTIONS) ({ options: opts, cwd } = relativise(opts));
  throwIfAborted(signal, `mounting ${where}`);
  if (await mountBySyscall(mount.type, mount.source, path.resolve(where), opts, cwd)) return;
  await run('mount', ['-t', mount.type, ...(opts.length ? ['-o', opts.join(',')] : []), mount.source, path.resolve(where)], {
    signal,
    ...(cwd ? { cwd } : {}),
  });
}

/**
 * Make overlay's directory options relative to their longest common parent, to run mount
 * from there: numeric snapshot ids keep each lower dir to a few characters.
 */
function relativise(options: readonly string[]): { options: string[]; cwd: string } {
  const dirs: string[] = [];
  for (const option of options) {
    const [key, value] = splitOption(option);
    if (PATH_OPTIONS.includes(key) && value !== undefined) dirs.push(...value.split(':'));
  }
  const base = commonParent(dirs);
  const rel = (p: string): string => path.relative(base, p) || '.';
  const out = options.map((option) => {
    const [key, value] = splitOption(option);
    return PATH_OPTIONS.includes(key) && value !== undefined ? `${key}=${value.split(':').map(rel).join(':')}` : option;
  });
  if (out.join(',').length > MAX_OPTIONS) {
    throw new CtrError('Unsupported', `overlay mount needs ${out.join(',').length} bytes of options, more than the kernel's one page`, {
      hint: 'the image has too many layers for one overlay mount; squash some layers',
    });
  }
  return { options: out, cwd: base };
}

function splitOption(option: string): [string, string | undefined] {
  const eq = option.indexOf('=');
  return eq < 0 ? [option, undefined] : [option.slice(0, eq), option.slice(eq + 1)];
}

function commonParent(paths: readonly string[]): string {
  const split = paths.map((p) => path.resolve(p).split(path.sep));
  const first = split[0] ?? [''];
  let n = 0;
  while (n < first.length && split.every((parts) => parts[n] === first[n])) n++;
  return first.slice(0, n).join(path.sep) || path.sep;
}
