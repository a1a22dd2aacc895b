import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { invalidArgument, unavailable } from '@ctr/errors';
import { extraCaCertificates } from '@ctr/registry';

/** TLS material for `tcp://`, as `docker --tlsverify` takes it (`docker --tls` alone: no CA, `insecureSkipVerify`). */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Do not check the daemon's certificate (`--tls` without `--tlsverify`, a context's `skip-tls-verify`). */
  insecureSkipVerify?: boolean;
}

/** How requests reach a daemon: an http.Agent and the options that go with each request. */
export interface Transport {
  request(options: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest;
  close(): void;
}

/** A transport over streams someone else opens (an SSH channel): one stream per connection. */
export function streamTransport(open: () => Promise<Duplex>, close: () => void): Transport {
  class StreamAgent extends http.Agent {
    override createConnection(_options: unknown, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
      open().then(
        (stream) => callback?.(null, stream),
        (error: Error) => callback?.(error, undefined as unknown as Duplex),
      );
      return undefined;
    }
  }
  const agent = new StreamAgent({ keepAlive: false });
  return {
    request: (options, onResponse) => http.request({ ...options, agent }, onResponse),
    close: () => {
      agent.destroy();
      close();
    },
  };
}

/** `unix:///path`, `tcp://host:port` (TLS when `tls` is given). */
export function directTransport(host: string, tls?: TlsOptions): Transport {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    const agent = new http.Agent({ keepAlive: true });
    return {
      request: (options, onResponse) => http.request({ ...options, socketPath, agent }, onResponse),
      close: () => agent.destroy(),
    };
  }
  if (host.startsWith('tcp://') || host.startsWith('https://') || host.startsWith('http://')) {
    const url = new URL(host.replace(/^tcp:/, tls ? 'https:' : 'http:'));
    const port = Number(url.port || (tls ? 2376 : 2375));
    if (tls) {
      const agent = new https.Agent({
        keepAlive: true,
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        rejectUnauthorized: tls.insecureSkipVerify !== true,
      });
      return {
        // Without --tlscacert the default CAs, plus the extra ones, read at the first request rather than here.
        request: (options, onResponse) => https.request({ ...options, host: url.hostname, port, agent, ...trustFor(tls) }, onResponse),
        close: () => agent.destroy(),
      };
    }
    const agent = new http.Agent({ keepAlive: true });
    return {
      request: (options, onResponse) => http.request({ ...options, host: url.hostname, port, agent }, onResponse),
      close: () => agent.destroy(),
    };
  }
  throw invalidArgument(`unsupported daemon host ${JSON.stringify(host)}: use unix:///path, tcp://host:port or ssh://user@host`);
}

function trustFor(tls: TlsOptions): { ca?: string | Buffer | string[] } {
  if (tls.ca) return { ca: tls.ca };
  const ca = extraCaCertificates();
  return ca ? { ca: [...ca] } : {};
}

/** Docker's words: nobody listening is "Is the daemon running?"; anything else (TLS, a reset) says what happened. */
export function connectionError(host: string, error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ENOENT') return unavailable(`Cannot connect to the ctr daemon at ${host}. Is the daemon running?`, { cause: error });
  // OpenSSL's text carries its own source location; the reason is the part a person can act on.
  const reason = /:SSL routines:[^:]*:([^:]+)/.exec(error.message)?.[1] ?? error.message.trim();
  return unavailable(`error during connect: ${host}: ${reason}`, { cause: error });
}
