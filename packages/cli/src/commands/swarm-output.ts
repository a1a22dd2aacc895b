import type { Writable } from 'node:stream';
import { familiarName, parseReference } from '@ctr/image';
import type { Config, ConvergeProgress, Node, PortConfig, Secret, Service, ServiceMode, SwarmInfo, SwarmInspect, Task, TaskState } from '@ctr/swarm';
import { engineModule } from '../context';
import { ago, formatContext, formatList, goTimeString, labelMethod, naturalCompare, truncateId } from '../format';
import { ProgressView } from '../progress';
import { bytesSize } from './top-stats';

/**
 * The swarm verbs' output as docker 28's CLI prints it: the formatter contexts of `service
 * ls`, `service ps`/`node ps` (docker's task printer), `node ls`, `secret ls`, `config ls`,
 * their `--pretty` inspect templates, and the convergence progress of `service create|update`.
 */

/** Go's `time.Duration.String()`, from the Dockerfile package (loaded only when a duration is shown). */
function goDuration(ns: number): string {
  return (require('@ctr/dockerfile') as typeof import('@ctr/dockerfile')).formatDuration(ns);
}

/** docker's command.PrettyPrint: the first letter upper-cased, the rest lower-cased (`Running`, `Leader`). */
export function prettyPrint(text: string): string {
  if (text.length <= 1) return text.toLowerCase();
  return `${(text[0] as string).toUpperCase()}${text.slice(1).toLowerCase()}`;
}

/** `5 seconds ago`, as docker's swarm listings say when an object was made or changed. */
function humanAgo(time: string): string {
  return ago(time);
}

/** An image as the listings show it: a tagged reference by its familiar name and tag, its digest left out; anything else as written. */
export function shownImage(image: string): string {
  try {
    const reference = parseReference(image);
    if (reference.tag === undefined) return image;
    return `${familiarName(reference)}:${reference.tag}`;
  } catch {
    return image;
  }
}

// ---------------------------------------------------------------- services

export const SERVICE_HEADERS: Readonly<Record<string, string>> = { ID: 'ID', Name: 'NAME', Mode: 'MODE', Replicas: 'REPLICAS', Image: 'IMAGE', Ports: 'PORTS' };

/** docker's NewListFormat for services: `-q` changes only the default and raw formats. */
export function serviceListFormat(given: string, quiet: boolean): string {
  if (given === 'table') return quiet ? '{{.ID}}' : 'table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}';
  if (given === 'raw') return quiet ? 'id: {{.ID}}' : 'id: {{.ID}}\nname: {{.Name}}\nmode: {{.Mode}}\nreplicas: {{.Replicas}}\nimage: {{.Image}}\nports: {{.Ports}}\n';
  return given;
}

export function serviceMode(service: Service): string {
  const mode = service.Spec.Mode;
  if (mode.Global) return 'global';
  if (mode.Replicated) return 'replicated';
  if (mode.ReplicatedJob) return 'replicated job';
  if (mode.GlobalJob) return 'global job';
  return '';
}

/** REPLICAS: running/desired, a job's completions after it, a replicated service's per-node maximum. */
export function serviceReplicas(service: Service): string {
  const { RunningTasks: running = 0, DesiredTasks: desired = 0, CompletedTasks: completed = 0 } = service.ServiceStatus ?? {};
  const mode = service.Spec.Mode;
  if (mode.ReplicatedJob) return `${running}/${desired} (${completed}/${mode.ReplicatedJob.TotalCompletions ?? 0} completed)`;
  if (mode.GlobalJob) return `${running}/${desired} (${completed}/${desired + completed} completed)`;
  const max = mode.Replicated ? service.Spec.TaskTemplate.Placement?.MaxReplicas ?? 0 : 0;
  return max > 0 ? `${running}/${desired} (max ${max} per node)` : `${running}/${desired}`;
}

/**
 * PORTS: the ingress-published ports, consecutive ones grouped into ranges (`*:8080-8081->80-81/tcp`),
 * as docker's serviceContext.Ports groups them (its unsigned arithmetic included).
 */
export function servicePorts(ports: readonly PortConfig[] | undefined): string {
  if (!ports) return '';
  const sorted = [...ports].sort((a, b) => (a.Protocol === b.Protocol ? (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0) : a.Protocol < b.Protocol ? -1 : 1));
  const u32 = (n: number): number => n >>> 0;
  const out: string[] = [];
  let range = { pStart: 0, pEnd: 0, tStart: 0, tEnd: 0, protocol: '' };
  const shown = (r: typeof range): string =>
    `*:${r.pEnd > r.pStart ? `${r.pStart}-${r.pEnd}` : r.pStart}->${r.tEnd > r.tStart ? `${r.tStart}-${r.tEnd}` : r.tStart}/${r.protocol}`;
  for (const port of sorted) {
    if (port.PublishMode !== 'ingress' && port.PublishMode !== undefined) continue;
    const published = port.PublishedPort ?? 0;
    const isRange = range.tEnd !== range.tStart;
    const overlaps = port.TargetPort <= range.tEnd;
    if (port.Protocol !== range.protocol || u32(published - range.pEnd) > 1 || u32(port.TargetPort - range.tEnd) > 1 || (isRange && overlaps)) {
      if (range.pStart > 0) out.push(shown(range));
      range = { pStart: published, pEnd: published, tStart: port.TargetPort, tEnd: port.TargetPort, protocol: port.Protocol };
      continue;
    }
    range.pEnd = published;
    range.tEnd = port.TargetPort;
  }
  if (range.pStart > 0) out.push(shown(range));
  return out.join(', ');
}

/** What `service ls --format` sees of a service: docker's serviceContext. */
export function serviceContext(service: Service): object {
  return formatContext('*service.serviceContext', {
    ID: truncateId(service.ID),
    Name: service.Spec.Name,
    Mode: serviceMode(service),
    Replicas: serviceReplicas(service),
    Image: shownImage(service.Spec.TaskTemplate.ContainerSpec?.Image ?? ''),
    Ports: servicePorts(service.Endpoint?.Ports),
  });
}

export function formatServices(format: string, services: readonly Service[]): string {
  const sorted = [...services].sort((a, b) => naturalCompare(a.Spec.Name, b.Spec.Name));
  return formatList(format, sorted.map(serviceContext), SERVICE_HEADERS);
}

/** docker's serviceInspectPrettyTemplate, as written (its tabs are printed as they are). */
const SERVICE_PRETTY = `
ID:\t\t{{.ID}}
Name:\t\t{{.Name}}
{{- if .Labels }}
Labels:
{{- range $k, $v := .Labels }}
 {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Service Mode:
{{- if .IsModeGlobal }}\tGlobal
{{- else if .IsModeReplicated }}\tReplicated
{{- if .ModeReplicatedReplicas }}
 Replicas:\t{{ .ModeReplicatedReplicas }}
{{- end }}{{ end }}
{{- if .HasUpdateStatus }}
UpdateStatus:
 State:\t\t{{ .UpdateStatusState }}
{{- if .HasUpdateStatusStarted }}
 Started:\t{{ .UpdateStatusStarted }}
{{- end }}
{{- if .UpdateIsCompleted }}
 Completed:\t{{ .UpdateStatusCompleted }}
{{- end }}
 Message:\t{{ .UpdateStatusMessage }}
{{- end }}
Placement:
{{- if .TaskPlacementConstraints }}
 Constraints:\t{{ .TaskPlacementConstraints }}
{{- end }}
{{- if .MaxReplicas }}
 Max Replicas Per Node:   {{ .MaxReplicas }}
{{- end }}
{{- if .HasUpdateConfig }}
UpdateConfig:
 Parallelism:\t{{ .UpdateParallelism }}
{{- if .HasUpdateDelay}}
 Delay:\t\t{{ .UpdateDelay }}
{{- end }}
 On failure:\t{{ .UpdateOnFailure }}
{{- if .HasUpdateMonitor}}
 Monitoring Period: {{ .UpdateMonitor }}
{{- end }}
 Max failure ratio: {{ .UpdateMaxFailureRatio }}
 Update order:      {{ .UpdateOrder }}
{{- end }}
{{- if .HasRollbackConfig }}
RollbackConfig:
 Parallelism:\t{{ .RollbackParallelism }}
{{- if .HasRollbackDelay}}
 Delay:\t\t{{ .RollbackDelay }}
{{- end }}
 On failure:\t{{ .RollbackOnFailure }}
{{- if .HasRollbackMonitor}}
 Monitoring Period: {{ .RollbackMonitor }}
{{- end }}
 Max failure ratio: {{ .RollbackMaxFailureRatio }}
 Rollback order:    {{ .RollbackOrder }}
{{- end }}
ContainerSpec:
 Image:\t\t{{ .ContainerImage }}
{{- if .ContainerArgs }}
 Args:\t\t{{ range $arg := .ContainerArgs }}{{ $arg }} {{ end }}
{{- end -}}
{{- if .ContainerEnv }}
 Env:\t\t{{ range $env := .ContainerEnv }}{{ $env }} {{ end }}
{{- end -}}
{{- if .ContainerWorkDir }}
 Dir:\t\t{{ .ContainerWorkDir }}
{{- end -}}
{{- if .HasContainerInit }}
 Init:\t\t{{ .ContainerInit }}
{{- end -}}
{{- if .ContainerUser }}
 User: {{ .ContainerUser }}
{{- end }}
{{- if .HasCapabilities }}
Capabilities:
{{- if .CapabilityAdd }}
 Add: {{ .CapabilityAdd }}
{{- end }}
{{- if .CapabilityDrop }}
 Drop: {{ .CapabilityDrop }}
{{- end }}
{{- end }}
{{- if .ContainerSysCtls }}
SysCtls:
{{- range $k, $v := .ContainerSysCtls }}
 {{ $k }}{{if $v }}: {{ $v }}{{ end }}
{{- end }}{{ end }}
{{- if .ContainerUlimits }}
Ulimits:
{{- range $k, $v := .ContainerUlimits }}
 {{ $k }}: {{ $v }}
{{- end }}{{ end }}
{{- if .ContainerMounts }}
Mounts:
{{- end }}
{{- range $mount := .ContainerMounts }}
 Target:\t{{ $mount.Target }}
  Source:\t{{ $mount.Source }}
  ReadOnly:\t{{ $mount.ReadOnly }}
  Type:\t\t{{ $mount.Type }}
{{- end -}}
{{- if .Configs}}
Configs:
{{- range $config := .Configs }}
 Target:\t{{$config.File.Name}}
  Source:\t{{$config.ConfigName}}
{{- end }}{{ end }}
{{- if .Secrets }}
Secrets:
{{- range $secret := .Secrets }}
 Target:\t{{$secret.File.Name}}
  Source:\t{{$secret.SecretName}}
{{- end }}{{ end }}
{{- if .HasLogDriver }}
Log Driver:
{{- if .LogDriverName }}
 Name:\t\t{{ .LogDriverName }}
{{- end }}
{{- if .LogOpts }}
 LogOpts:
{{- range $k, $v := .LogOpts }}
  {{ $k }}{{if $v }}:       {{ $v }}{{ end }}
{{- end }}{{ end }}
{{ end }}
{{- if .HasResources }}
Resources:
{{- if .HasResourceReservations }}
 Reservations:
{{- if .ResourceReservationNanoCPUs }}
  CPU:\t\t{{ .ResourceReservationNanoCPUs }}
{{- end }}
{{- if .ResourceReservationMemory }}
  Memory:\t{{ .ResourceReservationMemory }}
{{- end }}{{ end }}
{{- if .HasResourceLimits }}
 Limits:
{{- if .ResourceLimitsNanoCPUs }}
  CPU:\t\t{{ .ResourceLimitsNanoCPUs }}
{{- end }}
{{- if .ResourceLimitMemory }}
  Memory:\t{{ .ResourceLimitMemory }}
{{- end }}{{ end }}{{ end }}
{{- if .ResourceLimitPids }}
  PIDs:\t\t{{ .ResourceLimitPids }}
{{- end }}
{{- if .Networks }}
Networks:
{{- range $network := .Networks }} {{ $network }}{{ end }} {{ end }}
Endpoint Mode:\t{{ .EndpointMode }}
{{- if .Ports }}
Ports:
{{- range $port := .Ports }}
 PublishedPort = {{ $port.PublishedPort }}
  Protocol = {{ $port.Protocol }}
  TargetPort = {{ $port.TargetPort }}
  PublishMode = {{ $port.PublishMode }}
{{- end }} {{ end -}}
{{- if .Healthcheck }}
 Healthcheck:
  Interval = {{ .Healthcheck.Interval }}
  Retries = {{ .Healthcheck.Retries }}
  StartPeriod =\t{{ .Healthcheck.StartPeriod }}
  Timeout =\t{{ .Healthcheck.Timeout }}
  {{- if .Healthcheck.Test }}
  Tests:
\t{{- range $test := .Healthcheck.Test }}
\t Test = {{ $test }}
  {{- end }} {{ end -}}
{{- end }}
`;

/** Go's `%v` of a float64 as docker's template prints a CPU count: `0.5`, `2`. */
const cpus = (nano: number | undefined): number => (nano ?? 0) / 1e9;

/**
 * What docker's serviceInspectContext gives the pretty template, worked out here (the template
 * engine has no methods of ours to call): the conditions as booleans, the durations in Go's words.
 * `networkNames` maps a network's ID to its name, as docker resolves them.
 */
function serviceInspectContext(service: Service, networkNames: ReadonlyMap<string, string>): object {
  const spec = service.Spec;
  const container = spec.TaskTemplate.ContainerSpec ?? { Image: '' };
  const update = spec.UpdateConfig;
  const rollback = spec.RollbackConfig;
  const status = service.UpdateStatus;
  const resources = spec.TaskTemplate.Resources;
  const limits = resources?.Limits;
  const reservations = resources?.Reservations;
  const log = spec.TaskTemplate.LogDriver;
  const health = container.Healthcheck;
  return {
    ID: service.ID,
    Name: spec.Name,
    Labels: spec.Labels,
    IsModeGlobal: spec.Mode.Global !== undefined,
    IsModeReplicated: spec.Mode.Replicated !== undefined,
    ModeReplicatedReplicas: spec.Mode.Replicated?.Replicas,
    HasUpdateStatus: status !== undefined && status.State !== undefined,
    UpdateStatusState: status?.State,
    HasUpdateStatusStarted: status?.StartedAt !== undefined,
    UpdateStatusStarted: status?.StartedAt ? humanAgo(status.StartedAt) : '',
    UpdateIsCompleted: status?.State === 'completed' && status.CompletedAt !== undefined,
    UpdateStatusCompleted: status?.CompletedAt ? humanAgo(status.CompletedAt) : '',
    UpdateStatusMessage: status?.Message ?? '',
    TaskPlacementConstraints: spec.TaskTemplate.Placement?.Constraints ?? null,
    MaxReplicas: spec.TaskTemplate.Placement?.MaxReplicas ?? 0,
    HasUpdateConfig: update !== undefined,
    UpdateParallelism: update?.Parallelism ?? 0,
    HasUpdateDelay: (update?.Delay ?? 0) > 0,
    UpdateDelay: goDuration(update?.Delay ?? 0),
    UpdateOnFailure: update?.FailureAction ?? '',
    HasUpdateMonitor: (update?.Monitor ?? 0) > 0,
    UpdateMonitor: goDuration(update?.Monitor ?? 0),
    UpdateMaxFailureRatio: update?.MaxFailureRatio ?? 0,
    UpdateOrder: update?.Order ?? '',
    HasRollbackConfig: rollback !== undefined,
    RollbackParallelism: rollback?.Parallelism ?? 0,
    HasRollbackDelay: (rollback?.Delay ?? 0) > 0,
    RollbackDelay: goDuration(rollback?.Delay ?? 0),
    RollbackOnFailure: rollback?.FailureAction ?? '',
    HasRollbackMonitor: (rollback?.Monitor ?? 0) > 0,
    RollbackMonitor: goDuration(rollback?.Monitor ?? 0),
    RollbackMaxFailureRatio: rollback?.MaxFailureRatio ?? 0,
    RollbackOrder: rollback?.Order ?? '',
    ContainerImage: container.Image,
    ContainerArgs: container.Args ?? null,
    ContainerEnv: container.Env ?? null,
    ContainerWorkDir: container.Dir ?? '',
    HasContainerInit: container.Init !== undefined && container.Init !== null,
    ContainerInit: container.Init === true,
    ContainerUser: container.User ?? '',
    HasCapabilities: (container.CapabilityAdd?.length ?? 0) > 0 || (container.CapabilityDrop?.length ?? 0) > 0,
    CapabilityAdd: (container.CapabilityAdd ?? []).join(', '),
    CapabilityDrop: (container.CapabilityDrop ?? []).join(', '),
    ContainerSysCtls: container.Sysctls ?? null,
    ContainerUlimits: Object.fromEntries((container.Ulimits ?? []).map((u) => [u.Name, `${u.Soft}:${u.Hard}`])),
    ContainerMounts: (container.Mounts ?? []).map((m) => ({ Target: m.Target, Source: m.Source ?? '', ReadOnly: m.ReadOnly === true, Type: m.Type })),
    Configs: container.Configs ?? null,
    Secrets: container.Secrets ?? null,
    HasLogDriver: log !== undefined,
    LogDriverName: log?.Name ?? '',
    LogOpts: log?.Options ?? null,
    HasResources: resources !== undefined,
    HasResourceReservations: (reservations?.NanoCPUs ?? 0) > 0 || (reservations?.MemoryBytes ?? 0) > 0,
    ResourceReservationNanoCPUs: cpus(reservations?.NanoCPUs),
    ResourceReservationMemory: reservations?.MemoryBytes ? bytesSize(reservations.MemoryBytes) : '',
    HasResourceLimits: (limits?.NanoCPUs ?? 0) > 0 || (limits?.MemoryBytes ?? 0) > 0 || (limits?.Pids ?? 0) > 0,
    ResourceLimitsNanoCPUs: cpus(limits?.NanoCPUs),
    ResourceLimitMemory: limits?.MemoryBytes ? bytesSize(limits.MemoryBytes) : '',
    ResourceLimitPids: limits?.Pids ?? 0,
    Networks: (spec.TaskTemplate.Networks ?? []).map((n) => networkNames.get(n.Target) ?? n.Target),
    EndpointMode: spec.EndpointSpec?.Mode ?? '',
    Ports: service.Endpoint?.Ports ?? null,
    Healthcheck: health
      ? { Interval: goDuration(health.Interval ?? 0), Retries: health.Retries ?? 0, StartPeriod: goDuration(health.StartPeriod ?? 0), Timeout: goDuration(health.Timeout ?? 0), Test: health.Test ?? null }
      : null,
  };
}

/** `service inspect --pretty`: each service through docker's template, a newline after each. */
export function prettyServices(services: readonly Service[], networkNames: ReadonlyMap<string, string>): string {
  return formatList(SERVICE_PRETTY, services.map((s) => serviceInspectContext(s, networkNames)), {});
}

// ---------------------------------------------------------------- tasks

export const TASK_HEADERS: Readonly<Record<string, string>> = {
  ID: 'ID',
  Name: 'NAME',
  Image: 'IMAGE',
  Node: 'NODE',
  DesiredState: 'DESIRED STATE',
  CurrentState: 'CURRENT STATE',
  Error: 'ERROR',
  Ports: 'PORTS',
};

/** docker's NewTaskFormat. */
export function taskFormat(given: string, quiet: boolean): string {
  if (given === 'table') return quiet ? '{{.ID}}' : 'table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}';
  if (given === 'raw') {
    return quiet
      ? 'id: {{.ID}}'
      : 'id: {{.ID}}\nname: {{.Name}}\nimage: {{.Image}}\nnode: {{.Node}}\ndesired_state: {{.DesiredState}}\ncurrent_state: {{.CurrentState}}\nerror: {{.Error}}\nports: {{.Ports}}\n';
  }
  return given;
}

/** How a task printer names services and nodes: by name, or (`--no-resolve`) by ID. */
export interface TaskNames {
  service(id: string): string;
  node(id: string): string;
}

/** docker's maxErrLength: a task's error is cut to this many columns unless `--no-trunc`. */
const MAX_ERROR_LENGTH = 30;

/** docker's ellipsis of a task's error. */
function cutError(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

/** What `service ps --format` sees of a task: docker's taskContext. */
function taskContext(task: Task, name: string, node: string, truncate: boolean): object {
  const image = task.Spec.ContainerSpec?.Image ?? '';
  const error = truncate ? cutError(task.Status.Err ?? '') : task.Status.Err ?? '';
  const humanDuration = engineModule().humanDuration;
  return formatContext('*task.taskContext', {
    ID: truncate ? truncateId(task.ID) : task.ID,
    Name: name,
    Image: truncate ? shownImage(image) : image,
    Node: node,
    DesiredState: prettyPrint(task.DesiredState),
    CurrentState: `${prettyPrint(task.Status.State)} ${humanDuration(Date.now() - new Date(task.Status.Timestamp).getTime()).toLowerCase()} ago`,
    Error: error ? `"${error}"` : '',
    Ports: (task.Status.PortStatus?.Ports ?? []).map((p) => `*:${p.PublishedPort ?? 0}->${p.TargetPort}/${p.Protocol}`).join(','),
  });
}

/**
 * docker's task printer (`service ps`, `node ps`, `stack ps`): tasks by service name, then slot
 * (or node), newest first; in a table a task that follows one of the same name is history,
 * indented `\_ `.
 */
export function formatTasks(format: string, tasks: readonly Task[], names: TaskNames, truncate: boolean): string {
  const nameOf = (task: Task): string => `${names.service(task.ServiceID)}.${task.Slot ? task.Slot : task.NodeID}`;
  const sorted = [...tasks].sort((a, b) => {
    const byName = naturalCompare(nameOf(a), nameOf(b));
    if (byName !== 0) return byName;
    // As times, not strings: trailing zeros are trimmed from the fractions.
    return Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt);
  });
  const table = format.startsWith('table');
  let previous = '';
  const contexts = sorted.map((task) => {
    const name = nameOf(task);
    const shown = table && name === previous ? ` \\_ ${name}` : name;
    previous = name;
    return taskContext(task, shown, names.node(task.NodeID), truncate);
  });
  return formatList(format, contexts, TASK_HEADERS);
}

// ---------------------------------------------------------------- nodes

export const NODE_HEADERS: Readonly<Record<string, string>> = {
  ID: 'ID',
  Self: '',
  Hostname: 'HOSTNAME',
  Status: 'STATUS',
  Availability: 'AVAILABILITY',
  ManagerStatus: 'MANAGER STATUS',
  EngineVersion: 'ENGINE VERSION',
  TLSStatus: 'TLS STATUS',
};

/** docker's node NewFormat. */
export function nodeListFormat(given: string, quiet: boolean): string {
  if (given === 'table') return quiet ? '{{.ID}}' : 'table {{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}';
  if (given === 'raw') return quiet ? 'node_id: {{.ID}}' : 'node_id: {{.ID}}\nhostname: {{.Hostname}}\nstatus: {{.Status}}\navailability: {{.Availability}}\nmanager_status: {{.ManagerStatus}}\n';
  return given;
}

/** MANAGER STATUS: `Leader`, a manager's reachability, nothing for a worker. */
function managerStatus(node: Node): string {
  if (!node.ManagerStatus) return '';
  return prettyPrint(node.ManagerStatus.Leader ? 'Leader' : node.ManagerStatus.Reachability);
}

/** Whether a TLSInfo says anything: docker shows and compares only one that is not its zero value (a swarm without a CA has that). */
function hasTlsInfo(info: SwarmInspect['TLSInfo'] | undefined): info is SwarmInspect['TLSInfo'] {
  return Boolean(info && (info.TrustRoot || info.CertIssuerSubject || info.CertIssuerPublicKey));
}

/**
 * TLS STATUS: whether the node's certificate comes from the swarm's current root CA (`Ready`)
 * or an older one (`Needs Rotation`, after the CA changed); `Unknown` where either is not known.
 */
function tlsStatus(node: Node, cluster: SwarmInspect['TLSInfo'] | undefined): string {
  const own = node.Description.TLSInfo;
  if (!hasTlsInfo(cluster) || !hasTlsInfo(own)) return 'Unknown';
  const same = own.TrustRoot === cluster.TrustRoot && own.CertIssuerSubject === cluster.CertIssuerSubject && own.CertIssuerPublicKey === cluster.CertIssuerPublicKey;
  return same ? 'Ready' : 'Needs Rotation';
}

function nodeContext(node: Node, info: SwarmInfo): object {
  return formatContext('*formatter.nodeContext', {
    ID: node.ID,
    Self: node.ID === info.NodeID,
    Hostname: node.Description.Hostname,
    Status: prettyPrint(node.Status.State),
    Availability: prettyPrint(node.Spec.Availability),
    ManagerStatus: managerStatus(node),
    EngineVersion: node.Description.Engine.EngineVersion,
    TLSStatus: tlsStatus(node, info.Cluster?.TLSInfo),
  });
}

/** `node ls`: `info` is this node's view of the swarm (which node is itself, the cluster's TLS info). */
export function formatNodes(format: string, nodes: readonly Node[], info: SwarmInfo): string {
  const sorted = [...nodes].sort((a, b) => naturalCompare(a.Description.Hostname, b.Description.Hostname));
  return formatList(format, sorted.map((node) => nodeContext(node, info)), NODE_HEADERS);
}

/** docker's nodeInspectPrettyTemplate. */
const NODE_PRETTY = `ID:\t\t\t{{.ID}}
{{- if .Name }}
Name:\t\t\t{{.Name}}
{{- end }}
{{- if .Labels }}
Labels:
{{- range $k, $v := .Labels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Hostname:              \t{{.Hostname}}
Joined at:             \t{{.CreatedAt}}
Status:
 State:\t\t\t{{.StatusState}}
 {{- if .HasStatusMessage}}
 Message:              \t{{.StatusMessage}}
 {{- end}}
 Availability:         \t{{.SpecAvailability}}
 {{- if .Status.Addr}}
 Address:\t\t{{.StatusAddr}}
 {{- end}}
{{- if .HasManagerStatus}}
Manager Status:
 Address:\t\t{{.ManagerStatusAddr}}
 Raft Status:\t\t{{.ManagerStatusReachability}}
 {{- if .IsManagerStatusLeader}}
 Leader:\t\tYes
 {{- else}}
 Leader:\t\tNo
 {{- end}}
{{- end}}
Platform:
 Operating System:\t{{.PlatformOS}}
 Architecture:\t\t{{.PlatformArchitecture}}
Resources:
 CPUs:\t\t\t{{.ResourceNanoCPUs}}
 Memory:\t\t{{.ResourceMemory}}
{{- if .HasEnginePlugins}}
Plugins:
{{- range $k, $v := .EnginePlugins }}
 {{ $k }}:{{if $v }}\t\t{{ $v }}{{ end }}
{{- end }}
{{- end }}
Engine Version:\t\t{{.EngineVersion}}
{{- if .EngineLabels}}
Engine Labels:
{{- range $k, $v := .EngineLabels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{- end }}
{{- if .HasTLSInfo}}
TLS Info:
 TrustRoot:
{{.TLSInfoTrustRoot}}
 Issuer Subject:\t{{.TLSInfoCertIssuerSubject}}
 Issuer Public Key:\t{{.TLSInfoCertIssuerPublicKey}}
{{- end}}`;

function nodeInspectContext(node: Node): object {
  const plugins: Record<string, string[]> = {};
  for (const plugin of node.Description.Engine.Plugins ?? []) (plugins[plugin.Type] ??= []).push(plugin.Name);
  return {
    ID: node.ID,
    Name: node.Spec.Name ?? '',
    Labels: node.Spec.Labels,
    Hostname: node.Description.Hostname,
    // docker pretty-prints the time too: `+0000 utc`.
    CreatedAt: prettyPrint(goTimeString(node.CreatedAt)),
    StatusState: prettyPrint(node.Status.State),
    HasStatusMessage: Boolean(node.Status.Message),
    StatusMessage: prettyPrint(node.Status.Message ?? ''),
    SpecAvailability: prettyPrint(node.Spec.Availability),
    Status: node.Status,
    StatusAddr: node.Status.Addr,
    HasManagerStatus: node.ManagerStatus !== undefined,
    ManagerStatusAddr: node.ManagerStatus?.Addr ?? '',
    ManagerStatusReachability: prettyPrint(node.ManagerStatus?.Reachability ?? ''),
    IsManagerStatusLeader: node.ManagerStatus?.Leader === true,
    PlatformOS: node.Description.Platform.OS,
    PlatformArchitecture: node.Description.Platform.Architecture,
    ResourceNanoCPUs: cpus(node.Description.Resources.NanoCPUs),
    ResourceMemory: bytesSize(node.Description.Resources.MemoryBytes),
    HasEnginePlugins: Object.keys(plugins).length > 0,
    EnginePlugins: Object.fromEntries(Object.entries(plugins).map(([type, names]) => [type, names.sort().join(', ')])),
    EngineVersion: node.Description.Engine.EngineVersion,
    EngineLabels: node.Description.Engine.Labels ?? null,
    HasTLSInfo: hasTlsInfo(node.Description.TLSInfo),
    // The API's base64 of the DER, which docker decodes and encodes again.
    TLSInfoTrustRoot: node.Description.TLSInfo.TrustRoot,
    TLSInfoCertIssuerSubject: node.Description.TLSInfo.CertIssuerSubject,
    TLSInfoCertIssuerPublicKey: node.Description.TLSInfo.CertIssuerPublicKey,
  };
}

export function prettyNodes(nodes: readonly Node[]): string {
  return formatList(NODE_PRETTY, nodes.map(nodeInspectContext), {});
}

// ---------------------------------------------------------------- secrets and configs

export const SECRET_HEADERS: Readonly<Record<string, string>> = { ID: 'ID', Name: 'NAME', Driver: 'DRIVER', CreatedAt: 'CREATED', UpdatedAt: 'UPDATED', Labels: 'LABELS' };
export const CONFIG_HEADERS: Readonly<Record<string, string>> = { ID: 'ID', Name: 'NAME', CreatedAt: 'CREATED', UpdatedAt: 'UPDATED', Labels: 'LABELS' };

/** docker's secret (or, without the driver, config) NewFormat. */
export function secretListFormat(given: string, quiet: boolean, kind: 'secret' | 'config'): string {
  if (given === 'table') {
    if (quiet) return '{{.ID}}';
    return kind === 'secret' ? 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}' : 'table {{.ID}}\t{{.Name}}\t{{.CreatedAt}}\t{{.UpdatedAt}}';
  }
  return given;
}

function labelsColumn(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** What `secret ls --format` / `config ls --format` sees of one. */
function secretContext(object: Secret | Config, kind: 'secret' | 'config'): object {
  const fields = {
    ID: object.ID,
    Name: object.Spec.Name,
    ...(kind === 'secret' ? { Driver: (object as Secret).Spec.Driver?.Name ?? '' } : {}),
    CreatedAt: humanAgo(object.CreatedAt),
    UpdatedAt: humanAgo(object.UpdatedAt),
    Labels: labelsColumn(object.Spec.Labels),
    Label: labelMethod(object.Spec.Labels),
  };
  return formatContext(kind === 'secret' ? '*secret.secretContext' : '*config.configContext', fields);
}

export function formatSecrets(format: string, objects: ReadonlyArray<Secret | Config>, kind: 'secret' | 'config'): string {
  const sorted = [...objects].sort((a, b) => naturalCompare(a.Spec.Name, b.Spec.Name));
  return formatList(format, sorted.map((o) => secretContext(o, kind)), kind === 'secret' ? SECRET_HEADERS : CONFIG_HEADERS);
}

const SECRET_PRETTY = `ID:              {{.ID}}
Name:              {{.Name}}
{{- if .Labels }}
Labels:
{{- range $k, $v := .Labels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Driver:            {{.Driver}}
Created at:        {{.CreatedAt}}
Updated at:        {{.UpdatedAt}}`;

const CONFIG_PRETTY = `ID:                     {{.ID}}
Name:                   {{.Name}}
{{- if .Labels }}
Labels:
{{- range $k, $v := .Labels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Created at:             {{.CreatedAt}}
Updated at:             {{.UpdatedAt}}
Data:
{{.Data}}`;

/** `secret inspect --pretty` / `config inspect --pretty` (a config's data shown as text). */
export function prettySecrets(objects: ReadonlyArray<Secret | Config>, kind: 'secret' | 'config'): string {
  const contexts = objects.map((o) => ({
    ID: o.ID,
    Name: o.Spec.Name,
    Labels: o.Spec.Labels,
    Driver: kind === 'secret' ? (o as Secret).Spec.Driver?.Name ?? '' : '',
    CreatedAt: goTimeString(o.CreatedAt),
    UpdatedAt: goTimeString(o.UpdatedAt),
    Data: kind === 'config' ? Buffer.from((o as Config).Spec.Data ?? '', 'base64').toString('utf8') : '',
  }));
  return formatList(kind === 'secret' ? SECRET_PRETTY : CONFIG_PRETTY, contexts, {});
}

// ---------------------------------------------------------------- convergence

/** swarmkit's task states in docker's progress order (numberedStates); past `running` a service's task shows no bar, a job's only through `complete`. */
const NUMBERED: Partial<Record<TaskState, number>> = {
  new: 1,
  allocated: 2,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  complete: 10,
  shutdown: 11,
  failed: 12,
  rejected: 13,
};
/** The longest state shown (`allocated`, `preparing`): every state is padded to it. */
const LONGEST_STATE = 9;
/** docker's maxProgressBars: more tasks than this, and only the overall line shows. */
const MAX_PROGRESS_BARS = 20;
/** docker's maxProgress: a service's task bar is full once it runs. */
const MAX_PROGRESS = 9;
/** docker's maxJobProgress: a job's task bar is full once it completed. */
const MAX_JOB_PROGRESS = 10;
/** The width docker's JSONProgress assumes when it cannot ask the terminal (stdout is none). */
const DEFAULT_COLUMNS = 200;

/**
 * docker's JSONProgress with HideCounts: `[===>   ] ` for `current` out of `total`, drawn only
 * on more than 110 columns; nothing without a total (a count of tasks never goes past it).
 */
function progressBar(current: number, total: number, columns: number): string {
  if (total <= 0 || columns <= 110) return '';
  const filled = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  return `[${'='.repeat(filled)}>${' '.repeat(50 - filled)}] `;
}

/** docker's truncError: a task's error on one line, cut to 75 characters. */
function oneLineError(text: string): string {
  const line = text.replace(/\n/g, ' ');
  return line.length > 75 ? `${line.slice(0, 74)}…` : line;
}

/** Go's `%*d`: `value` right-aligned in `width` columns. */
const padNumber = (value: number, width: number): string => String(value).padStart(width);

/** One of docker's progress messages: its line's ID, its status and, when it has one, its bar's position. */
type WriteProgress = (id: string, status: string, bar?: { current: number; total: number }) => void;

/** A task's line in a job's progress: its error, else its state and a bar that fills as it completes. */
function writeJobTask(write: WriteProgress, id: string, task: ConvergeProgress['tasks'][number]): void {
  if (task.err) write(id, oneLineError(task.err));
  else write(id, task.state.padEnd(LONGEST_STATE), { current: NUMBERED[task.state] ?? 0, total: MAX_JOB_PROGRESS });
}

/**
 * docker's replicatedJobProgressUpdater: `job progress: 1 out of 3 complete` (a bar of the
 * completions), `active tasks: 1 out of 2 tasks` (tasks not yet ended, out of the lesser of
 * MaxConcurrent and the completions still wanted), and a line per slot, `1/3` being the slot
 * first filled, its state shown through `complete`.
 */
class ReplicatedJobProgress {
  /** The completions wanted, as the first look found them (docker reads them once). */
  private total: number | undefined;

  constructor(
    private readonly write: WriteProgress,
    private readonly concurrent: number,
  ) {}

  update(progress: ConvergeProgress): void {
    if (this.total === undefined) {
      this.total = progress.desired;
      this.overall(0, 0);
      if (this.total <= MAX_PROGRESS_BARS) for (let slot = 1; slot <= this.total; slot++) this.write(`${slot}/${this.total}`, ' ');
    }
    const total = this.total;
    // docker numbers the slots from the lowest, skipping tasks in a state it does not know.
    const tasks = progress.tasks.filter((task) => NUMBERED[task.state] !== undefined).sort((a, b) => Number(a.slot) - Number(b.slot));
    let active = 0;
    let complete = 0;
    tasks.forEach((task, index) => {
      if (total <= MAX_PROGRESS_BARS) writeJobTask(this.write, `${index + 1}/${total}`, task);
      if ((NUMBERED[task.state] ?? 0) < MAX_JOB_PROGRESS) active++;
      if (task.state === 'complete') complete++;
    });
    this.overall(active, complete);
  }

  private overall(active: number, complete: number): void {
    const total = this.total ?? 0;
    this.write('job progress', `${padNumber(complete, String(total).length)} out of ${total} complete`, { current: complete, total });
    const width = String(this.concurrent).length;
    this.write('active tasks', `${padNumber(active, width)} out of ${padNumber(Math.min(total - complete, this.concurrent), width)} tasks`);
  }
}

/**
 * docker's globalJobProgressUpdater: `job progress: waiting for tasks` until the job has some,
 * then `job progress: 1 out of 2 complete` over the nodes it first had tasks on (a node that
 * joins later is not waited for), and a line per such node, named by its full ID.
 */
class GlobalJobProgress {
  private nodes: Set<string> | undefined;

  constructor(private readonly write: WriteProgress) {}

  update(progress: ConvergeProgress): void {
    if (!this.nodes) {
      if (progress.tasks.length === 0) return this.write('job progress', 'waiting for tasks');
      this.nodes = new Set(progress.tasks.map((task) => task.slot));
      this.overall(0);
    }
    const nodes = this.nodes;
    const tasks = progress.tasks.filter((task) => nodes.has(task.slot));
    if (nodes.size <= MAX_PROGRESS_BARS) for (const task of tasks) writeJobTask(this.write, task.slot, task);
    this.overall(tasks.filter((task) => task.state === 'complete').length);
  }

  private overall(complete: number): void {
    const total = this.nodes?.size ?? 0;
    this.write('job progress', `${padNumber(complete, String(total).length)} out of ${total} complete`, { current: complete, total });
  }
}

/**
 * What docker's CLI shows while it waits for a service to converge (`service create` and
 * `update` without `--detach`): `overall progress: 2 out of 3 tasks`, a line per slot with its
 * task's state (a bar on a terminal), the `verify:` line counting down while the running tasks
 * are watched, then `verify: Service ID converged`. On a terminal each
 * line is redrawn in place; elsewhere a line is printed when its text changes (docker prints
 * it at every poll), and a line that carries a bar (a task's state) is not printed at all, as
 * docker's jsonmessage prints none of them there.
 * A job (its `mode` says) shows docker's job progress instead, ending with `job complete`;
 * off a terminal its messages that have a bar (the `job progress` count, the task states) are
 * not printed at all, as docker prints none of them there.
 */
export class ConvergeView {
  private readonly view: ProgressView;
  /** The service's slots in the order their tasks first appeared, as docker maps them to 1…n. */
  private readonly slots = new Map<string, number>();
  private readonly last = new Map<string, string>();
  private started = false;
  private readonly job: ReplicatedJobProgress | GlobalJobProgress | undefined;

  constructor(
    private readonly out: Writable & { isTTY?: boolean; columns?: number },
    private readonly serviceId: string,
    mode: ServiceMode = {},
  ) {
    this.view = new ProgressView(out);
    const write: WriteProgress = (id, status, bar) => this.write(id, status, bar ? progressBar(bar.current, bar.total, this.columns) : '');
    if (mode.ReplicatedJob) this.job = new ReplicatedJobProgress(write, mode.ReplicatedJob.MaxConcurrent || 1);
    else if (mode.GlobalJob) this.job = new GlobalJobProgress(write);
  }

  /** The width bars are drawn for: the terminal's; off one, docker's default, at which every bar is drawn (and so its message left out). */
  private get columns(): number {
    return this.out.isTTY ? this.out.columns ?? DEFAULT_COLUMNS : DEFAULT_COLUMNS;
  }

  /** A line's new text; off a terminal ProgressView prints it only without a bar, and here only when it changed. */
  private write(id: string, status: string, bar = ''): void {
    const key = `${status}${bar}`;
    if (!this.out.isTTY && this.last.get(id) === key) return;
    this.last.set(id, key);
    this.view.update({ id, status, text: bar });
  }

  update(progress: ConvergeProgress): void {
    if (this.job) return this.job.update(progress);
    const rollback = progress.update?.State?.startsWith('rollback') === true;
    const overall = (running: number): string => (rollback ? `rolling back update: ${running} out of ${progress.desired} tasks` : `${running} out of ${progress.desired} tasks`);
    const bars = progress.desired <= MAX_PROGRESS_BARS;
    const global = progress.tasks.some((task) => !/^\d+$/.test(task.slot));
    if (!this.started) {
      this.started = true;
      this.write('overall progress', overall(0));
      if (bars && !global) for (let slot = 1; slot <= progress.desired; slot++) this.write(`${slot}/${progress.desired}`, ' ');
    }
    if (bars) {
      for (const task of progress.tasks) {
        let id: string;
        if (global) id = truncateId(task.slot);
        else {
          let mapped = this.slots.get(task.slot);
          if (mapped === undefined) this.slots.set(task.slot, (mapped = this.slots.size + 1));
          if (mapped > progress.desired) continue;
          id = `${mapped}/${progress.desired}`;
        }
        if (task.err) this.write(id, oneLineError(task.err));
        else if ((NUMBERED[task.state] ?? 99) <= MAX_PROGRESS) this.write(id, task.state.padEnd(LONGEST_STATE), progressBar(NUMBERED[task.state] ?? 0, MAX_PROGRESS, this.columns));
      }
    }
    this.write('overall progress', overall(progress.running));
  }

  /** Every task runs: how many more seconds they are watched before the service counts as converged. */
  verifying(seconds: number): void {
    this.write('verify', `Waiting ${seconds} seconds to verify that tasks are stable...`);
  }

  /** A task stopped running while they were watched: the wait starts again once all run. */
  taskFailed(): void {
    this.write('verify', 'Detected task failure');
  }

  /** The last lines: the verification, and a rollback's outcome after it. */
  finish(progress: ConvergeProgress): void {
    this.write('verify', `Service ${this.serviceId} converged`);
    if (progress.update?.State === 'rollback_completed' && progress.update.Message) this.write('rollback', progress.update.Message);
  }

  /** A job's last line instead: it is not watched, as what completed stays completed (docker's message has no ID). */
  jobComplete(): void {
    this.out.write('job complete\n');
  }
}
