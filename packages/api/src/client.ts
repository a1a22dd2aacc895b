import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { ContainerInspect, ContainerSummary, EngineEvent, ImageInspect, ImageSummary } from '@ctr/engine';
import { CtrError, type ErrorCode } from '@ctr/errors';
import type { ContainerCreateRequest, ExecCreateRequest, PingResponse, ProgressMessage, WaitResponse } from './api-types';
import { MAX_API_VERSION } from './api-version';
import { sshTransport, type SshOptions } from './ssh-transport';
import { FrameDecoder } from './stdcopy';
import { connectionError, directTransport, type TlsOptions, type Transport } from './transport';

export interface ApiClientOptions {
  /** `unix:///run/ctr/ctr.sock` (default: `$CTR_HOST`, `$DOCKER_HOST`, then that), `tcp://…`, `ssh://user@host[:port]`. */
  host?: string;
  tls?: TlsOptions;
  ssh?: SshOptions;
  /** The API version to speak (default the newest this package knows). */
  version?: string;
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** A stream body (a tar) instead of JSON. */
  stream?: Readable;
  headers?: Record<string, string>;
}

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
  return new CtrError(CODES[res.statusCode ?? 500] ?? 'Internal', message, { details: { status: res.statusCode } });
}

/** Lines of a newline-delimited JSON stream; an `errorDetail` line is thrown, not swallowed. */
async function* jsonLines<T>(res: IncomingMessage): AsyncGenerator<T> {
  let pending = '';
  const parse = (line: string): T | undefined => {
    if (!line.trim()) return undefined;
    const message = JSON.parse(line) as T & { errorDetail?: { message?: string; code?: number }; error?: string };
    if (message.errorDetail || message.error) {
      const code = message.errorDetail?.code;
      throw new CtrError('Internal', message.errorDetail?.message ?? message.error ?? 'the daemon reported an error', typeof code === 'number' ? { details: { exitCode: code } } : {});
    }
    return message;
  };
  for await (const chunk of res) {
    pending += (chunk as Buffer).toString('utf8');
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
    this.transport ??= this.host.startsWith('ssh://') ? sshTransport(this.host, this.options.ssh) : Promise.resolve(directTransport(this.host, this.options.tls));
    return this.transport;
  }

  /** One request; resolves with the response once its status is 2xx (or rejects with the daemon's error). */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const transport = await this.connect();
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (body) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = body.length;
    }
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = transport.request({ method, path: `/v${this.apiVersion}${path}${queryString(options.query)}`, headers }, resolve);
      req.once('error', (error) => reject(connectionError(this.host, error)));
      if (options.stream) options.stream.pipe(req);
      else req.end(body);
    });
    if ((res.statusCode ?? 500) >= 400) throw await responseError(res);
    return res;
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

  info(): Promise<Record<string, unknown>> {
    return this.json('GET', '/info');
  }

  /** `docker events`: until `until`, or until the signal aborts. */
  async *events(options: { since?: number; until?: number; filters?: Record<string, string[]>; signal?: AbortSignal } = {}): AsyncGenerator<EngineEvent> {
    const res = await this.raw('GET', '/events', {
      query: { since: options.since, until: options.until, filters: options.filters ? JSON.stringify(options.filters) : undefined },
    });
    options.signal?.addEventListener('abort', () => res.destroy(), { once: true });
    try {
      yield* jsonLines<EngineEvent>(res);
    } catch (error) {
      if (!options.signal?.aborted) throw error;
    }
  }

  // Containers

  async createContainer(body: ContainerCreateRequest, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    return this.json('POST', '/containers/create', { body, query: { name } });
  }

  listContainers(options: { all?: boolean; filters?: Record<string, string[]> } = {}): Promise<ContainerSummary[]> {
    return this.json('GET', '/containers/json', { query: { all: options.all, filters: options.filters ? JSON.stringify(options.filters) : undefined } });
  }

  inspectContainer(id: string): Promise<ContainerInspect> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/json`);
  }

  startContainer(id: string): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/start`);
  }

  stopContainer(id: string, options: { timeout?: number } = {}): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: options.timeout } });
  }

  killContainer(id: string, signal?: string): Promise<void> {
    return this.empty('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal } });
  }

  removeContainer(id: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.empty('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: options.force, v: options.volumes } });
  }

  async waitContainer(id: string, condition: 'not-running' | 'next-exit' | 'removed' = 'not-running'): Promise<WaitResponse> {
    const status = await this.json<WaitResponse>('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition } });
    if (status.StatusCode < 0 && status.Error) throw new CtrError('Internal', status.Error.Message);
    return status;
  }

  /** `docker logs`: demultiplexed output (a TTY container's output is all `stdout`). */
  async *logs(
    id: string,
    options: { follow?: boolean; stdout?: boolean; stderr?: boolean; tail?: number; since?: number; timestamps?: boolean; signal?: AbortSignal } = {},
  ): AsyncGenerator<{ stream: 'stdout' | 'stderr'; data: Buffer }> {
    const res = await this.raw('GET', `/containers/${encodeURIComponent(id)}/logs`, {
      query: { follow: options.follow, stdout: options.stdout ?? true, stderr: options.stderr ?? true, tail: options.tail, since: options.since, timestamps: options.timestamps },
    });
    options.signal?.addEventListener('abort', () => res.destroy(), { once: true });
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

  // Images

  listImages(): Promise<ImageSummary[]> {
    return this.json('GET', '/images/json');
  }

  inspectImage(name: string): Promise<ImageInspect> {
    return this.json('GET', `/images/${name}/json`);
  }

  /** `docker pull`: resolves when the pull is done (not when it starts); a failure inside the stream throws. */
  async pull(reference: string, options: { onProgress?: (message: ProgressMessage) => void } = {}): Promise<void> {
    const res = await this.raw('POST', '/images/create', { query: { fromImage: reference } });
    for await (const message of jsonLines<ProgressMessage>(res)) options.onProgress?.(message);
  }

  tagImage(source: string, repo: string, tag?: string): Promise<void> {
    return this.empty('POST', `/images/${source}/tag`, { query: { repo, tag } });
  }

  removeImage(name: string, options: { force?: boolean } = {}): Promise<Array<{ Untagged?: string; Deleted?: string }>> {
    return this.json('DELETE', `/images/${name}`, { query: { force: options.force } });
  }

  /** `docker build` (legacy builder protocol) of a tar context; resolves with the image ID, throws the failing step's error. */
  async build(
    context: Readable,
    options: { tags?: string[]; dockerfile?: string; buildArgs?: Record<string, string>; target?: string; noCache?: boolean; labels?: Record<string, string>; onProgress?: (message: ProgressMessage) => void } = {},
  ): Promise<string> {
    const res = await this.raw('POST', '/build', {
      stream: context,
      headers: { 'Content-Type': 'application/x-tar' },
      query: {
        t: options.tags,
        dockerfile: options.dockerfile,
        buildargs: options.buildArgs ? JSON.stringify(options.buildArgs) : undefined,
        labels: options.labels ? JSON.stringify(options.labels) : undefined,
        target: options.target,
        nocache: options.noCache,
      },
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
