import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { digestMismatch, invalidArgument, isAlreadyExists, isNotFound, throwIfAborted } from '@ctr/errors';
import { applyLayer, chainIdOf, type ChainID, type DiffID, type LayerCompression } from '@ctr/image';
import { diskFull, diskUsage } from './fs-util';
import { holderRuns, processAlive, thisProcess } from './holder';
import { layerSize } from './layer-size';
import type { LeaseManager } from './leases';
import type { SnapshotRecord } from './snapshot-metadata';
import type { OverlaySnapshotter } from './snapshotter';

/** One layer to unpack: its diffID and a way to open its (compressed) blob. */
export interface UnpackLayer {
  diffId: DiffID;
  read(): Promise<Readable>;
  compression: LayerCompression;
}

export interface UnpackProgress {
  index: number;
  diffId: DiffID;
  chainId: ChainID;
  status: 'exists' | 'extracting' | 'done';
  /** Uncompressed bytes applied (status `done`). */
  size?: number;
}

export interface UnpackOptions {
  signal?: AbortSignal;
  onProgress?: (progress: UnpackProgress) => void;
  /** Record each committed snapshot in this lease (pull holds one until the image is tagged). */
  lease?: string;
}

/** Labels on extraction snapshots naming the process doing it (`ProcessHolder`), so gc and fsck can tell abandoned ones. */
export const EXTRACT_PID_LABEL = 'ctr.store/extract-pid';
export const EXTRACT_START_LABEL = 'ctr.store/extract-start';
export const EXTRACT_PREFIX = 'extract-';
/**
 * Label on a layer's committed snapshot: the bytes of its own files, as dockerd counts them
 * for an image's size (`layerSize`), measured once, while the layer is fresh in the cache.
 */
export const LAYER_SIZE_LABEL = 'ctr.store/size';

/**
 * Unpack layers into committed snapshots named by chainID, each layer once: a chainID
 * already committed is skipped. Each layer is applied straight into a fresh active
 * snapshot's upper directory (overlay whiteouts), its diffID checked, then committed.
 * Returns the chainID of the top layer.
 */
export async function unpackLayers(
  snapshotter: OverlaySnapshotter,
  layers: readonly UnpackLayer[],
  options: UnpackOptions & { leases?: LeaseManager } = {},
): Promise<ChainID> {
  const chain = chainIdOf(layers.map((l) => l.diffId));
  if (chain.length === 0) throw invalidArgument('unpackLayers needs at least one layer');
  for (const [index, layer] of layers.entries()) {
    throwIfAborted(options.signal, 'unpacking layers');
    const chainId = chain[index] as ChainID;
    const parent = index === 0 ? undefined : (chain[index - 1] as string);
    const report = (status: UnpackProgress['status'], size?: number): void =>
      options.onProgress?.({ index, diffId: layer.diffId, chainId, status, ...(size === undefined ? {} : { size }) });
    // Recorded before it is looked for: an image release sees it held, or has removed it and it is unpacked again.
    await protect(options, chainId);
    if (await committed(snapshotter, chainId)) {
      report('exists');
      continue;
    }
    report('extracting');
    const key = `${EXTRACT_PREFIX}${randomBytes(6).toString('hex')} ${chainId}`;
    const holder = thisProcess();
    await snapshotter.prepare(key, parent, {
      labels: { [EXTRACT_PID_LABEL]: String(holder.pid), [EXTRACT_START_LABEL]: holder.startTime },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const target = await snapshotter.upperDir(key);
    try {
      const stream = await layer.read();
      const result = await applyLayer(target, stream, {
        compression: layer.compression,
        whiteouts: 'overlay',
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (result.diffId !== layer.diffId) {
        throw digestMismatch(`layer ${index} has diffID ${result.diffId}, but the image config says ${layer.diffId}`, {
          hint: 'the layer blob does not belong to this image; nothing was committed',
        });
      }
      const labels = { [LAYER_SIZE_LABEL]: String(await layerSize(target, options.signal)) };
      try {
        await snapshotter.commit(chainId, key, { labels, ...(options.signal ? { signal: options.signal } : {}) });
      } catch (error) {
        // Another unpacker committed the same layer first: theirs is as good as ours.
        if (!isAlreadyExists(error)) throw error;
        await snapshotter.remove(key);
      }
      report('done', result.size);
    } catch (error) {
      // Empty the layer first: on a full disk, removing the record needs the space back.
      await fs.rm(target, { recursive: true, force: true }).catch(() => undefined);
      await snapshotter.remove(key).catch(() => undefined);
      throw diskFull(error, `unpacking layer ${index} (${layer.diffId})`) ?? error;
    }
  }
  return chain[chain.length - 1] as ChainID;
}

/** Whether snapshot `key` is a layer extraction whose process has ended: never to be committed, only a leftover. */
export function extractionAbandoned(key: string, record: Pick<SnapshotRecord, 'kind' | 'labels'>): boolean {
  if (!key.startsWith(EXTRACT_PREFIX) || record.kind !== 'active') return false;
  const pid = Number.parseInt(record.labels[EXTRACT_PID_LABEL] ?? '', 10);
  if (!(pid > 0)) return true;
  const startTime = record.labels[EXTRACT_START_LABEL];
  // Made before extractions recorded their holder's start time: the PID alone decides.
  return startTime === undefined ? !processAlive(pid) : !holderRuns({ pid, startTime });
}

/**
 * Remove the extractions of processes that have ended (`extractionAbandoned`): their records
 * in one write of the table, then their files. Their keys and the bytes freed.
 */
export async function removeAbandonedExtractions(snapshotter: OverlaySnapshotter): Promise<{ removed: string[]; reclaimed: number }> {
  // Looked for without the lock first: every pull sweeps, and most find nothing to remove.
  if (!(await someAbandoned(snapshotter))) return { removed: [], reclaimed: 0 };
  const gone = await snapshotter.repair(async (db) => {
    const found = Object.entries(db.snapshots).filter(([key, record]) => extractionAbandoned(key, record));
    for (const [key] of found) delete db.snapshots[key];
    return found.map(([key, record]) => ({ key, id: record.id }));
  });
  let reclaimed = 0;
  for (const { id } of gone) {
    reclaimed += (await diskUsage(path.join(snapshotter.root, id)).catch(() => ({ size: 0 }))).size;
    await snapshotter.removeDir(id);
  }
  return { removed: gone.map((g) => g.key), reclaimed };
}

async function someAbandoned(snapshotter: OverlaySnapshotter): Promise<boolean> {
  for await (const snapshot of snapshotter.walk()) if (extractionAbandoned(snapshot.name, snapshot)) return true;
  return false;
}

async function committed(snapshotter: OverlaySnapshotter, name: string): Promise<boolean> {
  try {
    return (await snapshotter.stat(name)).kind === 'committed';
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

async function protect(options: UnpackOptions & { leases?: LeaseManager }, chainId: ChainID): Promise<void> {
  if (options.lease !== undefined && options.leases) {
    await options.leases.addResource(options.lease, { type: 'snapshot', id: chainId });
  }
}
