/**
 * @ctr/engine — the daemon's job as a library: one object that pulls, builds, runs and
 * ships containers by composing @ctr/store, @ctr/registry, @ctr/dockerfile, @ctr/runtime
 * and @ctr/network. No daemon: every engine on the same root sees the same state.
 */
export { Engine, ENGINE_VERSION, API_VERSION, type EngineOptions, type RunOptions, type RunResult, type BuildImageOptions } from './engine';
export type { BuildInfo, ComponentVersion, EngineInfo } from './host-info';
export { buildInfo } from './host-info';
export type { BuildState, BuildStepOptions } from './build-backend';
export { buildSecurityOptions, checkBuildIsolation } from './build-backend';
export { compactSeccompProfile, securityOptList, securitySettings, type SecuritySettings } from './security-options';
export { getTrustingExtraCas } from './trusted-get';
export type { ImportBusyboxOptions } from './busybox-image';
export type { ContainerInspect, ContainerSummary, CreateContainerOptions, CreatedContainer, ListOptions, AttachIo, AttachedStreams, InspectMount, RemoveOptions, StopOptions } from './containers';
export type { ContainerExecOptions, ContainerLogEntry, ContainerLogsOptions, ContainerSize, InspectOptions } from './containers';
export { logDetails, logLine, parseLogDetails } from './log-details';
export { logsReadable, type LogConfig } from './log-config';
export {
  DAEMON_LOG_LEVELS,
  DAEMON_OPTIONS,
  DEFAULT_CONFIG_FILE,
  addFlagValue,
  daemonLogLevel,
  daemonOptionOfFlag,
  engineOptionsFromConfig,
  loadDaemonConfig,
  mergeDaemonConfig,
  readDaemonConfigFile,
  reloadedSettings,
  validateDaemonConfig,
  withContainerDefaults,
  type ConfigUlimit,
  type ConfiguredEngineOptions,
  type ContainerDefaults,
  type DaemonConfig,
  type DaemonConfigKey,
  type DaemonLogFormat,
  type DaemonLogLevel,
  type DaemonOption,
  type DaemonSettings,
  type FlagConfig,
  type ReloadableSettings,
} from './daemon-config';
export type { HostResources, UpdateOptions } from './resources';
export { normalizeImageName, familiarImageName, splitRepoTag, allTagsRepository, pushName } from './images';
export { PullMessages, layerMessage, pullOutcomeMessage, readPullMessage, tagPullMessage, type PullNews, type PullProgressEvent, type PulledImageIds } from './pull-messages';
export type { PullMessage } from '@ctr/dockerfile';
export type {
  ImageInspect,
  ImageListOptions,
  ImageSummary,
  HistoryItem,
  HistoryOptions,
  ImportOptions,
  LoadOptions,
  PlatformOption,
  PullOptions,
  PullAllTagsOptions,
  PulledTags,
  PushOptions,
  PushAllTagsOptions,
  PushedImage,
  PushedTag,
  RemovedImage,
  RemoveImageOptions,
  ResolvedImage,
  SaveOptions,
  TagPullEvent,
} from './images';
export type { AuthConfig, SearchResult } from '@ctr/registry';
export type { SearchOptions } from './search';
export type { ExecOptions, ExecControl } from '@ctr/runtime';
// Sizes as Docker writes them (`64m`, `1.5g`), for callers that check them before the engine does.
export { parseBytes, parseUlimit, ulimitOrderError } from '@ctr/runtime';
// The detach keys, for the API server and client that watch a session's input as the engine does.
export { detachOnKeys, detachedError, isDetached, parseDetachKeys } from '@ctr/runtime';
// docker's CLI's exit status of a run whose container could not start, for the `ctr` command and the API client.
export { logsNotReadable, runExitStatus } from '@ctr/runtime';
export type { CommitOptions } from './commit';
export type { PluginInspect, PluginListOptions, PluginEnableOptions, PluginPrivilege, PluginPullOptions, PluginPushOptions, PluginRegistryOptions, PushedPlugin } from './plugins/managed';
export type { PluginConfig, PluginSettings, PluginMount, PluginEnv, PluginDevice } from './plugins/plugin-store';
export type { PluginClient } from './plugins/client';
export type { PluginEndpoint } from './plugins/source';
export type { EngineEvent, EventContainer, EventFilters, EventScope, EventsOptions, EventType } from './events';
export { checkEventWindow, eventJson, parseEvent } from './events';
export { apiMount, mountRequest, parseVolumeSpec, parseTmpfsSpec, type ApiMount, type ClientMount, type VolumeRequest } from './volumes-spec';
export { exposedPortKeys, parseLink, type DeviceRequest, type PlatformSettings } from './create-extras';
export { portBindingsOf, type PortBinding } from './port-bindings';
export { AUTO_REMOVAL, defaultStdinOnce } from './containers';
export { humanDuration } from './human';
export type { PathStat, PutArchiveOptions } from './archive';
export type { FilesystemChange } from './changes';
export type { TopResult, ContainerStats, StatsOptions } from './top-stats';
export type { SystemPruneOptions, SystemPruneResult, DiskUsage, ImagePruneOptions, BuildCachePruneOptions } from './system';
export { checkSystemPruneOptions } from './system';
export type { CheckFinding, CheckKind, SweepReport, SystemCheckOptions, SystemCheckReport } from './check';
export type { VolumeListOptions, VolumePruneOptions, NetworkListOptions, PruneOptions } from './volumes-networks';
export type { Filters } from './filters';
export { checkFilterKeys, dockerTimestamp, parseTimestamp } from './filters';
/** A network's driver options as a remote daemon is sent them. */
export { auxOfFamily, driverOptions } from '@ctr/network';
export { shouldRestart } from './restart';
export { RUN_OVER_EXIT_CODE, runIsOver, type HealthResult, type HealthState, type HealthStatus, type ProbeOptions } from './health';
export type { HealthConfig } from '@ctr/image';
export { tarTree, tarTrees } from './tar-tree';
export { applyConfigChanges } from './config-changes';
