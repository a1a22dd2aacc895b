import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PatternMatcher, readDockerignore } from '@ctr/dockerfile';
import { aborted } from '@ctr/errors';
import { TAR_END, encodeTarHeader, tarDataEntry, tarFileEntry, type TarWriteHeader } from '@ctr/image';

const CHUNK = 1 << 20;

export interface ContextTarOptions {
  /** The Dockerfile's path in the context: sent even when `.dockerignore` names it, as docker does. */
  dockerfile?: string;
  /** Sent as the Dockerfile's content in place of the file's (content trust's FROM lines resolved to digests). */
  dockerfileContent?: Buffer;
  /**
   * Extra files added at the top of the context (a Dockerfile read from stdin or from outside
   * the context), and listed in the `.dockerignore` sent (one made when there is none), as
   * docker's AddDockerfileToBuildContext lists its: the daemon reads them, COPY never sees them.
   */
  extra?: Record<string, Buffer>;
  signal?: AbortSignal;
}

/**
 * A build context directory as the tar `docker build` sends: what `.dockerignore` excludes
 * is left out (an excluded directory is not even read unless a `!` pattern may re-include
 * something inside it, or the Dockerfile is in it), owners are 0:0, links stay links, and
 * contents are streamed.
 */
export function contextTar(dir: string, options: ContextTarOptions = {}): Readable {
  return Readable.from(entries(path.resolve(dir), options), { objectMode: false, highWaterMark: CHUNK });
}

async function* entries(root: string, options: ContextTarOptions): AsyncGenerator<Buffer> {
  const ignore = new PatternMatcher(readDockerignore(await fs.readFile(path.join(root, '.dockerignore'), 'utf8').catch(() => '')));
  const dockerfile = path.posix.normalize(options.dockerfile ?? 'Dockerfile');
  const always = new Set(['.dockerignore', dockerfile]);
  const extra = Object.entries(options.extra ?? {});
  const ignoringExtra = (rules: string): Buffer => Buffer.from(`${rules}\n${extra.map(([name]) => name).join('\n')}\n`);
  let ignoreSent = false;
  const stack: string[] = [''];
  while (stack.length > 0) {
    if (options.signal?.aborted) throw aborted(options.signal, 'sending the build context');
    const rel = stack.pop() as string;
    const abs = rel ? path.join(root, rel) : root;
    const stat = await fs.lstat(abs).catch(() => undefined);
    if (!stat) continue;
    const ignored = rel !== '' && !always.has(rel) && ignore.matches(rel);
    // Walked all the same when something inside may be sent: a `!` pattern's file, or the
    // Dockerfile (docker's TrimBuildFilesFromExcludes adds `!<dockerfile>` for it).
    const holdsSent = stat.isDirectory() && (ignore.hasExclusions || [...always].some((name) => name.startsWith(`${rel}/`)));
    if (ignored && !holdsSent) continue;
    const header: TarWriteHeader = { name: rel, type: 'file', mode: stat.mode & 0o7777, uid: 0, gid: 0, mtime: Math.floor(stat.mtimeMs / 1000) };
    const replaced = rel === dockerfile && !stat.isDirectory() ? options.dockerfileContent : undefined;
    if (replaced !== undefined) {
      // A link named as the Dockerfile is replaced too: the builder would read the unresolved file through it.
      yield* tarDataEntry({ ...header, mode: stat.isFile() ? header.mode : 0o644 }, replaced);
    } else if (rel === '.dockerignore' && stat.isFile() && extra.length > 0) {
      yield* tarDataEntry(header, ignoringExtra(await fs.readFile(abs, 'utf8')));
      ignoreSent = true;
    } else if (stat.isDirectory()) {
      if (rel && !ignored) yield encodeTarHeader({ ...header, name: `${rel}/`, type: 'dir' });
      const children = (await fs.readdir(abs)).sort().reverse();
      for (const child of children) stack.push(rel ? `${rel}/${child}` : child);
    } else if (stat.isSymbolicLink()) {
      yield encodeTarHeader({ ...header, type: 'symlink', linkname: await fs.readlink(abs) });
    } else if (stat.isFile()) {
      yield* tarFileEntry(abs, header, stat.size);
    }
  }
  const added = { mode: 0o600, uid: 0, gid: 0, mtime: Math.floor(Date.now() / 1000) };
  for (const [name, data] of extra) yield* tarDataEntry({ name, ...added }, data);
  if (extra.length > 0 && !ignoreSent) yield* tarDataEntry({ name: '.dockerignore', ...added }, ignoringExtra('.dockerignore'));
  yield TAR_END;
}
