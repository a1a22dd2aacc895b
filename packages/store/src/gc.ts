import { promises as fs } from 'node:fs';
import { isNotFound, throwIfAborted } from '@ctr/errors';
import type { Descriptor, Digest } from '@ctr/image';
import type { LocalContentStore } from './content-store';
import type { ImageIndex } from './image-index';
import type { LeaseManager } from './leases';
import { blobReferences } from './references';
import type { OverlaySnapshotter } from './snapshotter';

export interface GcResult {
  removedBlobs: Digest[];
  removedSnapshots: string[];
  expiredLeases: string[];
  /** Bytes of blobs removed. */
  reclaimed: number;
}

export interface GcParts {
  content: LocalContentStore;
  snapshots: OverlaySnapshotter;
  images: ImageIndex;
  leases: LeaseManager;
}

/**
 * Mark and sweep. Roots: every image's target and every live lease's resources. Marking
 * follows indexes → manifests → configs and layers, and each config's layer chain to its
 * snapshots. Active and view snapshots (containers) keep their ancestors. Anything that
 * appeared after gc started is left alone, which with leases makes gc safe against a pull,
 * build or commit running at the same time.
 */
export async function collectGarbage(parts: GcParts, options: { signal?: AbortSignal } = {}): Promise<GcResult> {
  const started = Date.now();
  const what = 'garbage collection';
  const expiredLeases = await parts.leases.expire(started);
  const leases = await parts.leases.active(started);
  const images = await parts.images.list();

  const blobs = new Set<Digest>();
  const snapshots = new Set<string>();
  const queue: Pick<Descriptor, 'digest' | 'mediaType'>[] = images.map((i) => i.target);
  for (const lease of leases) {
    for (const r of lease.resources) {
      if (r.type === 'content') queue.push({ digest: r.id as Digest, mediaType: '' });
      else snapshots.add(r.id);
    }
  }
  for (let next = queue.pop(); next; next = queue.pop()) {
    throwIfAborted(options.signal, what);
    if (blobs.has(next.digest)) continue;
    blobs.add(next.digest);
    try {
      const refs = await blobReferences(parts.content, next);
      queue.push(...refs.children);
      for (const id of refs.chainIds) snapshots.add(id);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  const result: GcResult = { removedBlobs: [], removedSnapshots: [], expiredLeases, reclaimed: 0 };
  for await (const blob of parts.content.walk(options.signal)) {
    if (blobs.has(blob.digest)) continue;
    const stat = await fs.stat(parts.content.blobPath(blob.digest)).catch(() => undefined);
    if (!stat || stat.mtimeMs >= started) continue;
    try {
      await parts.content.delete(blob.digest);
      result.removedBlobs.push(blob.digest);
      result.reclaimed += blob.size;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  await sweepSnapshots(parts.snapshots, snapshots, started, result, options.signal);
  return result;
}

async function sweepSnapshots(
  snapshotter: OverlaySnapshotter,
  marked: Set<string>,
  started: number,
  result: GcResult,
  signal?: AbortSignal,
): Promise<void> {
  const db = await snapshotter.table();
  const keep = new Set<string>();
  const hold = (name: string | undefined): void => {
    for (let n = name; n !== undefined && !keep.has(n); n = db.snapshots[n]?.parent) keep.add(n);
  };
  for (const [name, record] of Object.entries(db.snapshots)) {
    if (record.kind !== 'committed' || marked.has(name) || Date.parse(record.updated) >= started) hold(name);
  }
  // Children before parents: remove leaves until nothing removable is left.
  for (let removed = true; removed; ) {
    removed = false;
    const current = await snapshotter.table();
    const parents = new Set(Object.values(current.snapshots).map((r) => r.parent));
    for (const name of Object.keys(current.snapshots)) {
      throwIfAborted(signal, 'garbage collection');
      if (keep.has(name) || parents.has(name)) continue;
      try {
        await snapshotter.remove(name);
        result.removedSnapshots.push(name);
        removed = true;
      } catch (error) {
        if (!isNotFound(error) && (error as { code?: string }).code !== 'Conflict') throw error;
      }
    }
  }
}
