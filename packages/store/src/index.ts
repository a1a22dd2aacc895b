/**
 * @ctr/store — local storage: a verified content store, overlay snapshots keyed by chainID,
 * image names, volumes, leases, gc and fsck, safe with several processes and crashes.
 */
export { openStore, type Store, type StoreOptions } from './store';
export { storePaths, type StorePaths } from './paths';
export { LocalContentStore, type IngestStatus } from './content-store';
export { LocalIngest, abandonedIngests, removeIngest, type AbandonedIngest } from './ingest';
export { OverlaySnapshotter, type SnapshotInfo, type SnapshotKind, type SnapshotOptions, type SnapshotUsage } from './snapshotter';
export { mountAll, mountPoints, unmount, type Mount } from './mount';
export { launchDetached, removeTreeBehind, spreadSubdirectories, startMountRelay } from './mount-syscalls';
export {
  unpackLayers,
  LAYER_SIZE_LABEL,
  type UnpackLayer,
  type UnpackOptions,
  type UnpackProgress,
} from './unpack';
export { ImageIndex, ImageIndex as ImageStore, isSingleReference, type ImageRecord, type PutImage, type UntagResult } from './image-index';
export { VolumeStore, ANONYMOUS_LABEL, bindVolumeSubpath, fillMountpoint, hasDevice, type VolumeInfo, type VolumeDriverHooks, type CreateVolumeOptions, type PruneVolumesResult } from './volume-store';
export { bindBeneath, bindOpened, openBeneath, pathComponents, type Beneath, type RefuseWalk, type WalkProblem } from './safe-walk';
export { LeaseManager, type Lease, type LeaseResource, type CreateLeaseOptions } from './leases';
export { holderRuns, thisProcess, type ProcessHolder } from './holder';
export { type GcOptions, type GcResult, type GcRoots, type ReleaseOptions, type ReleaseResult, type SweepResult } from './gc';
export { type FsckIssue, type FsckReport, type FsckOptions, type FsckArea } from './fsck';
export { acquireLock, breakIfStale, lockOwner, removeLinkIfUnchanged, tryAcquireLock, withLock, type LockOptions, type Release } from './lock';
/** Crash-safe file helpers (temp + fsync + rename + fsync dir) for other records under the root. */
export { readJson, writeFileAtomic, fsyncDir, uniqueHex, unlinkIfPresent } from './fs-util';
/** dockerd's measure of a volume (directory.Size), for `system df` and prunes alike. */
export { apparentSize } from './fs-util';
export { layerSize } from './layer-size';
