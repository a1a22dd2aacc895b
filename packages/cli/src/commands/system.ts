import type { EngineVersion, ServerVersion } from '@ctr/api';
import type { ContainerSize, ContainerSummary, DiskUsage, EngineEvent, EngineInfo, ImageSummary } from '@ctr/engine';
import type { SwarmInfo } from '@ctr/swarm';
import type { Command, Io } from '../command';
import { localSwarmInfo } from '../swarm-context';
import { apiModule, clientDebug, currentEndpoint, engineModule, eprintln, getEngine, println, registryModule, type CliEngine } from '../context';
import { bool, list, str } from '../flags';
import { ago, checkTemplate, formatContext, formatList, goAnsicTime, goPointer, goStruct, goTimeString, humanSize, printedAs, renderDocument, rfc3339, tabwrite, truncateId } from '../format';
import { filterFlag, parseFilters } from '../filter-flag';
import { containerContext, containerFormat, CONTAINER_HEADERS } from './containers';
import { IMAGE_HEADERS, imageContext, imageFormat, imageRows } from './images';
import { bytesSize } from './top-stats';
import { VOLUME_HEADERS, volumeContext, volumeFormat } from './volumes';

const CLIENT_VERSION = '0.1.0';

/** `--format json` of version and info is docker's `{{json .}}`. */
const documentFormat = (format: string): string => (format === 'json' ? '{{json .}}' : format);

/** What ctr's client says of itself, by the names of docker's JSON. */
interface ClientFields {
  Version: string;
  ApiVersion: string;
  Os: string;
  Arch: string;
  GoVersion: string;
  /** The build's, as `npm run build` recorded it ('' without one); the time as docker prints it. */
  GitCommit: string;
  BuildTime: string;
  Context: string;
}

/** What Go's encoding/json leaves out of an `omitempty` field of these structs: a zero value, an empty slice or map. */
function goEmpty(value: unknown): boolean {
  return value === null || value === '' || value === 0 || value === false || (typeof value === 'object' && Object.keys(value).length === 0);
}

/**
 * One of docker's version structs: `%v` prints `fields` in order, a template names them so
 * (`APIVersion`), and its JSON names APIVersion `ApiVersion` and leaves out the empty
 * `omitEmpty` fields (a struct is never empty to Go).
 */
function versionStruct(type: string, fields: Record<string, unknown>, omitEmpty: readonly string[]): object {
  const json = (): Record<string, unknown> =>
    Object.fromEntries(Object.entries(fields).flatMap(([key, value]) => (omitEmpty.includes(key) && goEmpty(value) ? [] : [[key === 'APIVersion' ? 'ApiVersion' : key, value]])));
  return formatContext(type, fields, json, Object.keys(fields));
}

/**
 * What `docker version --format` sees: docker/cli's versionInfo, its clientVersion and moby's
 * types.Version, so a template names their fields (`{{.Server.APIVersion}}`), a field they
 * lack is an error, `{{.Client}}` prints as Go prints the struct and `{{json .}}` writes
 * their JSON names (`ApiVersion`). What ctr does not know (the client's platform name) is
 * Go's zero value.
 */
function versionDocument(client: ClientFields, server: ServerVersion): object {
  const Client = versionStruct(
    'system.clientVersion',
    { Platform: null, Version: client.Version, APIVersion: client.ApiVersion, DefaultAPIVersion: '', GitCommit: client.GitCommit, GoVersion: client.GoVersion, Os: client.Os, Arch: client.Arch, BuildTime: client.BuildTime, Context: client.Context },
    ['Platform', 'DefaultAPIVersion', 'BuildTime'],
  );
  const Server = versionStruct(
    '*types.Version',
    {
      Platform: goStruct('struct { Name string }', { Name: server.Platform.Name }),
      // A component's Details is a map: printed sorted, as Go prints maps; `map[]` and left out of its JSON when there is none.
      Components: server.Components.map(({ Name, Version, Details = {} }) => versionStruct('types.ComponentVersion', { Name, Version, Details }, ['Details'])),
      Version: server.Version,
      APIVersion: server.ApiVersion,
      MinAPIVersion: server.MinAPIVersion,
      GitCommit: server.GitCommit,
      GoVersion: server.GoVersion,
      Os: server.Os,
      Arch: server.Arch,
      KernelVersion: server.KernelVersion,
      Experimental: false,
      BuildTime: server.BuildTime,
    },
    ['Components', 'MinAPIVersion', 'KernelVersion', 'Experimental', 'BuildTime'],
  );
  // versionInfo holds the server by pointer: `{{.}}` prints its address, as Go's fmt does.
  return printedAs(goStruct('system.versionInfo', { Client, Server }), () => [['Client', Client], ['Server', goPointer(Server)]]);
}

/** What the client says of itself (`version`'s Client, `info`'s ClientInfo), the engine it drives asked for its part. */
async function clientVersion(engine: CliEngine): Promise<{ server: EngineVersion | ServerVersion; client: ClientFields; remote: boolean; host: string }> {
  const server = await engine.version();
  const where = await currentEndpoint();
  const remote = where.kind === 'remote';
  // A daemon may speak an older API than this client; the client's own is what it would ask for.
  const apiVersion = remote ? apiModule().MAX_API_VERSION : server.ApiVersion;
  const build = engineModule().buildInfo();
  const client = { Version: CLIENT_VERSION, ApiVersion: apiVersion, Os: 'linux', Arch: server.Arch, GoVersion: server.GoVersion, GitCommit: build.GitCommit, BuildTime: goAnsicTime(build.BuildTime), Context: where.context };
  return { server, client, remote, host: remote ? where.host : '' };
}

/**
 * The server `version` shows: a daemon's answer as it gave it; the in-process engine as ctrd
 * would serve it, its components asked for only here (each is a program run, once per process).
 * The engine's build time is docker's reformatted one (its component's, not the top-level field).
 */
async function serverOf(engine: CliEngine, reported: EngineVersion | ServerVersion): Promise<ServerVersion> {
  const server = 'Components' in reported ? reported : apiModule().serverVersion(reported, await engine.components());
  const Components = server.Components.map((component) =>
    component.Name === 'Engine' && component.Details?.BuildTime !== undefined ? { ...component, Details: { ...component.Details, BuildTime: goAnsicTime(component.Details.BuildTime) } } : component,
  );
  return { ...server, Components };
}

/**
 * docker's defaultVersionTemplate for the server's components: the engine's details in its
 * order (a missing one is ''), another's Version then its details by sorted key.
 */
function componentLines(server: ServerVersion): string[] {
  return server.Components.flatMap(({ Name, Version, Details = {} }) => {
    const detail = (key: string): string => Details[key] ?? '';
    const details =
      Name === 'Engine'
        ? [
            `  API version:\t${detail('ApiVersion')} (minimum version ${detail('MinAPIVersion')})`,
            `  Go version:\t${detail('GoVersion')}`,
            `  Git commit:\t${detail('GitCommit')}`,
            `  Built:\t${detail('BuildTime')}`,
            `  OS/Arch:\t${detail('Os')}/${detail('Arch')}`,
            `  Experimental:\t${detail('Experimental')}`,
          ]
        : Object.keys(Details)
            .sort()
            .map((key) => `  ${key}:\t${detail(key)}`);
    return [` ${Name}:`, `  Version:\t${Version}`, ...details];
  });
}

const version: Command = {
  name: 'version',
  usage: '[OPTIONS]',
  description: 'Show the ctr version information',
  flags: [{ name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
  args: [0, 0],
  async run(args, io) {
    const engine = await getEngine();
    const { server: reported, client, remote, host } = await clientVersion(engine);
    const server = await serverOf(engine, reported);
    const format = str(args, 'format');
    if (format) {
      println(io, renderDocument(documentFormat(format), versionDocument(client, server), { name: 'version' }));
      return 0;
    }
    const lines = [
      'Client:',
      ` Version:\t${client.Version}`,
      ` API version:\t${client.ApiVersion}`,
      ` Node version:\t${process.versions.node}`,
      ` Git commit:\t${client.GitCommit}`,
      ` Built:\t${client.BuildTime}`,
      ` OS/Arch:\tlinux/${client.Arch}`,
      ` Context:\t${client.Context}`,
      '',
      remote ? `Server: ${host}` : 'Server: ctr (in-process, no daemon)',
      ...componentLines(server),
    ];
    // docker version's tabwriter: columns of at least 20, padded by one.
    println(io, tabwrite(lines.join('\n'), 20, 1));
    return 0;
  },
};

/** docker's printSwarmInfo: the swarm's part of `info`, when this node is in one. */
function swarmLines(swarm: SwarmInfo): string[] {
  if (swarm.LocalNodeState === 'inactive' || swarm.LocalNodeState === 'locked') return [];
  const human = (ns: number | undefined): string => engineModule().humanDuration((ns ?? 0) / 1e6);
  const cluster = swarm.Cluster;
  const lines = [`  NodeID: ${swarm.NodeID}`, ...(swarm.Error ? [`  Error: ${swarm.Error}`] : []), `  Is Manager: ${swarm.ControlAvailable}`];
  if (cluster && swarm.ControlAvailable && !swarm.Error && swarm.LocalNodeState !== 'error') {
    const spec = cluster.Spec;
    lines.push(`  ClusterID: ${cluster.ID}`, `  Managers: ${swarm.Managers ?? 0}`, `  Nodes: ${swarm.Nodes ?? 0}`);
    if (cluster.DefaultAddrPool) lines.push(`  Default Address Pool: ${cluster.DefaultAddrPool.map((pool) => `${pool}  `).join('')}`, `  SubnetSize: ${cluster.SubnetSize}`);
    if (cluster.DataPathPort > 0) lines.push(`  Data Path Port: ${cluster.DataPathPort}`);
    lines.push('  Orchestration:', `   Task History Retention Limit: ${spec.Orchestration.TaskHistoryRetentionLimit ?? 0}`);
    lines.push('  Raft:', `   Snapshot Interval: ${spec.Raft.SnapshotInterval}`);
    if (spec.Raft.KeepOldSnapshots !== undefined) lines.push(`   Number of Old Snapshots to Retain: ${spec.Raft.KeepOldSnapshots}`);
    lines.push(`   Heartbeat Tick: ${spec.Raft.HeartbeatTick}`, `   Election Tick: ${spec.Raft.ElectionTick}`);
    lines.push('  Dispatcher:', `   Heartbeat Period: ${human(spec.Dispatcher.HeartbeatPeriod)}`);
    lines.push('  CA Configuration:', `   Expiry Duration: ${human(spec.CAConfig.NodeCertExpiry)}`, `   Force Rotate: ${spec.CAConfig.ForceRotate ?? 0}`);
    lines.push(`  Autolock Managers: ${spec.EncryptionConfig.AutoLockManagers}`, `  Root Rotation In Progress: ${cluster.RootRotationInProgress}`);
  }
  lines.push(`  Node Address: ${swarm.NodeAddr}`);
  const managers = (swarm.RemoteManagers ?? []).map((m) => m.Addr).sort();
  if (managers.length > 0) lines.push('  Manager Addresses:', ...managers.map((addr) => `   ${addr}`));
  return lines;
}

/** A `label: value` line docker's info prints only when the value is set. */
function nonEmpty(label: string, value: string): string[] {
  return value ? [`${label} ${value}`] : [];
}

/** The name docker's info prints as `Username:`: who config.json is logged in to Docker Hub as. */
async function hubUsername(env: NodeJS.ProcessEnv): Promise<string> {
  const { DOCKER_HUB_SERVER, credentialsFromAuthConfig, readDockerConfig } = registryModule();
  try {
    const auth = (await readDockerConfig({ env })).auths?.[DOCKER_HUB_SERVER];
    return auth ? credentialsFromAuthConfig(auth, 'config.json')?.username ?? '' : '';
  } catch {
    return '';
  }
}

/**
 * `docker info`'s Server section, line for line as docker's CLI 28 prints system.Info
 * (prettyPrintServerInfo), trailing blank line included; swarm is never active here.
 */
function serverLines(data: EngineInfo, username: string): string[] {
  const registries = data.RegistryConfig;
  // Each option is `name=seccomp,profile=builtin`: its name, then its profile if it has one.
  const securityOptions = (data.SecurityOptions ?? []).flatMap((option) => {
    const value = (key: string): string | undefined => new RegExp(`(?:^|,)${key}=([^,]*)`).exec(option)?.[1];
    const profile = value('profile');
    return [`  ${value('name') ?? ''}`, ...(profile !== undefined ? [`   Profile: ${profile}`] : [])];
  });
  const insecure = [
    ...Object.values(registries.IndexConfigs).filter((index) => !index.Secure).map((index) => `  ${index.Name}`),
    ...registries.InsecureRegistryCIDRs.map((cidr) => `  ${cidr}`),
  ];
  const runtimes = Object.keys(data.Runtimes);
  return [
    'Server:',
    ` Containers: ${data.Containers}`,
    `  Running: ${data.ContainersRunning}`,
    `  Paused: ${data.ContainersPaused}`,
    `  Stopped: ${data.ContainersStopped}`,
    ` Images: ${data.Images}`,
    ...nonEmpty(' Server Version:', data.ServerVersion),
    ...nonEmpty(' Storage Driver:', data.Driver),
    ...data.DriverStatus.map(([key, value]) => `  ${key}: ${value}`),
    ...nonEmpty(' Logging Driver:', data.LoggingDriver),
    ...nonEmpty(' Cgroup Driver:', data.CgroupDriver),
    ...nonEmpty(' Cgroup Version:', data.CgroupVersion),
    ' Plugins:',
    `  Volume: ${data.Plugins.Volume.join(' ')}`,
    `  Network: ${data.Plugins.Network.join(' ')}`,
    ...(data.Plugins.Authorization?.length ? [`  Authorization: ${data.Plugins.Authorization.join(' ')}`] : []),
    `  Log: ${data.Plugins.Log.join(' ')}`,
    ...(data.CDISpecDirs?.length ? [' CDI spec directories:', ...data.CDISpecDirs.map((dir) => `  ${dir}`)] : []),
    ` Swarm: ${data.Swarm.LocalNodeState}`,
    ...swarmLines(data.Swarm as unknown as SwarmInfo),
    ...(runtimes.length ? [` Runtimes: ${runtimes.join(' ')}`, ` Default Runtime: ${data.DefaultRuntime}`] : []),
    ...(data.OSType === 'linux'
      ? [
          ` Init Binary: ${data.InitBinary}`,
          ` containerd version: ${data.ContainerdCommit.ID}`,
          ` runc version: ${data.RuncCommit.ID}`,
          ` init version: ${data.InitCommit.ID}`,
          ...(securityOptions.length ? [' Security Options:', ...securityOptions] : []),
        ]
      : []),
    ...nonEmpty(' Kernel Version:', data.KernelVersion),
    ...nonEmpty(' Operating System:', data.OperatingSystem),
    ...nonEmpty(' OSType:', data.OSType),
    ...nonEmpty(' Architecture:', data.Architecture),
    ` CPUs: ${data.NCPU}`,
    ` Total Memory: ${bytesSize(data.MemTotal)}`,
    ...nonEmpty(' Name:', data.Name),
    ...nonEmpty(' ID:', data.ID),
    ` Docker Root Dir: ${data.DockerRootDir}`,
    ` Debug Mode: ${data.Debug}`,
    ...(data.Debug ? [`  File Descriptors: ${data.NFd}`, `  Goroutines: ${data.NGoroutines}`, `  System Time: ${data.SystemTime}`, `  EventsListeners: ${data.NEventsListener}`] : []),
    ...nonEmpty(' HTTP Proxy:', data.HttpProxy),
    ...nonEmpty(' HTTPS Proxy:', data.HttpsProxy),
    ...nonEmpty(' No Proxy:', data.NoProxy),
    ...nonEmpty(' Username:', username),
    ...(data.Labels?.length ? [' Labels:', ...data.Labels.map((label) => `  ${label}`)] : []),
    ` Experimental: ${data.ExperimentalBuild}`,
    ...(insecure.length ? [' Insecure Registries:', ...insecure] : []),
    ...(registries.Mirrors.length ? [' Registry Mirrors:', ...registries.Mirrors.map((mirror) => `  ${mirror}`)] : []),
    ` Live Restore Enabled: ${data.LiveRestoreEnabled}`,
    '',
  ];
}

/**
 * What `docker info --format` sees: the daemon's system.Info and docker/cli's clientInfo
 * (`{{.ClientInfo.Context}}`), and its ClientErrors and ServerErrors, which JSON leaves out empty.
 */
async function infoDocument(engine: CliEngine, data: EngineInfo): Promise<object> {
  const { client } = await clientVersion(engine);
  const ClientInfo = {
    Debug: clientDebug(),
    Version: client.Version,
    DefaultAPIVersion: client.ApiVersion,
    GitCommit: client.GitCommit,
    GoVersion: client.GoVersion,
    Os: client.Os,
    Arch: client.Arch,
    BuildTime: client.BuildTime,
    Context: client.Context,
    Plugins: [],
    Warnings: null,
  };
  return formatContext('info', { ...data, ClientInfo, ClientErrors: [], ServerErrors: [] }, () => ({ ...data, ClientInfo }));
}

const info: Command = {
  name: 'info',
  usage: '[OPTIONS]',
  description: 'Display system-wide information',
  flags: [{ name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
  args: [0, 0],
  async run(args, io) {
    const engine = await getEngine();
    const data = await engine.info();
    // The engine in this process knows nothing of swarm mode: a root in a swarm has the swarm say.
    const swarm = await localSwarmInfo();
    if (swarm) (data as { Swarm: unknown }).Swarm = swarm;
    const format = str(args, 'format');
    if (format) {
      println(io, renderDocument(documentFormat(format), await infoDocument(engine, data)));
      return 0;
    }
    const where = await currentEndpoint();
    const client = ['Client:', ` Version:    ${CLIENT_VERSION}`, ` Context:    ${where.context}`, ` Debug Mode: ${clientDebug()}`, ''];
    for (const line of [...client, ...serverLines(data, await hubUsername(io.env))]) println(io, line);
    for (const warning of data.Warnings ?? []) eprintln(io, warning);
    return 0;
  },
};

/**
 * What `docker events --format` sees of an event: docker's events.Message, with the legacy
 * `status`, `id` and `from` dockerd still sends for containers and images. `type` is the Go
 * type its template errors name (docker checks the template on a `*events.Message`).
 */
function eventMessage(e: EngineEvent, type = 'events.Message'): object {
  const legacy = e.Type === 'container' || e.Type === 'image';
  const actor = { ID: e.Actor.ID, Attributes: e.Actor.Attributes };
  const fields = {
    Status: legacy ? e.Action : '',
    ID: legacy ? e.Actor.ID : '',
    From: legacy ? e.Actor.Attributes.image ?? '' : '',
    Type: e.Type,
    Action: e.Action,
    Actor: formatContext('events.Actor', actor, () => ({ ...actor })),
    Scope: e.scope,
    Time: e.time,
    TimeNano: e.timeNano,
  };
  // Go's JSON of the struct: its tags' names, the empty `omitempty` fields left out.
  return formatContext(type, fields, () => ({
    ...(fields.Status ? { status: fields.Status } : {}),
    ...(fields.ID ? { id: fields.ID } : {}),
    ...(fields.From ? { from: fields.From } : {}),
    Type: fields.Type,
    Action: fields.Action,
    Actor: fields.Actor,
    ...(fields.Scope ? { scope: fields.Scope } : {}),
    ...(fields.Time ? { time: fields.Time } : {}),
    ...(fields.TimeNano ? { timeNano: fields.TimeNano } : {}),
  }));
}

/**
 * When an event happened, as docker's events prints it (local time, nanoseconds in full), and a
 * space; nothing for an event without a time.
 */
function eventTime(e: EngineEvent): string {
  if (e.timeNano) {
    const digits = String(e.timeNano).padStart(10, '0');
    return `${rfc3339(Number(digits.slice(0, -9)), `.${digits.slice(-9)}`)} `;
  }
  return e.time ? `${rfc3339(e.time, '.000000000')} ` : '';
}

/** An event with nothing set, which docker runs a `--format` on before it follows any. */
const EMPTY_EVENT = { Type: '', Action: '', Actor: { ID: '', Attributes: {} }, scope: '', time: 0, timeNano: 0n } as unknown as EngineEvent;

const events: Command = {
  name: 'events',
  aliases: ['ctr system events'],
  usage: '[OPTIONS]',
  description: 'Get real time events from the server',
  flags: [
    filterFlag('Filter output based on conditions provided', { short: true }),
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
    { name: 'since', type: 'string', description: 'Show all events created since timestamp' },
    { name: 'until', type: 'string', description: 'Stream events until this timestamp' },
  ],
  args: [0, 0],
  async run(args, io) {
    // As docker's client reads them (timetypes.GetTimestamp), its refusal in its words.
    const seconds = (text: string | undefined): number | undefined => (text ? engineModule().parseTimestamp(text) / 1000 : undefined);
    const since = seconds(str(args, 'since'));
    const until = seconds(str(args, 'until'));
    const given = str(args, 'format');
    // docker's events takes the template as written (a written-out \t stays so), checked on an empty event.
    const render = given
      ? checkTemplate(given === 'json' ? '{{json .}}' : given, eventMessage(EMPTY_EVENT, '*events.Message'), { parse: 'Error parsing format: ', run: 'Error parsing format: ', exitCode: 64 })
      : undefined;
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    try {
      for await (const e of (await getEngine()).events({
        filters: parseFilters(list(args, 'filter')),
        signal: ac.signal,
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      })) {
        if (render) {
          println(io, render(eventMessage(e)));
          continue;
        }
        const attrs = Object.entries(e.Actor.Attributes).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(', ');
        println(io, `${eventTime(e)}${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ''}`);
      }
    } finally {
      process.off('SIGINT', stop);
    }
    return 0;
  },
};

/** `docker system df`'s column names, by field. */
const DF_HEADERS: Readonly<Record<string, string>> = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

/** `docker system df -v`'s build cache column names, by field. */
const BUILD_CACHE_HEADERS: Readonly<Record<string, string>> = {
  ID: 'CACHE ID',
  Parent: 'PARENT',
  CacheType: 'CACHE TYPE',
  Size: 'SIZE',
  CreatedSince: 'CREATED',
  LastUsedSince: 'LAST USED',
  UsageCount: 'USAGE',
  InUse: 'IN USE',
  Shared: 'SHARED',
  Description: 'DESCRIPTION',
};

/** One row of `docker system df`: a kind of object, how many (in use), their bytes and what removing the unused would free. */
interface UsageRow {
  readonly type: string;
  readonly total: number;
  readonly active: number;
  readonly size: number;
  readonly reclaimable: number;
}

/** A row as docker's diskUsage contexts show it; the images', containers' and volumes' reclaimable part with its share. */
function usageContext(row: UsageRow, share: boolean, goType: string): object {
  const reclaimable = humanSize(row.reclaimable, 4);
  return formatContext(goType, {
    Type: row.type,
    TotalCount: String(row.total),
    Active: String(row.active),
    Size: humanSize(row.size, 4),
    // Go's integer division: the share rounded down.
    Reclaimable: share && row.size > 0 ? `${reclaimable} (${Math.trunc((row.reclaimable * 100) / row.size)}%)` : reclaimable,
  });
}

type BuildCacheRecord = DiskUsage['BuildCache'][number];

/** The four rows of `docker system df`, computed as docker's CLI computes them from the daemon's report. */
function usageRows(usage: DiskUsage): object[] {
  const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
  // What images in use take that no other image shares is not reclaimable; unknown sizes (-1) count for nothing.
  const used = sum(usage.Images.filter((i) => i.Containers !== 0 && i.Size !== -1 && i.SharedSize !== -1).map((i) => i.Size - i.SharedSize));
  const active = (c: ContainerSummary): boolean => ['running', 'paused', 'restarting'].includes(c.State.toLowerCase());
  const volumeSize = (v: DiskUsage['Volumes'][number]): number => (v.UsageData.Size === -1 ? 0 : v.UsageData.Size);
  const unshared = usage.BuildCache.filter((b) => !b.Shared);
  return [
    usageContext({ type: 'Images', total: usage.Images.length, active: usage.Images.filter((i) => i.Containers > 0).length, size: usage.LayersSize, reclaimable: usage.LayersSize - used }, true, '*formatter.diskUsageImagesContext'),
    usageContext(
      { type: 'Containers', total: usage.Containers.length, active: usage.Containers.filter(active).length, size: sum(usage.Containers.map((c) => c.SizeRw)), reclaimable: sum(usage.Containers.filter((c) => !active(c)).map((c) => c.SizeRw)) },
      true,
      '*formatter.diskUsageContainersContext',
    ),
    usageContext(
      { type: 'Local Volumes', total: usage.Volumes.length, active: usage.Volumes.filter((v) => v.UsageData.RefCount > 0).length, size: sum(usage.Volumes.map(volumeSize)), reclaimable: sum(usage.Volumes.filter((v) => v.UsageData.RefCount === 0).map(volumeSize)) },
      true,
      '*formatter.diskUsageVolumesContext',
    ),
    usageContext({ type: 'Build Cache', total: usage.BuildCache.length, active: usage.BuildCache.filter((b) => b.InUse).length, size: sum(unshared.map((b) => b.Size)), reclaimable: sum(unshared.filter((b) => !b.InUse).map((b) => b.Size)) }, false, '*formatter.diskUsageBuilderContext'),
  ];
}

/** What `docker system df -v --format` sees of a build cache record: docker's buildCacheContext. */
function buildCacheContext(b: BuildCacheRecord, truncate: boolean): object {
  return formatContext('*formatter.buildCacheContext', {
    ID: `${truncate ? truncateId(b.ID) : b.ID}${b.InUse ? '*' : ''}`,
    Parent: '',
    CacheType: b.Type,
    Description: '',
    Size: humanSize(b.Size),
    CreatedAt: goTimeString(b.CreatedAt),
    CreatedSince: ago(b.CreatedAt),
    LastUsedAt: b.LastUsedAt ? goTimeString(b.LastUsedAt) : '',
    LastUsedSince: b.LastUsedAt ? ago(b.LastUsedAt) : '',
    UsageCount: String(b.UsageCount),
    InUse: String(b.InUse),
    Shared: String(b.Shared),
  });
}

/** The image of `df -v`: its first tag's repository and tag, no digest. */
function dfImageContext(image: ImageSummary, truncate: boolean): object {
  const [row] = imageRows({ RepoTags: image.RepoTags.slice(0, 1), RepoDigests: [] }, false, false);
  return imageContext(image, { repo: row?.repo ?? '<none>', tag: row?.tag ?? '<none>', digest: '' }, truncate);
}

/** `docker system df -v`: each kind's items; `truncate` for a table. The images first, as docker lists them. */
function verboseUsage(usage: DiskUsage, truncate: boolean): { Images: object[]; Containers: object[]; Volumes: object[]; BuildCache: object[] } {
  const byLastUse = (a: BuildCacheRecord, b: BuildCacheRecord): number =>
    a.LastUsedAt === b.LastUsedAt ? (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0) : !a.LastUsedAt ? -1 : !b.LastUsedAt ? 1 : Date.parse(a.LastUsedAt) - Date.parse(b.LastUsedAt);
  return {
    Images: usage.Images.map((i) => dfImageContext(i, truncate)),
    // docker leaves the virtual size out here.
    Containers: usage.Containers.map((c: ContainerSummary & ContainerSize) => containerContext({ ...c, SizeRootFs: 0 }, truncate)),
    Volumes: usage.Volumes.map(volumeContext),
    BuildCache: [...usage.BuildCache].sort(byLastUse).map((b) => buildCacheContext(b, truncate)),
  };
}

/** `docker system df -v`'s tables, each under its title. */
function printVerboseTables(io: Io, usage: DiskUsage): void {
  const items = verboseUsage(usage, true);
  const cacheSize = usage.BuildCache.filter((b) => !b.Shared).reduce((total, b) => total + b.Size, 0);
  io.stdout.write(
    [
      'Images space usage:\n\n',
      formatList('table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', items.Images, IMAGE_HEADERS),
      '\nContainers space usage:\n\n',
      formatList('table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}', items.Containers, CONTAINER_HEADERS),
      '\nLocal Volumes space usage:\n\n',
      formatList('table {{.Name}}\t{{.Links}}\t{{.Size}}', items.Volumes, VOLUME_HEADERS),
      `\nBuild cache usage: ${humanSize(cacheSize, 4)}\n\n`,
      formatList('table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}', items.BuildCache, BUILD_CACHE_HEADERS),
    ].join(''),
  );
}

/** docker's `raw` format of a build cache record. */
const BUILD_CACHE_RAW =
  'build_cache_id: {{.ID}}\nparent_id: {{.Parent}}\nbuild_cache_type: {{.CacheType}}\ndescription: {{.Description}}\ncreated_at: {{.CreatedAt}}\ncreated_since: {{.CreatedSince}}\n' +
  'last_used_at: {{.LastUsedAt}}\nlast_used_since: {{.LastUsedSince}}\nusage_count: {{.UsageCount}}\nin_use: {{.InUse}}\nshared: {{.Shared}}\n';

/** `system df -v --format raw`: each kind's raw format in a range over its items, as docker's NewDiskUsageFormat makes it. */
function verboseRaw(): string {
  return [
    ['Images', 'Image', imageFormat('raw', false, true)],
    ['Containers', 'Container', containerFormat('raw', false, true)],
    ['Volumes', 'Volume', volumeFormat('raw', false)],
    ['BuildCache', 'Build Cache', BUILD_CACHE_RAW],
  ]
    .map(([field, type, raw]) => `{{range .${field}}}type: ${type}\n${raw}\n{{end -}}`)
    .join('\n');
}

/** `ctr system df` (no top-level form, like docker's). */
export const dfCommand: Command = {
  name: 'df',
  usage: '[OPTIONS]',
  description: 'Show ctr disk usage',
  flags: [
    { name: 'format', type: 'string', description: 'Format output using a custom template' },
    { name: 'verbose', short: 'v', type: 'bool', description: 'Show detailed information on space usage' },
  ],
  args: [0, 0],
  async run(args, io) {
    const usage = await (await getEngine()).df();
    const given = str(args, 'format') || 'table';
    if (!bool(args, 'verbose')) {
      const raw = 'type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n';
      const format = given === 'table' ? 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}' : given === 'raw' ? raw : given;
      io.stdout.write(formatList(format, usageRows(usage), DF_HEADERS));
      return 0;
    }
    if (given === 'table') {
      printVerboseTables(io, usage);
      return 0;
    }
    // Any other format is one template over all of it, printed as it comes out: no newline after it.
    const items = verboseUsage(usage, given.startsWith('table'));
    // docker's verbose diskUsageContext holds each kind's contexts by pointer: `{{.}}` prints their addresses.
    const all = printedAs(formatContext('*formatter.diskUsageContext', items, () => ({ ...items })), () =>
      (['Images', 'Containers', 'Volumes', 'BuildCache'] as const).map((kind) => [kind, items[kind].map(goPointer)] as const),
    );
    const body = given === 'json' ? '{{json .}}' : given === 'raw' ? verboseRaw() : given.replace(/^table/, '').replace(/^ +| +$/g, '');
    io.stdout.write(renderDocument(body, all, { parseExitCode: 1 }));
    return 0;
  },
};

export const systemCommands: Command[] = [version, info, events];
