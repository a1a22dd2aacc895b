import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type {
  AuthConfig,
  ContainerInspect,
  ContainerStats,
  ContainerSummary,
  DiskUsage,
  EngineEvent,
  EngineInfo,
  FilesystemChange,
  HistoryItem,
  ImageInspect,
  ImageSummary,
  PathStat,
  RemovedImage,
  SearchResult,
  TopResult,
  StopOptions,
  BuildStepOptions,
  PushedTag,
} from '@ctr/engine';
import { parseEvent } from '@ctr/engine';
import { CtrError, type ErrorCode } from '@ctr/errors';
import { DEFAULT_TAG, formatPlatform, parseReference, referenceName, type Platform } from '@ctr/image';
import type { ContainerCreateRequest, ContainerUpdateRequest, ExecCreateRequest, PingResponse, ProgressMessage, WaitResponse } from './api-types';
import { MAX_API_VERSION } from './api-version';
import { buildStepsQuery } from './create-request';
import type { SshOptions } from './ssh-transport';
import { FrameDecoder } from './stdcopy';
import { connectionError, directTransport, type TlsOptions, type Transport } from './transport';

/** The ssh transport, and the ssh2 library under it (≈ 60 ms to load here), only for ssh:// hosts. */
function sshModule(): typeof import('./ssh-transport') {
  return require('./ssh-transport') as typeof import('./ssh-transport');
}

export interface ApiClientOptions {
  /** `unix:///run/ctr/ctr.sock` (default: `$CTR_HOST`, `$DOCKER_HOST`, then that), `tcp://…`, `ssh://user@host[:port]`. */
  host?: string;
  tls?: TlsOptions;
  ssh?: SshOptions;
  /** The API version to speak (default the newest this package knows). */
  version?: string;
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

/** Docker's `--filter key=value`s, by key (the `filters` query parameter). */
export type FilterMap = Record<string, string[]>;

/** The `filters` query parameter, JSON as dockerd reads it; none when there are none. */
export function filtersParam(filters: FilterMap | undefined): string | undefined {
  return filters && Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined;
}

interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** A stream body (a tar) instead of JSON. */
  stream?: Readable;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** An attach or exec session after `101 UPGRADED`: both directions on one stream. */
export interface HijackedSession {
  stream: Duplex;
  /** Docker's stdcopy framing (no TTY) rather than raw bytes. */
  multiplexed: boolean;
}

interface ExecStartOptions {
  tty: boolean;
  /** The terminal size the exec starts with (with `tty`). */
  consoleSize?: { height: number; width: number };
}

type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** Docker's `{Volumes, Warnings}` from `GET /volumes`. */
type VolumeList<V> = { Volumes: V[] | null };

const CODES: Record<number, ErrorCode> = {
  400: 'InvalidArgument',
  401: 'Unauthorized',
  403: 'Denied',
  404: 'NotFound',
  409: 'Conflict',
  413: 'ResourceExhausted',
  429: 'TooManyRequests',
  501: 'Unsupported',
  503: 'Unavailable',
};

function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, v);
    else params.set(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Docker's `{"message"}` error body as a CtrError with the code its status means. */
async function responseError(res: IncomingMessage): Promise<CtrError> {
  const text = (await readAll(res)).toString('utf8');
  let message = text.trim() || `HTTP ${res.statusCode}`;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: keep the text
  }
  // dockerd answers a full disk with a 500; its words say what it is.
  const code = res.statusCode === 500 && /: (no space left on device|disk quota exceeded)\b/.test(message) ? 'ResourceExhausted' : (CODES[res.statusCode ?? 500] ?? 'Internal');
  return new CtrError(code, message, { details: { status: res.statusCode } });
}

/** Lines of a newline-delimited JSON stream; an `errorDetail` line is thrown, not swallowed. */
async function* jsonLines<T>(res: IncomingMessage, read: (line: string) => T = (line) => JSON.parse(line) as T): AsyncGenerator<T> {
  let pending = '';
  const parse = (line: string): T | undefined => {
    if (!line.trim()) return undefined;
    const message = read(line) as T & { errorDetail?: { message?: string; code?: number }; error?: string };
    if (message.errorDetail || message.error) {
      const code = message.errorDetail?.code;
      throw new CtrError('Internal', message.errorDetail?.message ?? message.error ?? 'the daemon reported an error', typeof code === 'number' ? { details: { exitCode: code } } : {});
    }
    return message;
  };
  // A character split between two chunks is held back until its other half arrives.
  const decoder = new StringDecoder('utf8');
  for await (const chunk of res) {
    pending += decoder.write(chunk as Buffer);
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const message = parse(line);
      if (message !== undefined) yield message;
    }
  }
  const last = parse(pending);
  if (last !== undefined) yield last;
}

/**
 * A typed client for the Docker Engine API, against ctrd or a real dockerd: over a unix
 * socket, TCP (+TLS), or SSH. Errors are CtrErrors with the code the HTTP status means;
 * streams that report an error inside a 200 throw it.
 */
export class ApiClient {
  readonly host: string;
  private readonly apiVersion: string;
  private transport: Promise<Transport> | undefined;

  constructor(private readonly options: ApiClientOptions = {}) {
    this.host = options.host ?? process.env.CTR_HOST ?? process.env.DOCKER_HOST ?? 'unix:///run/ctr/ctr.sock';
    this.apiVersion = options.version ?? MAX_API_VERSION;
  }

  private connect(): Promise<Transport> {
    this.transport ??= this.host.startsWith('ssh://') ? sshModule().sshTransport(this.host, this.options.ssh) : Promise.resolve(directTransport(this.host, this.options.tls));
    return this.transport;
  }

  private jsonBody(options: RequestOptions): { body: Buffer | undefined; headers: Record<string, string | number> } {
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (body) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = body.length;
    }
    return { body, headers };
  }

  private url(path: string, query: Query | undefined): string {
    return `/v${this.apiVersion}${path}${queryString(query)}`;
  }

  /** One request; resolves with the response once its status is 2xx (or rejects with the daemon's error). */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const transport = await this.connect();
    const { body, headers } = this.jsonBody(options);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = transport.request({ method, path: this.url(path, options.query), headers }, resolve);
      req.once('error', (error) => reject(connectionError(this.host, error)));
      if (options.stream) {
        options.stream.once('error', (error) => req.destroy(error));
        options.stream.pipe(req);
      } else req.end(body);
      options.signal?.addEventListener('abort', () => req.destroy(), { once: true });
    });
    options.signal?.addEventListener('abort', () => res.destroy(), { once: true });
    if ((res.statusCode ?? 500) >= 400) throw await responseError(res);
    return res;
  }

  /**
   * A request that takes the connection over (`Upgrade: tcp`), as the docker CLI does for
   * attach and exec: resolves with the raw stream once the daemon answered `101`.
   */
  async hijack(method: string, path: string, options: RequestOptions = {}): Promise<HijackedSession> {
    const transport = await this.connect();
    const { body, headers } = this.jsonBody(options);
    return new Promise<HijackedSession>((resolve, reject) => {
      const req = transport.request({ method, path: this.url(path, options.query), headers: { ...headers, Connection: 'Upgrade', Upgrade: 'tcp' } }, (res) => {
        if ((res.statusCode ?? 500) >= 400) responseError(res).then(reject, reject);
        else reject(new CtrError('Internal', `the daemon answered ${method} ${path} with ${res.statusCode} instead of taking the connection over`));
      });
      req.once('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (head.length > 0) socket.unshift(head);
        resolve({ stream: socket, multiplexed: String(res.headers['content-type'] ?? '').includes('multiplexed') });
      });
      req.once('error', (error) => reject(connectionError(this.host, error)));
      req.end(body);
    });
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, options);
    const text = (await readAll(res)).toString('utf8');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async empty(method: string, path: string, options: RequestOptions = {}): Promise<void> {
    await readAll(await this.raw(method, path, options));
  }

  close(): void {
    void this.transport?.then((t) => t.close(), () => undefined);
  }

  // System

  async ping(): Promise<PingResponse> {
    const res = await this.raw('GET', '/_ping');
    await readAll(res);
    return { apiVersion: String(res.headers['api-version'] ?? ''), osType: String(res.headers.ostype ?? ''), builderVersion: String(res.headers['builder-version'] ?? '') };
  }

  version(): Promise<Record<string, unknown> & { Version: string; ApiVersion: string }> {
    return this.json('GET', '/version');
  }

  info(): Promise<EngineInfo> {
    return this.json('GET', '/info');
  }

  /**
   * `docker login`: the daemon checks the credentials against the registry (`POST /auth`); it
   * stores nothing. A refusal is the daemon's error (401 from dockerd and ctrd).
   */
  auth(config: AuthConfig, options: { signal?: AbortSignal } = {}): Promise<{ Status: string; IdentityToken?: string }> {
    return this.json('POST', '/auth', { body: config, ...signalOf(options) });
  }

  /** `docker events`: until `until`, or until the signal aborts. */
  async *events(options: { since?: number; until?: number; filters?: Record<string, string[]>; signal?: AbortSignal } = {}): AsyncGenerator<EngineEvent> {
    const res = await this.raw('GET', '/events', {
      query: { since: options.since, until: options.until, filters: filtersParam(options.filters) },
      ...signalOf(options),
    });
    try {
      yield* jsonLines(res, parseEvent);
    } catch (error) {
      if (!options.signal?.aborted) throw error;
    }
  }

  // Containers

  /** `platform`: the one its image must be for (`docker create --platform`). */
  async createContainer(body: ContainerCreateRequest, name?: string, platform?: Platform): Promise<{ Id: string; Warnings: string[] }> {
    return this.json('POST', '/containers/create', { body, query: { name, platform: platform && formatPlatform(platform) } });
  }

  /** `docker ps`; with `size`, each container's `SizeRw` and `SizeRootFs` (the daemon walks their writable layers). */
  listContainers(options: { all?: boolean; filters?: Record<string, string[]>; limit?: number; size?: boolean; signal?: AbortSignal } = {}): Promise<ContainerSummary[]> {
    return this.json('GET', '/containers/json', { query: { all: options.all, limit: options.limit, size: options.size, filters: filtersParam(options.filters) }, ...signalOf(options) });
  }

  inspectContainer(id: string, options: { size?: boolean; signal?: AbortSignal } = {}): Promise<ContainerInspect> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: options.size }, ...signalOf(options) });
  }

  startContainer(id: string): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/start`);
  }

  stopContainer(id: string, options: StopOptions = {}): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: options.timeout, signal: options.signal } });
  }

  restartContainer(id: string, options: StopOptions = {}): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/restart`, { query: { t: options.timeout, signal: options.signal } });
  }

  killContainer(id: string, signal?: string): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal } });
  }

  pauseContainer(id: string): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/pause`);
  }

  unpauseContainer(id: string): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/unpause`);
  }

  renameContainer(id: string, name: string): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/rename`, { query: { name } });
  }

  updateContainer(id: string, body: ContainerUpdateRequest): Promise<{ Warnings: string[] | null }> {
    return this.json('POST', `/containers/${encodeURIComponent(id)}/update`, { body });
  }

  resizeContainer(id: string, size: { height: number; width: number }): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/resize`, { query: { h: size.height, w: size.width } });
  }

  async pruneContainers(options: { filters?: FilterMap } = {}): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const result = await this.json<{ ContainersDeleted: string[] | null; SpaceReclaimed?: number }>('POST', '/containers/prune', { query: { filters: filtersParam(options.filters) } });
    return { ContainersDeleted: result.ContainersDeleted ?? [], SpaceReclaimed: result.SpaceReclaimed ?? 0 };
  }

  /** `docker attach` / the attach `docker run` makes before it starts: a hijacked session. */
  attachContainer(id: string, options: { stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string }): Promise<HijackedSession> {
    return this.hijack('POST', `/containers/${encodeURIComponent(id)}/attach`, {
      query: {
        stream: true,
        stdin: options.stdin ?? false,
        stdout: options.stdout ?? false,
        stderr: options.stderr ?? false,
        logs: options.logs,
        detachKeys: options.detachKeys || undefined,
      },
    });
  }

  topContainer(id: string, psArgs?: string): Promise<TopResult> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/top`, { query: { ps_args: psArgs } });
  }

  async containerChanges(id: string): Promise<FilesystemChange[]> {
    return (await this.json<FilesystemChange[] | null>('GET', `/containers/${encodeURIComponent(id)}/changes`)) ?? [];
  }

  /** `docker stats`: one sample, or (stream) one a second until the signal aborts. */
  async *containerStats(id: string, options: { stream?: boolean; oneShot?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<ContainerStats> {
    const res = await this.raw('GET', `/containers/${encodeURIComponent(id)}/stats`, { query: { stream: options.stream ?? false, 'one-shot': options.oneShot }, ...signalOf(options) });
    try {
      yield* jsonLines<ContainerStats>(res);
    } catch (error) {
      if (!options.signal?.aborted) throw error;
    }
  }

  /** `HEAD …/archive`: what is at a path in the container (dockerd's path-stat header). */
  async statPath(id: string, path: string): Promise<PathStat> {
    const res = await this.raw('HEAD', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } }).catch((error: unknown) => {
      throw error instanceof CtrError && error.code === 'NotFound' && error.message.startsWith('HTTP ')
        ? new CtrError('NotFound', `Could not find the file ${path} in container ${id}`)
        : error;
    });
    res.resume();
    return pathStat(res);
  }

  /** `GET …/archive`: a tar of a path in the container, streamed. */
  async getArchive(id: string, path: string, options: { signal?: AbortSignal } = {}): Promise<{ stat: PathStat; tar: Readable }> {
    const res = await this.raw('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path }, ...signalOf(options) });
    return { stat: pathStat(res), tar: res };
  }

  /** `PUT …/archive`: extract a tar stream at a directory in the container. */
  putArchive(id: string, path: string, tar: Readable, options: { noOverwriteDirNonDir?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    return this.empty('PUT', `/containers/${encodeURIComponent(id)}/archive`, {
      query: { path, noOverwriteDirNonDir: options.noOverwriteDirNonDir },
      stream: tar,
      headers: { 'Content-Type': 'application/x-tar' },
      ...signalOf(options),
    });
  }

  /** `docker export`: the container's filesystem as a tar, streamed. */
  exportContainer(id: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    return this.raw('GET', `/containers/${encodeURIComponent(id)}/export`, signalOf(options));
  }

  /** `docker commit`: `config` replaces the image config fields it names. */
  async commit(
    container: string,
    options: { repo?: string; tag?: string; comment?: string; author?: string; pause?: boolean; config?: Record<string, unknown>; changes?: string[] },
  ): Promise<string> {
    const { Id } = await this.json<{ Id: string }>('POST', '/commit', {
      query: { container, repo: options.repo, tag: options.tag, comment: options.comment, author: options.author, pause: options.pause, changes: options.changes },
      body: options.config ?? {},
    });
    return Id;
  }

  removeContainer(id: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.empty('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: options.force, v: options.volumes } });
  }

  async waitContainer(id: string, condition: WaitCondition = 'not-running', signal?: AbortSignal): Promise<WaitResponse> {
    return (await this.waitRegistered(id, condition, signal)).status;
  }

  /**
   * Register a wait, resolving once the daemon holds it (its answer's headers are out) with
   * the exit status to come: what the docker CLI does before it starts a container, so an
   * exit (or an auto-removal) between start and wait is not missed.
   */
  async waitRegistered(id: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ status: Promise<WaitResponse> }> {
    const res = await this.raw('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition }, ...(signal ? { signal } : {}) });
    const status = readAll(res).then((body) => {
      const parsed = JSON.parse(body.toString('utf8')) as WaitResponse;
      if (parsed.StatusCode < 0 && parsed.Error) throw new CtrError('Internal', parsed.Error.Message);
      return parsed;
    });
    // Whoever awaits it sees a failure; nobody awaiting it is no crash.
    status.catch(() => undefined);
    return { status };
  }

  /** `docker logs`: demultiplexed output (a TTY container's output is all `stdout`). */
  async *logs(
    id: string,
    options: { follow?: boolean; stdout?: boolean; stderr?: boolean; tail?: number; since?: number | string; until?: number | string; timestamps?: boolean; details?: boolean; signal?: AbortSignal } = {},
  ): AsyncGenerator<{ stream: 'stdout' | 'stderr'; data: Buffer }> {
    const res = await this.raw('GET', `/containers/${encodeURIComponent(id)}/logs`, {
      query: {
        follow: options.follow,
        stdout: options.stdout ?? true,
        stderr: options.stderr ?? true,
        tail: options.tail,
        since: options.since,
        until: options.until,
        timestamps: options.timestamps,
        details: options.details,
      },
      ...signalOf(options),
    });
    const multiplexed = String(res.headers['content-type'] ?? '').includes('multiplexed');
    const decoder = new FrameDecoder();
    try {
      for await (const chunk of res) {
        if (!multiplexed) {
          yield { stream: 'stdout', data: chunk as Buffer };
          continue;
        }
        for (const frame of decoder.push(chunk as Buffer)) yield { stream: frame.stream === 2 ? 'stderr' : 'stdout', data: frame.data };
      }
    } catch (error) {
      if (!options.signal?.aborted) throw error;
    }
  }

  /** `POST /containers/{id}/exec`: the exec's ID, to start with `startExec`. */
  async createExec(id: string, request: ExecCreateRequest): Promise<string> {
    return (await this.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(id)}/exec`, { body: request })).Id;
  }

  /** Start an exec attached (a hijacked session), or detached (resolves once it started). */
  startExec(execId: string, options: ExecStartOptions & { detach: true }): Promise<void>;
  startExec(execId: string, options: ExecStartOptions & { detach?: false }): Promise<HijackedSession>;
  async startExec(execId: string, options: ExecStartOptions & { detach?: boolean }): Promise<HijackedSession | void> {
    const size = options.consoleSize;
    const body = { Detach: options.detach === true, Tty: options.tty, ...(size ? { ConsoleSize: [size.height, size.width] } : {}) };
    if (options.detach) return this.empty('POST', `/exec/${encodeURIComponent(execId)}/start`, { body });
    return this.hijack('POST', `/exec/${encodeURIComponent(execId)}/start`, { body });
  }

  /** Resize a running exec's terminal. */
  resizeExec(execId: string, size: { height: number; width: number }): Promise<void> {
    return this.empty('POST', `/exec/${encodeURIComponent(execId)}/resize`, { query: { h: size.height, w: size.width } });
  }

  inspectExec(execId: string): Promise<{ ExitCode: number | null; Running: boolean }> {
    return this.json('GET', `/exec/${encodeURIComponent(execId)}/json`);
  }

  /** Create and run an exec to its end, collecting its output (no stdin). */
  async exec(id: string, request: ExecCreateRequest): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const { Id } = await this.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(id)}/exec`, {
      body: { AttachStdout: true, AttachStderr: true, ...request },
    });
    const res = await this.raw('POST', `/exec/${Id}/start`, { body: { Detach: false, Tty: request.Tty ?? false } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const decoder = new FrameDecoder();
    for await (const chunk of res) {
      if (request.Tty) out.push(chunk as Buffer);
      else for (const frame of decoder.push(chunk as Buffer)) (frame.stream === 2 ? err : out).push(frame.data);
    }
    const inspect = await this.json<{ ExitCode: number | null }>('GET', `/exec/${Id}/json`);
    return { exitCode: inspect.ExitCode ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  }

  // Volumes and networks

  createVolume<V>(body: { Name?: string; Driver?: string; Labels?: Record<string, string>; DriverOpts?: Record<string, string> }): Promise<V> {
    return this.json('POST', '/volumes/create', { body });
  }

  async listVolumes<V>(options: { filters?: FilterMap } = {}): Promise<V[]> {
    return (await this.json<VolumeList<V>>('GET', '/volumes', { query: { filters: filtersParam(options.filters) } })).Volumes ?? [];
  }

  inspectVolume<V>(name: string): Promise<V> {
    return this.json('GET', `/volumes/${encodeURIComponent(name)}`);
  }

  removeVolume(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.empty('DELETE', `/volumes/${encodeURIComponent(name)}`, { query: { force: options.force } });
  }

  // Plugins (moby's plugin router)

  listPlugins<P>(options: { filters?: FilterMap } = {}): Promise<P[]> {
    return this.json('GET', '/plugins', { query: { filters: filtersParam(options.filters) } });
  }

  inspectPlugin<P>(name: string): Promise<P> {
    return this.json('GET', `/plugins/${encodeURIComponent(name)}/json`);
  }

  /** `docker plugin create`: the tar of config.json and rootfs/ (gzip or not). */
  createPlugin(name: string, tar: Readable, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.empty('POST', '/plugins/create', { query: { name }, stream: tar, headers: { 'Content-Type': 'application/x-tar' }, ...signalOf(options) });
  }

  enablePlugin(name: string, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    return this.empty('POST', `/plugins/${encodeURIComponent(name)}/enable`, { query: { timeout: options.timeout ?? 0 }, ...signalOf(options) });
  }

  disablePlugin(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.empty('POST', `/plugins/${encodeURIComponent(name)}/disable`, { query: { force: options.force } });
  }

  removePlugin(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.empty('DELETE', `/plugins/${encodeURIComponent(name)}`, { query: { force: options.force } });
  }

  setPlugin(name: string, settings: readonly string[]): Promise<void> {
    return this.empty('POST', `/plugins/${encodeURIComponent(name)}/set`, { body: settings });
  }

  /** What installing `remote` asks the user to grant. */
  pluginPrivileges<P>(remote: string, options: { registryAuth?: string; signal?: AbortSignal } = {}): Promise<P[]> {
    return this.json('GET', '/plugins/privileges', { query: { remote }, ...authHeader(options.registryAuth), ...signalOf(options) });
  }

  /**
   * `docker plugin install`'s pull of `remote` as `name` with the privileges granted: the
   * daemon's progress messages, and the name it gave the plugin (its `Docker-Plugin-Name`).
   */
  async pullPlugin(
    remote: string,
    options: { name?: string; privileges: readonly unknown[]; registryAuth?: string; signal?: AbortSignal; onProgress?: (message: ProgressMessage) => void },
  ): Promise<string> {
    const res = await this.raw('POST', '/plugins/pull', { query: { remote, name: options.name ?? '' }, body: options.privileges, ...authHeader(options.registryAuth), ...signalOf(options) });
    for await (const message of jsonLines<ProgressMessage>(res)) options.onProgress?.(message);
    const name = res.headers['docker-plugin-name'];
    return typeof name === 'string' ? name : (options.name ?? remote);
  }

  /** `docker plugin upgrade`: the daemon's progress messages. */
  async upgradePlugin(
    name: string,
    remote: string,
    options: { privileges: readonly unknown[]; registryAuth?: string; signal?: AbortSignal; onProgress?: (message: ProgressMessage) => void },
  ): Promise<void> {
    const res = await this.raw('POST', `/plugins/${encodeURIComponent(name)}/upgrade`, { query: { remote }, body: options.privileges, ...authHeader(options.registryAuth), ...signalOf(options) });
    for await (const message of jsonLines<ProgressMessage>(res)) options.onProgress?.(message);
  }

  /** `docker plugin push`: resolves with the tag and the manifest the registry now holds. */
  async pushPlugin(name: string, options: { registryAuth?: string; signal?: AbortSignal; onProgress?: (message: ProgressMessage) => void } = {}): Promise<PushedTag> {
    const res = await this.raw('POST', `/plugins/${encodeURIComponent(name)}/push`, { ...authHeader(options.registryAuth ?? 'e30='), ...signalOf(options) });
    let pushed: PushedTag | undefined;
    for await (const message of jsonLines<ProgressMessage>(res)) {
      const { Tag, Digest, Size } = message.aux ?? {};
      if (typeof Digest === 'string') pushed = { tag: typeof Tag === 'string' ? Tag : '', digest: Digest, size: Number(Size ?? 0) };
      else options.onProgress?.(message);
    }
    if (!pushed) throw new CtrError('Internal', 'the plugin push ended without a digest');
    return pushed;
  }

  /** `docker volume prune`: `all` goes as the `all=true` filter, as docker's CLI sends it. */
  async pruneVolumes(options: { all?: boolean; filters?: FilterMap } = {}): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    const filters = options.all ? { ...options.filters, all: ['true'] } : options.filters;
    const result = await this.json<{ VolumesDeleted: string[] | null; SpaceReclaimed?: number }>('POST', '/volumes/prune', { query: { filters: filtersParam(filters) } });
    return { VolumesDeleted: result.VolumesDeleted ?? [], SpaceReclaimed: result.SpaceReclaimed ?? 0 };
  }

  async createNetwork(body: Record<string, unknown>): Promise<string> {
    return (await this.json<{ Id: string }>('POST', '/networks/create', { body })).Id;
  }

  listNetworks<N>(options: { filters?: FilterMap } = {}): Promise<N[]> {
    return this.json('GET', '/networks', { query: { filters: filtersParam(options.filters) } });
  }

  inspectNetwork<N>(name: string): Promise<N> {
    return this.json('GET', `/networks/${encodeURIComponent(name)}`);
  }

  removeNetwork(name: string): Promise<void> {
    return this.empty('DELETE', `/networks/${encodeURIComponent(name)}`);
  }

  async pruneNetworks(options: { filters?: FilterMap } = {}): Promise<string[]> {
    return (await this.json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: filtersParam(options.filters) } })).NetworksDeleted ?? [];
  }

  connectNetwork(network: string, container: string, endpoint: { Aliases?: string[]; IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } } = {}): Promise<void> {
    return this.empty('POST', `/networks/${encodeURIComponent(network)}/connect`, { body: { Container: container, EndpointConfig: endpoint } });
  }

  disconnectNetwork(network: string, container: string): Promise<void> {
    return this.empty('POST', `/networks/${encodeURIComponent(network)}/disconnect`, { body: { Container: container } });
  }

  diskUsage(): Promise<DiskUsage> {
    return this.json('GET', '/system/df');
  }

  async pruneBuildCache(options: { all?: boolean; keepStorage?: number; filters?: FilterMap } = {}): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    const result = await this.json<{ CachesDeleted: string[] | null; SpaceReclaimed?: number }>('POST', '/build/prune', {
      query: { all: options.all || undefined, 'keep-storage': options.keepStorage, filters: filtersParam(options.filters) },
    });
    return { CachesDeleted: result.CachesDeleted ?? [], SpaceReclaimed: result.SpaceReclaimed ?? 0 };
  }

  // Images

  async listImages(options: { all?: boolean; filters?: FilterMap } = {}): Promise<ImageSummary[]> {
    const images = await this.json<Array<Omit<ImageSummary, 'VirtualSize'> & { VirtualSize?: number }>>('GET', '/images/json', {
      query: { all: options.all || undefined, filters: filtersParam(options.filters) },
    });
    // Gone from API 1.44: Go's zero, as docker's client decodes the answer.
    return images.map((image) => ({ ...image, VirtualSize: image.VirtualSize ?? 0 }));
  }

  /** `GET /images/search`: what the index of the registry `term` names found, filtered by the daemon. */
  searchImages(term: string, options: { limit?: number; filters?: FilterMap; registryAuth?: string; signal?: AbortSignal } = {}): Promise<SearchResult[]> {
    const query = { term, limit: options.limit, filters: filtersParam(options.filters) };
    return this.json('GET', '/images/search', { query, ...authHeader(options.registryAuth), ...signalOf(options) });
  }

  inspectImage(name: string): Promise<ImageInspect> {
    return this.json('GET', `/images/${name}/json`);
  }

  imageHistory(name: string, options: { platform?: Platform } = {}): Promise<HistoryItem[]> {
    return this.json('GET', `/images/${name}/history`, { query: { platform: jsonPlatform(options.platform) } });
  }

  /**
   * `docker pull`: resolves when the pull is done (not when it starts); a failure inside the
   * stream throws. The reference goes as docker's client sends it: the repository as
   * `fromImage`, its tag or digest as `tag`. With `allTags`, the repository alone (a tag in
   * `reference` is not sent), which a daemon takes as every tag the registry has.
   */
  async pull(
    reference: string,
    options: { allTags?: boolean; platform?: string; registryAuth?: string; signal?: AbortSignal; onProgress?: (message: ProgressMessage) => void } = {},
  ): Promise<void> {
    const named = parseReference(reference);
    const res = await this.raw('POST', '/images/create', {
      query: { fromImage: referenceName(named), tag: options.allTags ? undefined : (named.digest ?? named.tag ?? DEFAULT_TAG), platform: options.platform },
      ...authHeader(options.registryAuth),
      ...signalOf(options),
    });
    for await (const message of jsonLines<ProgressMessage>(res)) options.onProgress?.(message);
  }

  /**
   * `docker push` of `name` with `tag`, or without one every tag of the repository the
   * daemon has (`push -a`): resolves with what each pushed tag now names, in push order.
   */
  async push(
    name: string,
    options: {
      tag?: string;
      platform?: Platform;
      registryAuth?: string;
      signal?: AbortSignal;
      onProgress?: (message: ProgressMessage) => void;
      onPushed?: (pushed: PushedTag) => void;
    } = {},
  ): Promise<PushedTag[]> {
    const query = { tag: options.tag, platform: jsonPlatform(options.platform) };
    // dockerd needs the header even for anonymous pushes.
    const res = await this.raw('POST', `/images/${name}/push`, { query, ...authHeader(options.registryAuth ?? 'e30='), ...signalOf(options) });
    const pushed: PushedTag[] = [];
    for await (const message of jsonLines<ProgressMessage>(res)) {
      const { Tag, Digest, Size } = message.aux ?? {};
      if (typeof Digest === 'string') {
        const result = { tag: typeof Tag === 'string' ? Tag : '', digest: Digest, size: Number(Size ?? 0) };
        pushed.push(result);
        options.onPushed?.(result);
      } else options.onProgress?.(message);
    }
    if (pushed.length === 0) throw new CtrError('Internal', 'the push ended without a digest');
    return pushed;
  }

  /** `docker save`: a docker-archive tar of the images, streamed. */
  saveImages(names: readonly string[], options: { platform?: Platform; signal?: AbortSignal } = {}): Promise<Readable> {
    return this.raw('GET', '/images/get', { query: { names: [...names], platform: jsonPlatform(options.platform) }, ...signalOf(options) });
  }

  /** `docker load`: the lines the daemon reports (`Loaded image: …`). */
  async loadImages(archive: Readable, options: { platform?: Platform; signal?: AbortSignal } = {}): Promise<string[]> {
    const res = await this.raw('POST', '/images/load', {
      query: { platform: jsonPlatform(options.platform) },
      stream: archive,
      headers: { 'Content-Type': 'application/x-tar' },
      ...signalOf(options),
    });
    const lines: string[] = [];
    for await (const message of jsonLines<ProgressMessage>(res)) if (message.stream) lines.push(...message.stream.split('\n').filter(Boolean));
    return lines;
  }

  /** `docker import` of a rootfs tar: resolves with the new image's ID. */
  async importImage(tar: Readable, options: { repo?: string; tag?: string; message?: string; changes?: string[]; platform?: string; signal?: AbortSignal } = {}): Promise<string> {
    const res = await this.raw('POST', '/images/create', {
      query: { fromSrc: '-', repo: options.repo, tag: options.tag, message: options.message, changes: options.changes, platform: options.platform },
      stream: tar,
      headers: { 'Content-Type': 'application/x-tar' },
      ...signalOf(options),
    });
    let id = '';
    for await (const message of jsonLines<ProgressMessage>(res)) if (message.status) id = message.status.trim();
    return id;
  }

  /** `docker image prune`: without a `dangling` filter, `all` goes as `dangling=false` (otherwise `true`), as docker's CLI sends it. */
  pruneImages(options: { all?: boolean; filters?: FilterMap } = {}): Promise<{ ImagesDeleted: RemovedImage[] | null; SpaceReclaimed: number }> {
    const filters = options.filters?.dangling ? options.filters : { ...options.filters, dangling: [options.all ? 'false' : 'true'] };
    return this.json('POST', '/images/prune', { query: { filters: filtersParam(filters) } });
  }

  tagImage(source: string, repo: string, tag?: string): Promise<void> {
    return this.empty('POST', `/images/${source}/tag`, { query: { repo, tag } });
  }

  removeImage(name: string, options: { force?: boolean; noPrune?: boolean; platforms?: Platform[] } = {}): Promise<Array<{ Untagged?: string; Deleted?: string }>> {
    const platforms = options.platforms?.map((platform) => jsonPlatform(platform) as string);
    return this.json('DELETE', `/images/${name}`, { query: { force: options.force, noprune: options.noPrune || undefined, platforms } });
  }

  /** `docker build` (legacy builder protocol) of a tar context; resolves with the image ID, throws the failing step's error. */
  async build(
    context: Readable,
    options: {
      tags?: string[];
      dockerfile?: string;
      /** null: given without a value (docker's nil), sent as JSON null. */
      buildArgs?: Record<string, string | null>;
      target?: string;
      noCache?: boolean;
      /** docker's `--pull`: the daemon pulls every base from its registry, even one it has. */
      pull?: boolean;
      labels?: Record<string, string>;
      platform?: string;
      networkMode?: string;
      isolation?: string;
      cacheFrom?: string[];
      squash?: boolean;
      /** docker's `rm` (default true) and `forcerm`: which steps' containers the daemon removes. */
      remove?: boolean;
      forceRemove?: boolean;
      /** Hosts and limits for every RUN step's container. */
      steps?: BuildStepOptions;
      /** `X-Registry-Config`: base64url JSON of credentials by registry, for FROM pulls. */
      registryConfig?: string;
      signal?: AbortSignal;
      onProgress?: (message: ProgressMessage) => void;
    } = {},
  ): Promise<string> {
    const res = await this.raw('POST', '/build', {
      stream: context,
      headers: { 'Content-Type': 'application/x-tar', ...(options.registryConfig ? { 'X-Registry-Config': options.registryConfig } : {}) },
      query: {
        t: options.tags,
        dockerfile: options.dockerfile,
        buildargs: options.buildArgs ? JSON.stringify(options.buildArgs) : undefined,
        labels: options.labels ? JSON.stringify(options.labels) : undefined,
        target: options.target,
        nocache: options.noCache,
        pull: options.pull || undefined,
        platform: options.platform,
        networkmode: options.networkMode,
        isolation: options.isolation,
        cachefrom: options.cacheFrom?.length ? JSON.stringify(options.cacheFrom) : undefined,
        squash: options.squash || undefined,
        rm: options.remove === false ? false : undefined,
        forcerm: options.forceRemove || undefined,
        ...(options.steps ? buildStepsQuery(options.steps) : {}),
      },
      ...signalOf(options),
    });
    let id = '';
    for await (const message of jsonLines<ProgressMessage>(res)) {
      if (typeof message.aux?.ID === 'string') id = message.aux.ID;
      options.onProgress?.(message);
    }
    if (!id) throw new CtrError('Internal', 'the build ended without an image ID');
    return id;
  }
}

/** The `platform` parameter of save, load and history (API 1.48): the OCI platform as JSON, as docker's client sends it. */
function jsonPlatform(platform: Platform | undefined): string | undefined {
  if (!platform) return undefined;
  return JSON.stringify({ architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}) });
}

function signalOf(options: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

function authHeader(auth: string | undefined): { headers?: Record<string, string> } {
  return auth ? { headers: { 'X-Registry-Auth': auth } } : {};
}

/** dockerd's `X-Docker-Container-Path-Stat` header: base64 JSON. */
function pathStat(res: IncomingMessage): PathStat {
  const header = res.headers['x-docker-container-path-stat'];
  if (typeof header !== 'string') throw new CtrError('Internal', 'the daemon sent no path stat for the archive');
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
}
