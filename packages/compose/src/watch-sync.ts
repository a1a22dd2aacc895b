import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { tarTrees, type ContainerSummary } from '@ctr/engine';
import { CtrError } from '@ctr/errors';
import { containerName, type ComposeEngine } from './labels';

/** A changed host path and where it goes in the service's containers. */
export interface PathMapping {
  host: string;
  container: string;
}

/**
 * compose's tar syncer: the changed paths brought into each of the containers. What still
 * exists on the host goes in as one tar extracted at `/` (streamed from the files, a
 * directory with everything below it); what no longer does is removed with `rm -rf` run in
 * the container, as compose removes it.
 */
export async function syncPaths(engine: ComposeEngine, containers: readonly ContainerSummary[], mappings: readonly PathMapping[], signal?: AbortSignal): Promise<void> {
  const copies: PathMapping[] = [];
  const deletes: string[] = [];
  for (const mapping of unique(mappings)) {
    if (await lstat(mapping.host).catch(() => undefined)) copies.push(mapping);
    else deletes.push(mapping.container);
  }
  const roots = outermost(copies).map((mapping) => ({ path: mapping.host, name: mapping.container.replace(/^\/+/, '') }));
  await Promise.all(
    containers.map(async (container) => {
      if (deletes.length > 0) await removeIn(engine, container, deletes, signal);
      if (roots.length > 0) await engine.putArchive(container.Id, '/', tarTrees(roots, signal ? { signal } : {}), signal ? { signal } : {});
    }),
  );
}

function unique(mappings: readonly PathMapping[]): PathMapping[] {
  return [...new Map(mappings.map((mapping) => [`${mapping.host}\0${mapping.container}`, mapping])).values()];
}

/** The copies without those another one's directory brings in already (a new directory and each file in it). */
function outermost(copies: readonly PathMapping[]): PathMapping[] {
  const within = (inner: PathMapping, outer: PathMapping): boolean =>
    inner.host.startsWith(`${outer.host}/`) && inner.container === path.posix.join(outer.container, path.relative(outer.host, inner.host));
  return copies.filter((copy) => !copies.some((other) => other !== copy && within(copy, other)));
}

/** `rm -rf` of the paths in the container, its complaint (and exit code) the error when it fails. */
async function removeIn(engine: ComposeEngine, container: ContainerSummary, paths: readonly string[], signal: AbortSignal | undefined): Promise<void> {
  let stderr = '';
  const collect = new Writable({
    write(chunk: Buffer, _encoding, done): void {
      stderr += chunk.toString();
      done();
    },
  });
  const { exitCode } = await engine.exec(container.Id, { cmd: ['rm', '-rf', ...paths], stderr: collect, ...(signal ? { signal } : {}) });
  if (exitCode !== 0) {
    throw new CtrError('Internal', `deleting paths in ${containerName(container)}: exit code ${exitCode}${stderr.trim() ? `: ${stderr.trim()}` : ''}`, {
      hint: 'the sync removes deleted files with the container\'s own `rm`: the image needs one',
    });
  }
}
