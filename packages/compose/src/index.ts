/**
 * @ctr/compose — multi-container applications: a compose.yaml loaded as the Compose
 * Specification says, and `docker compose`'s verbs (up, down, ps, logs, build, run, exec…)
 * carried out on an engine — ctr's own in-process, or a daemon through @ctr/api. The project
 * lives in its resources' labels, as docker compose keeps it; there is no other state.
 */
export * from './model';
export * from './compose';
export { loadProject, projectConfig, normalizeProjectName, type LoadOptions, type ConfigOutputOptions } from './load';
export { listProjects, projectFromContainers } from './lifecycle';
export { serviceImage } from './images';
export { configHash } from './convert';
export { LABEL, COMPOSE_VERSION, projectContainers, containerName, containerNumber, type ComposeEngine, type ProjectContainersOptions } from './labels';
// `--dry-run`: an engine that reads as it is and only pretends compose's writes.
export { dryRunEngine, isDryRun } from './dry-run';
// `--parallel` / COMPOSE_PARALLEL_LIMIT, checked as the verbs check it.
export { checkParallel } from './concurrency';
// How compose splits a command given as one string (`run --entrypoint`, `command: …`): go-shellwords' rules.
export { shellSplit } from './shellwords';
// `compose watch`: the services' `develop.watch` rules followed, in compose's words.
export { watch, watchRules, watchTriggers, watchEventText, WatchRule, type WatchAction, type WatchEvent, type WatchExec, type WatchOptions, type WatchTrigger, type PathMapping } from './watch';
// `docker stack` on a swarm: compose files as swarm services, networks, secrets and configs.
export * from './stack';
// `compose publish` and `-f oci://…` / `include: oci://…`: compose projects as OCI artifacts.
export { publish, checkOciVersion, isPublishCanceled, type OciVersion, type PublishOptions, type PublishResult } from './publish';
export { ComposeMediaTypes, ComposeAnnotations, composeCacheDir, OCI_PREFIX, type OciRemoteOptions } from './oci';
