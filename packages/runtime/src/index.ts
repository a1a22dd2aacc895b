/**
 * @ctr/runtime — containers: OCI runtime specs from image configs and `docker run`
 * options, run by runc under conmon, with state that outlives the Node process.
 */
export { Runtime, findInit, type RuntimeOptions, type StartOptions, type StartResult, type StopOptions, type RuntimeUpdateOptions, type UpdateResult } from './runtime';
export { generateSpec } from './spec/generate-spec';
export {
  type SpecOpt,
  applySpecOpts,
  baseSpec,
  containerArgs,
  checkWorkingDir,
  configEnv,
  withCapabilities,
  withHostname,
  withMounts,
  withNamespaces,
  withProcess,
  withResources,
  withRlimits,
  withSecurity,
  shmSizeOf,
} from './spec/spec-opts';
export { DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS } from './spec/defaults';
export { containerDevices, withDevices } from './spec/devices';
export { BLOCKED_SYSCALLS, defaultSeccompProfile } from './spec/seccomp';
export { parseBytes, parseCpus, parseUlimit, ulimitOrderError } from './spec/units';
export { RLIM_INFINITY } from './spec/spec-json';
export { resolveUser, resolveUserFrom } from './spec/user';
export { parseSignal } from './signals';
export { runExitStatus } from './exit-codes';
export { procStat, START_TIME } from './proc-stat';
export { conmonArgs, type ConmonConfig, type Launch } from './conmon';
export { DEFAULT_DETACH_KEYS, DetachKeyScanner, detachOnKeys, detachedError, isDetached, parseDetachKeys, type DetachableInput } from './detach-keys';
export { logsNotReadable, parseLogRecord, LineAssembler, type LogRecord } from './logs';
export type { FluentdLog, GelfLog, LogAddress, PluginLog, RemoteLog, SyslogFormat, SyslogLog, SyslogTls } from './remote-log';
export { hostsContent, resolvConfContent } from './etc-files';
export { prepareRootfs } from './rootfs-prepare';
export { cgroupFeatures, hasCpuRealtime, hasSwapAccounting, type CgroupFeatures } from './host-facts';
export type * from './oci-spec';
export type * from './types';
