import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Engine } from '@ctr/engine';
import { asCtrError, invalidArgument } from '@ctr/errors';
import { splitVersion } from './api-version';
import type { AuthorizationChain } from './authz';
import type { Call } from './call';
import { ExecSessions } from './exec-sessions';
import { sendError, sendSocketError } from './http-errors';
import { Lifecycle } from './lifecycle';
import { Query } from './query';
import { Router } from './router';
import { buildRoutes } from './routes/build';
import { containerFileRoutes } from './routes/container-files';
import { containerRoutes } from './routes/containers';
import { execRoutes } from './routes/exec';
import { imageRoutes } from './routes/images';
import { systemRoutes } from './routes/system';
import { networkRoutes, volumeRoutes } from './routes/volumes-networks';
import { pluginRoutes } from './routes/plugins';
import { DaemonSwarm, swarmRoutes } from './routes/swarm';
import type { Services } from './services';

export interface ApiServerOptions {
  engine: Engine;
  /** Where to listen: `unix:///run/ctr/ctr.sock`, `tcp://HOST:PORT` (any address with `tls`, loopback only without). */
  hosts: string[];
  /**
   * TLS with client verification for `tcp://` hosts (dockerd's `--tlsverify`): only clients
   * with a certificate signed by `ca` are served. Without it TCP is loopback only.
   */
  tls?: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer };
  /** File mode of unix sockets (default 0o660, like dockerd's). */
  socketMode?: number;
  /** Called for each failed request that was the daemon's fault (500), for its log. */
  onInternalError?: (error: unknown, request: string) => void;
  /** Authorization plugins every request goes through, in order (dockerd's `--authorization-plugin`). */
  authorizationPlugins?: readonly string[];
  /** The engine's swarm (ctrd's, recovered at its start); by default one made on the first swarm route. */
  swarm?: DaemonSwarm;
}

/** Where a listener ended up: the socket path, or the TCP address with its real port. */
export interface ListenAddress {
  host: string;
}

function parseHost(host: string, tls: boolean): { kind: 'unix'; path: string } | { kind: 'tcp'; address: string; port: number } {
  if (host.startsWith('unix://')) {
    const path = host.slice('unix://'.length);
    if (!path.startsWith('/')) throw invalidArgument(`invalid unix socket address ${JSON.stringify(host)}: the path must be absolute`);
    return { kind: 'unix', path };
  }
  if (host.startsWith('tcp://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    const address = url.hostname;
    if (!tls && !/^127\.\d+\.\d+\.\d+$/.test(address) && address !== 'localhost') {
      throw invalidArgument(`refusing plain TCP on ${address}: without TLS ctrd listens on loopback only`, { hint: 'use tcp://127.0.0.1:PORT or a unix socket' });
    }
    return { kind: 'tcp', address, port: Number(url.port || 2375) };
  }
  throw invalidArgument(`invalid host ${JSON.stringify(host)}: use unix:///path or tcp://127.0.0.1:PORT`);
}

/**
 * The Docker Engine API for an engine, over HTTP/1.1 on unix sockets (and loopback TCP):
 * versioned and unversioned paths, dockerd's status codes and `{"message"}` errors, and
 * hijacked connections for attach and exec.
 */
export class ApiServer {
  readonly addresses: ListenAddress[] = [];
  private readonly servers: http.Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly router: Router;
  private readonly services: Services;
  private authz: AuthorizationChain | undefined;
  /** As configured: dockerd's `info` lists these, whatever a disable took out of the chain since. */
  private authorizationPlugins: readonly string[] = [];

  private constructor(private readonly options: ApiServerOptions) {
    const { engine } = options;
    this.services = {
      engine,
      lifecycle: new Lifecycle(engine),
      execs: new ExecSessions(),
      authorizationPlugins: () => this.authorizationPlugins,
      swarm: options.swarm ?? new DaemonSwarm(engine, undefined, (error, what) => options.onInternalError?.(error, what)),
    };
    const s = this.services;
    this.router = new Router([...systemRoutes(s), ...containerRoutes(s), ...containerFileRoutes(s), ...execRoutes(s), ...imageRoutes(s), ...buildRoutes(s), ...volumeRoutes(s), ...networkRoutes(s), ...pluginRoutes(s), ...swarmRoutes(s)]);
  }

  static async listen(options: ApiServerOptions): Promise<ApiServer> {
    const server = new ApiServer(options);
    // As dockerd: the plugins are checked before the API serves anything.
    (await server.prepareAuthorizationPlugins(options.authorizationPlugins ?? []))();
    try {
      for (const host of options.hosts) await server.listenOn(host);
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /**
   * The authorization plugins from now on, each checked first: a bad list leaves the chain as
   * it was. They are put in force by the function this resolves to, so a reload that fails
   * after the check (the engine's part of it) can leave the chain as it was too. The chain's
   * code is loaded only once a plugin is named.
   */
  async prepareAuthorizationPlugins(names: readonly string[]): Promise<() => void> {
    const inForce = (): void => {
      this.authorizationPlugins = [...names];
    };
    if (this.authz) {
      const apply = await this.authz.prepare(names);
      return () => {
        apply();
        inForce();
      };
    }
    if (names.length === 0) return inForce;
    const { AuthorizationChain } = require('./authz') as typeof import('./authz');
    const chain = await AuthorizationChain.load(this.options.engine, names, this.options.onInternalError);
    return () => {
      this.authz = chain;
      inForce();
    };
  }

  private async listenOn(host: string): Promise<void> {
    const where = parseHost(host, this.options.tls !== undefined);
    const timeouts = { keepAliveTimeout: 30_000, requestTimeout: 0, headersTimeout: 60_000 };
    const tls = this.options.tls;
    const server: http.Server =
      where.kind === 'tcp' && tls
        ? https.createServer({ ...timeouts, ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true })
        : http.createServer(timeouts);
    server.on('request', (req, res) => void this.handle(req, res, undefined));
    server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => void this.handle(req, undefined, { socket, head }));
    server.on(where.kind === 'tcp' && tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('clientError', (_error, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"message":"malformed HTTP request"}');
      else socket.destroy();
    });
    this.servers.push(server);
    if (where.kind === 'unix') {
      await fs.rm(where.path, { force: true });
      await listen(server, (done) => server.listen(where.path, done));
      await fs.chmod(where.path, this.options.socketMode ?? 0o660);
      this.addresses.push({ host: `unix://${where.path}` });
    } else {
      await listen(server, (done) => server.listen(where.port, where.address, done));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : where.port;
      this.addresses.push({ host: `tcp://${where.address}:${port}` });
      if (tls) server.on('tlsClientError', (_error, socket: Socket) => socket.destroy());
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse | undefined, upgrade: Call['upgrade']): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ctrd');
    try {
      const { version, path } = splitVersion(url.pathname);
      const { route, params } = this.router.find(req.method ?? 'GET', path);
      if (upgrade && !route.hijack) {
        throw invalidArgument(`${req.method} ${path} cannot be hijacked`, { hint: 'send it without the Upgrade and Connection: Upgrade headers' });
      }
      const call: Call = { req, params, query: new Query(url.searchParams), version, ...(res ? { res } : {}), ...(upgrade ? { upgrade } : {}) };
      await (this.authz ? this.authz.serve(call, () => route.handler(call)) : route.handler(call));
    } catch (error) {
      if (res) sendError(res, error);
      else if (upgrade) sendSocketError(upgrade.socket, error);
      if (asCtrError(error).code === 'Internal') this.options.onInternalError?.(error, `${req.method} ${url.pathname}`);
    }
  }

  /** Stop listening and drop open connections (attached clients, followers); containers keep running. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await this.services.swarm.close();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const address of this.addresses) {
      if (address.host.startsWith('unix://')) await fs.rm(address.host.slice(7), { force: true });
    }
  }
}

function listen(server: http.Server, start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    start(() => {
      server.off('error', reject);
      resolve();
    });
  });
}
