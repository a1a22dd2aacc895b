import { closeSync, createReadStream, fstatSync, openSync, renameSync, watch, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { invalidArgument } from '@ctr/errors';
import { familiarName, nowNanos, parseReference } from '@ctr/image';

/**
 * `docker events`, daemonless: every engine process appends to one JSON-lines journal under
 * the root, so an engine in another process sees what this one did. Small appends with
 * O_APPEND are atomic on a local filesystem, so writers need no lock.
 */

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'builder' | 'plugin' | 'daemon' | 'service' | 'node' | 'secret' | 'config';

/** `local` for this engine's own objects, `swarm` for the cluster's (services, nodes, secrets, configs). */
export type EventScope = 'local' | 'swarm';

export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: EventScope;
  /** Whole seconds since the epoch. */
  time: number;
  /** Nanoseconds since the epoch: past a double's exact integers, so a bigint (see eventJson, parseEvent). */
  timeNano: bigint;
}

export interface EventFilters {
  type?: string[];
  event?: string[];
  container?: string[];
  image?: string[];
  volume?: string[];
  network?: string[];
  service?: string[];
  node?: string[];
  secret?: string[];
  config?: string[];
  daemon?: string[];
  plugin?: string[];
  scope?: string[];
  label?: string[];
}

/** What a container's events say of it: dockerd gives every one its labels, image and name. */
export interface EventContainer {
  id: string;
  name: string;
  image: string;
  labels?: Record<string, string>;
}

/**
 * A container event's attributes as dockerd makes them (moby's LogContainerEventWithAttributes):
 * the event's own, the container's labels over them, then `image` and `name`. Clients filter
 * container events by label (docker-compose by its project's) and name them by `name`.
 */
export function containerAttributes(container: EventContainer, attributes: Record<string, string> = {}): Record<string, string> {
  return { ...attributes, ...container.labels, image: container.image, name: container.name };
}

/** A mount of a container's record, as its volume events name it (`EventLog.volumeMounts`). */
export interface EventMount {
  type: string;
  /** A volume's: binds and tmpfs mounts have none. */
  name?: string;
  /** A plugin's; `local` when absent. */
  driver?: string;
  target: string;
  readOnly?: boolean;
}

export interface EventsOptions {
  /** Seconds since the epoch (or a Date): replay events from then on. */
  since?: number | Date;
  /** Stop at this time; without it the iteration follows new events until `signal` aborts. */
  until?: number | Date;
  filters?: EventFilters;
  signal?: AbortSignal;
}

const ROTATE_AT = 8 * 1024 * 1024;
const NANOS_PER_MS = 1_000_000n;
const NANOS_PER_SECOND = 1_000_000_000n;

/**
 * An event (or dockerd's message of one: `status`, `id`, `from` besides) as one line of JSON,
 * its fields in their order and `timeNano` last in full, as dockerd writes it: JSON.stringify
 * knows no bigint, and a number would round the nanoseconds away.
 */
export function eventJson(event: { readonly timeNano: bigint }): string {
  const { timeNano, ...rest } = event;
  const fields = JSON.stringify(rest).slice(1, -1);
  return `{${fields}${fields ? ',' : ''}"timeNano":${timeNano}}`;
}

/**
 * One line of an event journal or of dockerd's event stream: `timeNano` read from the text,
 * whole (JSON.parse would round it to a double); from `time` when the line has none. Lines
 * ctr wrote before it kept nanoseconds read the same, their `timeNano` whole milliseconds.
 */
export function parseEvent(line: string): EngineEvent {
  const event = JSON.parse(line) as Omit<EngineEvent, 'timeNano'>;
  // Only the top-level field can be a bare number: attributes are strings.
  const digits = /"timeNano"\s*:\s*(-?\d+)/.exec(line)?.[1];
  return { ...event, timeNano: digits === undefined ? BigInt(event.time ?? 0) * NANOS_PER_SECOND : BigInt(digits) };
}

function seconds(at: number | Date): number {
  return at instanceof Date ? at.getTime() / 1000 : at;
}

/** A time as the docker CLI sends it (`<seconds>.<nanoseconds>`), to the millisecond a number of seconds or a Date holds. */
function wireTime(at: number | Date): string {
  const ms = Math.round(seconds(at) * 1000);
  const whole = Math.floor(ms / 1000);
  return `${whole}.${String(ms - whole * 1000).padStart(3, '0')}000000`;
}

/**
 * dockerd's refusal of a window that ends before it begins (moby's getEvents): without it a
 * follow would wait for an `until` that no event it shows can come before. `shown` are the
 * times as a request wrote them, which dockerd's message repeats.
 */
export function checkEventWindow(since: number | Date | undefined, until: number | Date | undefined, shown?: { since: string; until: string }): void {
  if (since === undefined || until === undefined || seconds(until) >= seconds(since)) return;
  const text = shown ?? { since: wireTime(since), until: wireTime(until) };
  throw invalidArgument(`\`since\` time (${text.since}) cannot be after \`until\` time (${text.until})`);
}

/**
 * moby's filters.Args matches: a key not asked for (or asked for with no value) lets every
 * event through; `exact`, one of its values is the source (ExactMatch); `fuzzy`, one of them
 * is the source or begins it (FuzzyMatch).
 */
function exactMatch(values: readonly string[] | undefined, source: string): boolean {
  return values === undefined || values.length === 0 || values.includes(source);
}

function fuzzyMatch(values: readonly string[] | undefined, source: string): boolean {
  // A value the source begins with: the source itself among them.
  return values === undefined || values.length === 0 || values.some((prefix) => source.startsWith(prefix));
}

/** Filter values that make every `event` value a prefix (moby #25798: `health_status` finds `health_status: healthy`). */
const PREFIXED_ACTIONS = ['health_status', 'exec_create', 'exec_start'];

/** The filter keys that name an object by its ID or its `name` attribute, whatever the event's type (moby's fuzzyMatchName). */
const NAMED_KINDS = ['daemon', 'container', 'plugin', 'volume', 'network', 'node', 'service', 'secret', 'config'] as const;

/** moby's stripTag: an image reference's familiar name, without tag or digest (`busybox:latest` is `busybox`); anything else as it is. */
function stripTag(image: string): string {
  try {
    return familiarName(parseReference(image));
  } catch {
    return image;
  }
}

/**
 * moby's matchImage: an image event's ID or `name`, any other event's ID or `image`, as they
 * are or without their tag — `image=busybox` finds `busybox:latest`'s tag and its containers.
 */
function imageMatches(event: EngineEvent, values: readonly string[] | undefined): boolean {
  if (values === undefined || values.length === 0) return true;
  const image = event.Actor.Attributes[event.Type === 'image' ? 'name' : 'image'] ?? '';
  return [event.Actor.ID, image, stripTag(event.Actor.ID), stripTag(image)].some((source) => values.includes(source));
}

/**
 * dockerd's event filter (daemon/events/filter.go), key by key. The named kinds look at every
 * event's ID and `name`, whatever its type: `container=web` also selects the events of a
 * network called `web…`, as it does on dockerd.
 */
function matches(event: EngineEvent, filters: EventFilters): boolean {
  const attrs = event.Actor.Attributes;
  const actions = filters.event;
  const actionMatches = actions?.some((v) => PREFIXED_ACTIONS.includes(v)) ? fuzzyMatch : exactMatch;
  return (
    actionMatches(actions, event.Action) &&
    exactMatch(filters.type, event.Type) &&
    exactMatch(filters.scope, event.scope) &&
    NAMED_KINDS.every((kind) => fuzzyMatch(filters[kind], event.Actor.ID) || fuzzyMatch(filters[kind], attrs.name ?? '')) &&
    imageMatches(event, filters.image) &&
    // Every label asked for must be there (dockerd's MatchKVList), unlike the other keys' values:
    // docker-compose asks for its project's label and its one-off label at once.
    (filters.label ?? []).every((v) => {
      const eq = v.indexOf('=');
      return eq === -1 ? Object.hasOwn(attrs, v) : attrs[v.slice(0, eq)] === v.slice(eq + 1);
    })
  );
}

export class EventLog {
  private readonly path: string;

  constructor(root: string) {
    this.path = join(root, 'events.jsonl');
  }

  async emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}, scope: EventScope = 'local'): Promise<EngineEvent> {
    const nanos = nowNanos();
    const event: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope,
      time: Number(nanos / NANOS_PER_SECOND),
      timeNano: nanos,
    };
    this.append(`${eventJson(event)}\n`);
    return event;
  }

  /**
   * `network connect` (or `disconnect`) of a container to each network of `networks` (inspect's
   * `NetworkSettings.Networks`) it has an endpoint on, as dockerd emits them at a start (and a
   * stop): the network is the actor, and the attributes name the container, the network and
   * its driver (bridge: the only networks with endpoints of ctr's).
   */
  async networks(action: 'connect' | 'disconnect', containerId: string, networks: Record<string, { NetworkID: string; EndpointID: string }>): Promise<void> {
    for (const [name, endpoint] of Object.entries(networks)) {
      if (endpoint.EndpointID) await this.emit('network', action, endpoint.NetworkID, { container: containerId, name, type: 'bridge' });
    }
  }

  /**
   * dockerd's `volume mount` of each volume a container mounts (named or anonymous: binds and
   * tmpfs mounts have none) as its start sets the mounts up (moby's setupMounts), or `unmount`
   * at the cleanup after its exit (UnmountVolumes), which names only the driver and container.
   * A volume has no propagation of its own: dockerd's attribute is empty for every one.
   */
  async volumeMounts(action: 'mount' | 'unmount', containerId: string, mounts: readonly EventMount[]): Promise<void> {
    for (const mount of mounts) {
      if (mount.type !== 'volume' || mount.name === undefined) continue;
      const driver = mount.driver ?? 'local';
      const attributes: Record<string, string> =
        action === 'mount'
          ? { driver, container: containerId, destination: mount.target, 'read/write': String(!mount.readOnly), propagation: '' }
          : { driver, container: containerId };
      await this.emit('volume', action, mount.name, attributes);
    }
  }

  /** dockerd's event at the end of a prune of `type` (containers, volumes, networks, images): no actor, the bytes freed as `reclaimed`. */
  pruned(type: EventType, reclaimed: number): Promise<EngineEvent> {
    return this.emit(type, 'prune', '', { reclaimed: String(reclaimed) });
  }

  /** A container event, with the attributes dockerd gives every one (`containerAttributes`). */
  container(action: string, container: EventContainer, attributes: Record<string, string> = {}): Promise<EngineEvent> {
    return this.emit('container', action, container.id, containerAttributes(container, attributes));
  }

  /**
   * dockerd's events of an exec as it starts: `exec_create`, then `exec_start`, each naming the
   * command (the entrypoint, a space, the arguments: `exec_start: sh -c date`) and its exec ID.
   */
  async execStarted(container: EventContainer, cmd: readonly string[], execId: string): Promise<void> {
    const command = `${cmd[0] ?? ''} ${cmd.slice(1).join(' ')}`;
    await this.container(`exec_create: ${command}`, container, { execID: execId });
    await this.container(`exec_start: ${command}`, container, { execID: execId });
  }

  /** dockerd's `exec_die` of an exec that ended, with its exit code. */
  execDied(container: EventContainer, execId: string, exitCode: number): Promise<EngineEvent> {
    return this.container('exec_die', container, { execID: execId, exitCode: String(exitCode) });
  }

  /** One small O_APPEND write, made directly: every container start and stop writes a few. */
  private append(line: string): void {
    let fd = openSync(this.path, 'a');
    if (fstatSync(fd).size > ROTATE_AT) {
      closeSync(fd);
      try {
        renameSync(this.path, `${this.path}.1`);
      } catch {
        // another engine process rotated it first
      }
      fd = openSync(this.path, 'a');
    }
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
  }

  /** Past events from `since`, then (without `until`) new ones as they are written. */
  async *events(options: EventsOptions = {}): AsyncGenerator<EngineEvent> {
    checkEventWindow(options.since, options.until);
    const since = options.since === undefined ? Date.now() / 1000 : seconds(options.since);
    const until = options.until === undefined ? undefined : seconds(options.until);
    const filters = options.filters ?? {};
    let offset = 0;
    // `since` and `until` hold milliseconds at most (a Date's, or seconds as a double): each
    // stands for its whole millisecond, so an event stamped later within the millisecond of an
    // `until` of now is not lost, nor one of `since`'s to the rounding of seconds as a float.
    const atMs = (e: EngineEvent): number => Number(e.timeNano / NANOS_PER_MS);
    const sinceMs = Math.floor(since * 1000 + 1e-3);
    const untilMs = until === undefined ? Infinity : Math.floor(until * 1000 + 1e-3);
    const wanted = (e: EngineEvent): boolean => atMs(e) >= sinceMs && atMs(e) <= untilMs && matches(e, filters);

    const readFrom = async function* (path: string, start: number): AsyncGenerator<{ event: EngineEvent; end: number }> {
      const size = await stat(path).then((s) => s.size, () => -1);
      if (size <= start) return;
      const lines = createInterface({ input: createReadStream(path, { start, end: size - 1 }), crlfDelay: Infinity });
      let position = start;
      for await (const line of lines) {
        position += Buffer.byteLength(line) + 1;
        if (!line) continue;
        try {
          yield { event: parseEvent(line), end: position };
        } catch {
          // A torn last line from a writer killed mid-append: skip it.
        }
      }
    };

    if (options.since !== undefined) {
      for await (const { event } of readFrom(`${this.path}.1`, 0)) if (wanted(event)) yield event;
    }
    for await (const { event, end } of readFrom(this.path, 0)) {
      offset = end;
      if (wanted(event)) yield event;
    }
    if (until !== undefined && until <= Date.now() / 1000) return;

    // Wake on a change in the directory, or once a second in case a notification was missed.
    let wake: (() => void) | undefined;
    const watcher = watch(join(this.path, '..'), () => wake?.());
    const onAbort = (): void => wake?.();
    options.signal?.addEventListener('abort', onAbort);
    try {
      while (!options.signal?.aborted) {
        if (until !== undefined && Date.now() / 1000 > until) return;
        const size = await stat(this.path).then((s) => s.size, () => 0);
        if (size < offset) offset = 0; // rotated
        for await (const { event, end } of readFrom(this.path, offset)) {
          offset = end;
          if (wanted(event)) yield event;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      watcher.close();
    }
  }
}
