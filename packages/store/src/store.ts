import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ChainID, Descriptor } from '@ctr/image';
import { LocalContentStore } from './content-store';
import { fsck, type FsckOptions, type FsckReport } from './fsck';
import { storageError } from './fs-util';
import {
  collectGarbage,
  releaseContent,
  sweepAbandoned,
  unreferencedLayers,
  type GcOptions,
  type GcResult,
  type ReleaseOptions,
  type ReleaseResult,
  type SweepResult,
} from './gc';
import { ImageIndex } from './image-index';
import { LeaseManager } from './leases';
import { spreadSubdirectories } from './mount-syscalls';
import { storePaths, tempDirectories, type StorePaths } from './paths';
import { OverlaySnapshotter, type SnapshotInfo } from './snapshotter';
import { SpaceReserve } from './space-reserve';
import { unpackLayers, type UnpackLayer, type UnpackOptions } from './unpack';
import { VolumeStore } from './volume-store';

export interface StoreOptions {
  /** The store's root directory (the engine defaults it to `CTR_ROOT` or `/var/lib/ctr`). */
  root: string;
}

/** Everything under one root: blobs, snapshots, image names, volumes and leases. */
export interface Store {
  readonly paths: StorePaths;
  readonly content: LocalContentStore;
  readonly snapshots: OverlaySnapshotter;
  readonly images: ImageIndex;
  readonly volumes: VolumeStore;
  readonly leases: LeaseManager;
  /** Unpack an image's layers into snapshots keyed by chainID; returns the top chainID. */
  unpackLayers(layers: readonly UnpackLayer[], options?: UnpackOptions): Promise<ChainID>;
  fsck(options?: FsckOptions): Promise<FsckReport>;
  gc(options?: GcOptions): Promise<GcResult>;
  /** Only what processes that have ended left (temporary files, extractions, ingests): gc's first step, cheap enough for every daemon start. */
  sweep(options?: Pick<GcOptions, 'keepIngestsMs' | 'signal'>): Promise<SweepResult>;
  /** The committed layers gc would take (see `unreferencedLayers` in gc.ts), listed, not taken. */
  unreferencedLayers(options?: Pick<GcOptions, 'roots' | 'signal'> & { disowned?: ReadonlySet<string> }): Promise<SnapshotInfo[]>;
  /**
   * Free the blobs and layer snapshots only `targets` (the manifests or indexes of images
   * just removed from `images`, or with `index` the platform manifests `rmi --platform` takes
   * from an image's index) held: `docker rmi` giving the space back without a gc.
   */
  release(targets: readonly Descriptor[], options?: ReleaseOptions): Promise<ReleaseResult>;
}

/** Open (creating if needed) the store at `root`. Several processes may open one root at once. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const paths = storePaths(options.root);
  try {
    // Directly: seven calls that find the directories there cost less than seven trips
    // through the thread pool. The relay is asked only when the store is new.
    for (const dir of [paths.blobs, paths.ingest, paths.images, paths.volumes, paths.leases, paths.locks]) {
      mkdirSync(dir, { recursive: true, mode: 0o711 });
    }
    // One directory per snapshot, each unrelated to the others.
    if (mkdirSync(paths.snapshots, { recursive: true, mode: 0o711 }) !== undefined) await spreadSubdirectories(paths.snapshots);
  } catch (error) {
    throw storageError(error, `opening the store at ${paths.root}`);
  }
  const lock = (name: string): string => path.join(paths.locks, `${name}.lock`);
  const leases = new LeaseManager(paths.leases, lock('leases'));
  const content = new LocalContentStore(paths.blobs, paths.ingest, leases);
  const reserve = new SpaceReserve(path.join(paths.root, 'reserve'));
  reserve.ensure();
  const snapshots = new OverlaySnapshotter(paths.snapshots, lock('snapshots'), reserve);
  const images = new ImageIndex(paths.images, lock('images'), reserve);
  const volumes = new VolumeStore(paths.volumes, lock('volumes'));
  const temps = tempDirectories(paths).map(([, dir]) => dir);
  return {
    paths,
    content,
    snapshots,
    images,
    volumes,
    leases,
    unpackLayers: (layers, opts = {}) => unpackLayers(snapshots, layers, { ...opts, leases }),
    fsck: (opts) => fsck({ paths, content, snapshots, images }, opts),
    gc: (opts) => collectGarbage({ content, snapshots, images, leases, temps, ingests: paths.ingest }, opts),
    sweep: (opts) => sweepAbandoned({ snapshots, temps, ingests: paths.ingest }, opts),
    unreferencedLayers: (opts) => unreferencedLayers({ content, snapshots, images, leases }, opts),
    release: (targets, opts) => releaseContent({ content, snapshots, images, leases }, targets, opts),
  };
}
