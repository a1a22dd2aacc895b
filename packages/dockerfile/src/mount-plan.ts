import { constants as fsc, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { notFound } from '@ctr/errors';
import { resolveInRoot } from '@ctr/image';
import type { BuildBackend, RunMount } from './backend';
import type { BuildContext } from './build-context';
import { cacheKey } from './cache-key';
import { cleanPath } from './clean-path';
import { hashItems, LayerItem, walkDirectory } from './copy-plan';
import { SyntaxProblem } from './dockerfile-error';
import type { MountFlag } from './run-mount';

/** What resolving a step's mounts needs from the build. */
export interface MountSources<S> {
  backend: BuildBackend<S>;
  context: BuildContext;
  /** `from=`: an earlier stage by name or index, else an image. */
  source(from: string): Promise<{ state: S; key: string }>;
  /** `--secret` contents by id. */
  secrets: ReadonlyMap<string, Uint8Array>;
  /** `--ssh` agent sockets by id. */
  ssh: ReadonlyMap<string, string>;
  /** Where a filtered copy of the context is made when `.dockerignore` hides part of a bind source. */
  scratchDir: string;
  signal: AbortSignal;
}

/** A step's mounts, resolved: what they add to its cache key and environment, and how to lend them. */
export interface MountPlan {
  /** Every mount's definition; bind sources by content, secrets by name only (BuildKit's cache rule). */
  keyParts: string[];
  /** `SSH_AUTH_SOCK`: for the step's process, never in its cache key or history. (`env=` secrets are mounts: see below.) */
  env: string[];
  /** Hold the mounts' sources (views of stages, filtered copies) while `use` runs the step. */
  lend<T>(use: (mounts: RunMount[]) => Promise<T>): Promise<T>;
}

/** Lends one mount's source for the duration of `use`. */
type Lender = <T>(use: (mount: RunMount) => Promise<T>) => Promise<T>;

/** A mount with nothing to hold: lent as it is. */
const now = (mount: RunMount): Lender => (use) => use(mount);

/**
 * Turn a RUN's `--mount` flags into backend mounts, with BuildKit's defaults: targets relative
 * to WORKDIR, cache ids defaulting to the target, secrets at `/run/secrets/<id>` (mode 0400),
 * ssh agents at `/run/buildkit/ssh_agent.<n>` (mode 0600), cache directories 0755 root.
 */
export async function planMounts<S>(flags: readonly MountFlag[], workdir: string, sources: MountSources<S>): Promise<MountPlan> {
  const keyParts: string[] = [];
  const env: string[] = [];
  const lenders: Lender[] = [];
  const targetOf = (written: string): string => {
    const target = cleanPath(written.startsWith('/') ? written : `${workdir}/${written}`);
    if (target === '/') throw new SyntaxProblem(`invalid mount target "${written}"`);
    return target;
  };
  const required = (m: MountFlag): string => {
    if (!m.target) throw new SyntaxProblem(`type=${m.type} mount needs a target (target=<path in the container>)`);
    return targetOf(m.target);
  };
  let sshIndex = 0;
  for (const m of flags) {
    switch (m.type) {
      case 'bind': {
        const target = required(m);
        const source = cleanPath('/' + (m.source ?? ''));
        if (m.from !== undefined && m.from !== '') {
          const from = await sources.source(m.from);
          keyParts.push(JSON.stringify(['bind', target, m.readOnly, from.key, source]));
          lenders.push((use) =>
            sources.backend.view(from.state, (root) => use({ type: 'bind', target, source: existing(root, source, `--mount from=${m.from}`).abs, readOnly: m.readOnly }), sources.signal),
          );
        } else {
          const { hash, lend } = await contextSource(sources, source);
          keyParts.push(JSON.stringify(['bind', target, m.readOnly, 'context', source, hash]));
          lenders.push((use) => lend((abs) => use({ type: 'bind', target, source: abs, readOnly: m.readOnly })));
        }
        break;
      }
      case 'cache': {
        const target = required(m);
        const id = m.id || cleanPath(m.target!);
        const owner = { uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o755 };
        const from = m.from !== undefined && m.from !== '' ? await sources.source(m.from) : undefined;
        const source = cleanPath('/' + (m.source ?? ''));
        // With `from`, its `source` is what the cache starts as; without, the part of the cache shown.
        const key = cacheKey('cache-mount', id, from?.key ?? '', from ? source : '', String(owner.uid), String(owner.gid), String(owner.mode));
        const mount = { type: 'cache' as const, target, id, key, sharing: m.sharing ?? 'shared', readOnly: m.readOnly, subpath: from ? '' : source.slice(1), ...owner };
        keyParts.push(JSON.stringify(['cache', target, key, mount.sharing, m.readOnly, mount.subpath]));
        lenders.push(
          from
            ? (use) => sources.backend.view(from.state, (root) => use({ ...mount, seed: existing(root, source, `--mount from=${m.from}`).abs }), sources.signal)
            : now(mount),
        );
        break;
      }
      case 'tmpfs': {
        const target = required(m);
        keyParts.push(JSON.stringify(['tmpfs', target, m.size ?? '']));
        lenders.push(now({ type: 'tmpfs', target, ...(m.size !== undefined ? { size: m.size } : {}) }));
        break;
      }
      case 'secret': {
        const id = m.source || m.id || path.posix.basename(m.target!);
        const owner = { uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o400 };
        const asEnv = m.env || undefined;
        // With only `env=`, the secret is no file at all.
        const target = m.target ? targetOf(m.target) : asEnv ? undefined : `/run/secrets/${path.posix.basename(id)}`;
        keyParts.push(JSON.stringify(['secret', target ?? '', id, asEnv ?? '', m.required, owner]));
        const data = sources.secrets.get(id);
        if (data === undefined) {
          if (m.required) throw notFound(`secret ${id}: not found`, { hint: `Pass it to the build: --secret id=${id},src=<file> (or env=<variable>).` });
          break;
        }
        // An `env=` secret too reaches the backend as a mount, never in the step's `env`: the
        // backend writes that to its container's spec, and only it knows how to keep a secret off the disk.
        lenders.push(now({ type: 'secret', ...(target ? { target } : {}), ...(asEnv ? { env: asEnv } : {}), data, ...owner }));
        break;
      }
      case 'ssh': {
        if (m.source) throw new SyntaxProblem('ssh does not support source');
        const id = m.id || 'default';
        const target = m.target ? targetOf(m.target) : `/run/buildkit/ssh_agent.${sshIndex}`;
        sshIndex++;
        keyParts.push(JSON.stringify(['ssh', target, id, m.required, m.uid ?? 0, m.gid ?? 0, m.mode ?? 0o600]));
        const socket = sources.ssh.get(id);
        if (socket === undefined) {
          if (m.required) throw notFound(`no SSH key "${id}" forwarded from the client`, { hint: `Forward an agent to the build: --ssh ${id}=$SSH_AUTH_SOCK` });
          break;
        }
        if (!env.some((e) => e.startsWith('SSH_AUTH_SOCK='))) env.push(`SSH_AUTH_SOCK=${target}`);
        lenders.push(now({ type: 'ssh', target, socket, uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o600 }));
        break;
      }
    }
  }
  return {
    keyParts,
    env,
    lend: <T>(use: (mounts: RunMount[]) => Promise<T>): Promise<T> => {
      const next = (i: number, acc: RunMount[]): Promise<T> => (i === lenders.length ? use(acc) : lenders[i]!((mount) => next(i + 1, [...acc, mount])));
      return next(0, []);
    },
  };
}

/** `source` inside a root (`..` clamped, symlinks re-rooted); it must exist. */
function existing(root: string, source: string, what: string): { abs: string; rel: string; stat: Stats } {
  const { abs, rel, stat } = resolveInRoot(root, source);
  if (!stat) throw notFound(`failed to compute cache key: "${source}": not found`, { hint: `${source} does not exist in ${what}.` });
  return { abs, rel, stat };
}

/**
 * A bind source from the context: its content hash (names, types, modes, bytes — COPY's) for
 * the cache key, and how to lend it. The context is lent in place unless `.dockerignore` has
 * rules and the source is a directory: then a copy of what the rules let through is lent.
 */
async function contextSource<S>(sources: MountSources<S>, source: string): Promise<{ hash: string; lend<T>(use: (abs: string) => Promise<T>): Promise<T> }> {
  const context = sources.context;
  const found = existing(context.root, source, 'the build context');
  const src = { root: context.root, ignore: context.ignore, what: 'build context' };
  if (found.rel !== '' && context.ignore.matches(found.rel)) throw notFound(`failed to compute cache key: "${source}": not found`, { hint: `${source} is excluded by .dockerignore.` });
  const items: LayerItem[] = [];
  const dir = found.stat.isDirectory();
  if (dir) await walkDirectory(src, found.rel, '', undefined, items);
  else items.push({ kind: 'file', name: path.basename(found.abs), mode: found.stat.mode & 0o7777, mtime: found.stat.mtime, size: found.stat.size, source: found.abs });
  const hash = await hashItems(items);
  if (!dir || context.ignore.isEmpty) return { hash, lend: (use) => use(found.abs) };
  return {
    hash,
    lend: async (use) => {
      const copy = await fs.mkdtemp(path.join(sources.scratchDir, 'ctr-build-mount-'));
      try {
        await copyItems(items, copy);
        return await use(copy);
      } finally {
        await fs.rm(copy, { recursive: true, force: true });
      }
    },
  };
}

/** Write a walked tree (directories before what they hold) under `dest`. */
async function copyItems(items: readonly LayerItem[], dest: string): Promise<void> {
  for (const item of items) {
    const to = path.join(dest, item.name);
    if (item.kind === 'directory') {
      await fs.mkdir(to);
      await fs.chmod(to, item.mode);
    } else if (item.kind === 'file') {
      await fs.copyFile(item.source, to, fsc.COPYFILE_FICLONE);
      await fs.chmod(to, item.mode);
    } else if (item.kind === 'symlink') await fs.symlink(item.linkname, to);
  }
}
