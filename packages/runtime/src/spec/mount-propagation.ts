import { readFileSync, realpathSync } from 'node:fs';
import { goPathError, invalidArgument } from '@ctr/errors';
import type { BindMount, RunOptions, SourceMount } from '../types';

/** The propagations that need the source's mount to propagate too (moby's ensureShared, ensureSharedOrSlave). */
const NEEDS: Partial<Record<NonNullable<BindMount['propagation']>, 'shared' | 'shared or slave'>> = {
  shared: 'shared',
  rshared: 'shared',
  slave: 'shared or slave',
  rslave: 'shared or slave',
};

/** mountinfo's octal escapes (`\040` for a space) undone. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** `path` as one shell word: as it is when it needs no quoting, else in single quotes. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * moby's getSourceMount over a mount table: the mount `path` (symlinks resolved) lives on —
 * the deepest mountpoint above it, the last of those stacked there being the one seen.
 */
export function sourceMountIn(mountinfo: string, path: string): SourceMount | undefined {
  let found: SourceMount | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (separator < 6) continue;
    const mountpoint = unescape(fields[4] as string);
    const above = mountpoint === '/' || path === mountpoint || path.startsWith(`${mountpoint}/`);
    if (above && mountpoint.length >= (found?.mountpoint.length ?? 0)) found = { mountpoint, optional: fields.slice(6, separator).join(' ') };
  }
  return found;
}

/** The host mounts of the bind sources that ask for shared or slave propagation, read from this process's mount table. */
export function bindSourceMounts(options: RunOptions): Record<string, SourceMount> {
  const sources = (options.mounts ?? []).flatMap((m) => (m.type === 'bind' && m.propagation && NEEDS[m.propagation] ? [m.source] : []));
  if (sources.length === 0) return {};
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const out: Record<string, SourceMount> = {};
  for (const source of sources) {
    let real: string;
    try {
      real = realpathSync(source);
    } catch (error) {
      throw invalidArgument(goPathError(error, source));
    }
    const mount = sourceMountIn(mountinfo, real);
    if (!mount) throw invalidArgument(`Can't find mount point of ${source}`);
    out[source] = mount;
  }
  return out;
}

/** A bind's propagation refused as moby refuses it when the source's mount does not propagate that way; the rootfs propagation it needs. */
export function checkBindPropagation(source: string, propagation: BindMount['propagation'], mount: SourceMount | undefined): 'shared' | 'rslave' | undefined {
  const needs = propagation && NEEDS[propagation];
  if (!needs) return undefined;
  if (mount) {
    const optional = mount.optional.split(' ');
    const ok = optional.some((o) => o.startsWith('shared:') || (needs === 'shared or slave' && o.startsWith('master:')));
    if (!ok) {
      throw invalidArgument(`path ${source} is mounted on ${mount.mountpoint} but it is not a ${needs} mount`, {
        hint: `\`mount --make-rshared ${shellWord(mount.mountpoint)}\` on the host makes it shared; or bind with another propagation than ${propagation}`,
      });
    }
  }
  return needs === 'shared' ? 'shared' : 'rslave';
}
