import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { CtrError } from '@ctr/errors';

/**
 * Find an executable: an explicit path is checked, a bare name is searched on PATH.
 * The error says every place it looked, so "runtime not found" is never opaque.
 */
export async function findExecutable(name: string, explicit?: string): Promise<string> {
  const candidates = explicit
    ? [explicit]
    : (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(':')
        .filter(Boolean)
        .map((dir) => path.join(dir, name));
  const tried: string[] = [];
  for (const candidate of candidates) {
    try {
      await fs.access(candidate, fsc.X_OK);
      const stat = await fs.stat(candidate);
      if (stat.isFile()) return candidate;
      tried.push(`${candidate}: not a file`);
    } catch (error) {
      tried.push(`${candidate}: ${(error as NodeJS.ErrnoException).code ?? 'not usable'}`);
    }
  }
  throw new CtrError('Unavailable', `${name} not found (tried ${tried.join('; ')})`, {
    hint: explicit ? `check the path given for ${name}` : `install ${name} (Debian package "${name}") or give its path in the Runtime options`,
  });
}

const LIMIT_NAMES: Record<string, string> = {
  'Max cpu time': 'cpu', 'Max file size': 'fsize', 'Max data size': 'data', 'Max stack size': 'stack',
  'Max core file size': 'core', 'Max resident set': 'rss', 'Max processes': 'nproc', 'Max open files': 'nofile',
  'Max locked memory': 'memlock', 'Max address space': 'as', 'Max file locks': 'locks',
  'Max pending signals': 'sigpending', 'Max msgqueue size': 'msgqueue', 'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio', 'Max realtime timeout': 'rttime',
};

/** This process's hard rlimits (from /proc/self/limits), by Docker's ulimit names; unlimited ones are left out. */
export function parseLimits(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const name = match && LIMIT_NAMES[match[1] as string];
    if (!match || !name || match[3] === 'unlimited') continue;
    out[name] = Number(match[3]);
  }
  return out;
}

export async function hostRlimitCeilings(): Promise<Record<string, number>> {
  return parseLimits(await fs.readFile('/proc/self/limits', 'utf8'));
}

/** Whether cgroup v1 accounts swap; without it a memory+swap limit cannot be written. */
export async function hasSwapAccounting(): Promise<boolean> {
  try {
    await fs.access('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
    return true;
  } catch {
    return false;
  }
}
