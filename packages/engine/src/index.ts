/**
 * @ctr/engine — the daemon's job as a library: one object that pulls, builds, runs and
 * ships containers by composing @ctr/store, @ctr/registry, @ctr/dockerfile, @ctr/runtime
 * and @ctr/network. No daemon: every engine on the same root sees the same state.
 */
export { Engine, ENGINE_VERSION, API_VERSION, type EngineOptions, type RunOptions, type RunResult, type BuildImageOptions } from './engine';
export type { BuildState, BuildStepOptions } from './build-backend';
export type { ImportBusyboxOptions } from './busybox-image';
export type { ContainerInspect, ContainerSummary, CreateContainerOptions, CreatedContainer, ListOptions, AttachIo, InspectMount, StopOptions } from './containers';
export type { LogConfig } from './log-config';
export type { HostResources, UpdateOptions } from './resources';
export { normalizeImageName, familiarImageName, splitRepoTag } from './images';
export type { ImageInspect, ImageListOptions, ImageSummary, HistoryItem, PullOptions, PushOptions, RemovedImage, ResolvedImage } from './images';
export type { AuthConfig } from '@ctr/registry';
export type { ExecOptions, ExecControl } from '@ctr/runtime';
// Sizes as Docker writes them (`64m`, `1.5g`), for callers that check them before the engine does.
export { parseBytes } from '@ctr/runtime';
export type { CommitOptions } from './commit';
export type { EngineEvent, EventFilters, EventsOptions, EventType } from './events';
export { mountEntry, parseVolumeSpec, parseTmpfsSpec, type ApiMount, type VolumeRequest } from './volumes-spec';
export { humanDuration } from './human';
export type { PathStat, PutArchiveOptions } from './archive';
export type { FilesystemChange } from './changes';
export type { TopResult, ContainerStats, StatsOptions } from './top-stats';
export type { SystemPruneOptions, SystemPruneResult, DiskUsage, ImagePruneOptions, BuildCachePruneOptions } from './system';
export { checkSystemPruneOptions } from './system';
export type { VolumeListOptions, VolumePruneOptions, NetworkListOptions, PruneOptions } from './volumes-networks';
export type { Filters } from './filters';
export { shouldRestart } from './restart';
export { RUN_OVER_EXIT_CODE, runIsOver, type HealthResult, type HealthState, type HealthStatus, type ProbeOptions } from './health';
export type { HealthConfig } from '@ctr/image';
export { tarTree } from './tar-tree';
export { applyConfigChanges } from './config-changes';
