import http from 'node:http';
import { aborted, goErrnoWords, internal, invalidArgument, isCtrError, unavailable, CtrError } from '@ctr/errors';

/** The media type of Docker's plugin protocol, both ways. */
const PLUGIN_MEDIA_TYPE = 'application/vnd.docker.plugins.v1.2+json';

/** Where a call goes: a unix socket, or a host and port over plain HTTP. */
type Target = { socketPath: string } | { host: string; port: number };

function targetOf(address: string): Target {
  const url = new URL(address);
  if (url.protocol === 'unix:') return { socketPath: decodeURIComponent(url.pathname) };
  if (url.protocol === 'tcp:' || url.protocol === 'http:') return { host: url.hostname, port: Number(url.port || 80) };
  throw invalidArgument(`plugin address ${address}: unsupported scheme ${url.protocol.replace(/:$/, '')}`, {
    hint: 'ctr reaches plugins at unix:// or tcp:// (http://) addresses; TLS plugins are not supported',
  });
}

/**
 * A failure to reach the plugin at all (no socket, connection refused): the kind docker retries
 * while a plugin starts, as opposed to an answer the plugin gave.
 */
function unreachable(error: unknown, method: string, target: Target): CtrError {
  const code = (error as NodeJS.ErrnoException).code;
  const words = code === 'ECONNREFUSED' ? 'connection refused' : goErrnoWords(error);
  // Go's words for it: the URL its client made, then the dial that failed.
  const [url, dial] =
    'socketPath' in target
      ? [`http://${encodeURIComponent(target.socketPath)}`, `dial unix ${target.socketPath}`]
      : [`http://${target.host}:${target.port}`, `dial tcp ${target.host}:${target.port}`];
  return unavailable(`Post "${url}/${method}": ${dial}: connect: ${words}`, {
    hint: 'the plugin is not running or not listening at its address; start it, then try again',
    cause: error,
  });
}

/** The `Err` an answer carries, when it carries one that says something. */
export function answerErr(answer: unknown): string | undefined {
  const err = typeof answer === 'object' && answer !== null ? (answer as { Err?: unknown }).Err : undefined;
  return typeof err === 'string' && err !== '' ? err : undefined;
}

/**
 * An answer whose status is not 200, as moby's client statusError words it: `Method: <its Err>`,
 * or `Method: <its body>` when it has none; `details.status` is the status.
 */
function refusal(method: string, status: number, body: string): CtrError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  return internal(`${method}: ${answerErr(parsed) ?? body.trim()}`, { details: { status } });
}

export interface PluginClientOptions {
  /** How long the activation retries a plugin it cannot reach (docker's 30 s), in ms. */
  activateTimeoutMs?: number;
}

/** A plugin's HTTP endpoint: POSTs of JSON, answered with JSON or `{"Err": "…"}`. */
export class PluginClient {
  private readonly target: Target;

  constructor(
    readonly address: string,
    private readonly options: PluginClientOptions = {},
  ) {
    this.target = targetOf(address);
  }

  /**
   * `POST /<method>` with `body`, as moby's generated proxies call (its volume and logging
   * drivers'): a 200 answer carrying `Err` is that error, in its words alone.
   */
  async call<T>(method: string, body: unknown = {}, signal?: AbortSignal): Promise<T> {
    const answer = await this.answer<T>(method, body, signal);
    const err = answerErr(answer);
    if (err !== undefined) throw internal(err);
    return answer;
  }

  /**
   * `POST /<method>` with `body`, as moby's Client.Call: only a failure to reach the plugin or a
   * status other than 200 is an error; a 200's answer is given as it is, an `Err` in it for the
   * caller's protocol to read (authorization reads Allow and Msg alone, libnetwork words an Err
   * `remote: <Err>`).
   */
  async answer<T>(method: string, body: unknown = {}, signal?: AbortSignal): Promise<T> {
    const { status, text } = await this.post(method, JSON.stringify(body ?? {}), signal);
    if (status !== 200) throw refusal(method, status, text);
    try {
      return (text.trim() === '' ? {} : JSON.parse(text)) as T;
    } catch (error) {
      throw internal(`${method}: the plugin at ${this.address} answered with invalid JSON: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * `Plugin.Activate`: what the plugin implements. A plugin that cannot be reached yet is tried
   * again with docker's backoff (1 s, 2 s, 4 s…) until `activateTimeoutMs` has passed: a
   * legacy plugin's socket may be found before the plugin listens on it.
   */
  async activate(signal?: AbortSignal): Promise<string[]> {
    const limit = this.options.activateTimeoutMs ?? 30_000;
    const start = Date.now();
    for (let retries = 0; ; retries++) {
      try {
        const answer = await this.answer<{ Implements?: unknown }>('Plugin.Activate', {}, signal);
        return Array.isArray(answer.Implements) ? answer.Implements.filter((i): i is string => typeof i === 'string') : [];
      } catch (error) {
        const pause = Math.min(1000 * 2 ** retries, 30_000);
        if (!isCtrError(error) || error.code !== 'Unavailable' || Date.now() - start + pause >= limit) throw error;
        await sleep(pause, signal);
      }
    }
  }

  /**
   * `POST /<method>` whose answer is a stream (moby's client Stream: `LogDriver.ReadLogs`): its
   * body as it comes, or the plugin's refusal when it answers with another status than 200.
   */
  async stream(method: string, body: unknown = {}, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const response = await this.request(method, JSON.stringify(body ?? {}), signal);
    if (response.statusCode === 200) return response;
    const text = await collect(response, method, this.address);
    throw refusal(method, response.statusCode ?? 0, text);
  }

  private async post(method: string, payload: string, signal: AbortSignal | undefined): Promise<{ status: number; text: string }> {
    const response = await this.request(method, payload, signal);
    return { status: response.statusCode ?? 0, text: await collect(response, method, this.address) };
  }

  private request(method: string, payload: string, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
    if (signal?.aborted) return Promise.reject(aborted(signal, `calling ${method} of the plugin at ${this.address}`));
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          ...this.target,
          method: 'POST',
          // Over a socket the host is docker's placeholder; the plugin does not look at it.
          path: `/${method}`,
          headers: { Host: 'plugin', Accept: PLUGIN_MEDIA_TYPE, 'Content-Type': PLUGIN_MEDIA_TYPE, 'Content-Length': Buffer.byteLength(payload) },
          ...(signal ? { signal } : {}),
        },
        resolve,
      );
      request.on('error', (error) => reject(signal?.aborted ? aborted(signal, `calling ${method} of the plugin at ${this.address}`) : unreachable(error, method, this.target)));
      request.end(payload);
    });
  }
}

/**
 * The most of an answer's body read (moby reads any size): a plugin's JSON answers are small,
 * a volume list of many thousands is still a few MB, and a runaway plugin must not fill memory.
 */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** A whole answer's body, as text; a connection lost while it comes is the plugin's failure to answer, not to be reached. */
function collect(response: http.IncomingMessage, method: string, address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
      else {
        response.destroy();
        reject(new CtrError('ResourceExhausted', `${method}: the plugin at ${address} answered with more than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB`, { hint: 'the plugin is misbehaving; check its logs' }));
      }
    });
    response.on('error', (error) => reject(unavailable(`${method}: reading the answer of the plugin at ${address}: ${goErrnoWords(error)}`, { cause: error })));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', stop);
      resolve();
    }
    function stop(): void {
      clearTimeout(timer);
      reject(aborted(signal, 'waiting for a plugin to start'));
    }
    signal?.addEventListener('abort', stop, { once: true });
  });
}
