import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promises as fs } from 'node:fs';
import { invalidArgument, isCtrError } from '@ctr/errors';
import type { ContentStore } from '@ctr/image';
import { isRepositoryName, REPOSITORY_PATTERN } from '../names';
import { DistributionError } from './distribution-error';
import { reply, replyJson } from './http-io';
import { RepositoryMetadata } from './repository-metadata';
import { allows, authorize, authorizeSearch, maySee, type AccessGrant, type RegistryAction, type ServerAuth } from './server-auth';
import { UploadSessions } from './upload-sessions';
import { handleBlob, handleUpload, handleUploadStart } from './blob-handlers';
import { handleManifest, handleReferrers, handleTags } from './manifest-handlers';
import { handleSearch } from './search-handler';
import { handleTrust, isTrustPath } from './trust-handlers';
import { TrustStore } from './trust-store';

export interface RegistryServerOptions {
  /** Where blobs and manifests are kept (the @ctr/store content store in production). */
  store: ContentStore;
  /** Directory for the server's own metadata: repositories, tags, upload sessions. */
  root: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1; pass 0.0.0.0 deliberately to serve other machines. */
  host?: string;
  auth?: ServerAuth;
  /** Upload sessions idle longer than this are removed (default 24 h). */
  uploadExpiryMs?: number;
  /** Largest manifest accepted (default 8 MiB; the spec asks for at least 4 MiB). */
  maxManifestBytes?: number;
  /** Largest blob an upload may grow to (default: no limit). */
  maxBlobBytes?: number;
  /**
   * Serve HTTPS with this PEM certificate and key (docker talks to a trust server over
   * HTTPS only). The Notary endpoints (`/v2/<gun>/_trust/tuf/`) are served either way.
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** What every handler gets: the request, its parsed route and the server's state. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  repository: string;
  query: URLSearchParams;
  store: ContentStore;
  metadata: RepositoryMetadata;
  uploads: UploadSessions;
  maxManifestBytes: number;
  maxBlobBytes: number | undefined;
  /** May the caller read `repository`? (cross-repository mount sources, G4). */
  canPull(repository: string): boolean;
}

type Area = 'manifests' | 'blob' | 'upload' | 'uploads' | 'tags' | 'referrers';

interface Route {
  repository: string;
  area: Area;
  /** The path's last segment: a reference, digest or upload id. */
  target: string;
}

const ROUTE = new RegExp(
  `^/v2/(${REPOSITORY_PATTERN})/(?:(manifests)/([^/]+)|blobs/(uploads)/?|blobs/uploads/([^/]+)|blobs/([^/]+)|tags/(list)|referrers/([^/]+))$`,
);
const DEFAULT_MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

const LOOSE_ROUTE = /^\/v2\/(.+)\/(?:manifests|blobs|tags|referrers)\//;

/**
 * A private registry speaking the OCI distribution API over HTTP, serving blobs from any
 * ContentStore. Uploads stream through the store's verifying write (never buffered whole);
 * names, tags and digests are validated before any storage path is built.
 */
export class RegistryServer {
  private readonly server: Server;
  private readonly metadata: RepositoryMetadata;
  private readonly uploads: UploadSessions;
  private readonly trust: TrustStore;
  private purgeTimer: NodeJS.Timeout | undefined;
  private address: AddressInfo | undefined;

  constructor(private readonly options: RegistryServerOptions) {
    if (!options.root) throw invalidArgument('RegistryServer needs a root directory for its metadata');
    this.metadata = new RepositoryMetadata(options.root);
    this.uploads = new UploadSessions(options.root);
    this.trust = new TrustStore(options.root);
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    this.server = options.tls === undefined ? createServer(handler) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler);
    this.server.keepAliveTimeout = 30_000;
  }

  /** Start listening; resolves with the base URL (`http://127.0.0.1:<port>`, https with `tls`). */
  async listen(): Promise<string> {
    await fs.mkdir(this.options.root, { recursive: true });
    const expiry = this.options.uploadExpiryMs ?? 24 * 3600_000;
    await this.uploads.purge(expiry);
    this.purgeTimer = setInterval(() => void this.uploads.purge(expiry).catch(() => undefined), Math.min(expiry, 3600_000));
    this.purgeTimer.unref();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.address = this.server.address() as AddressInfo;
    return this.url;
  }

  get url(): string {
    if (this.address === undefined) throw invalidArgument('the registry server is not listening yet');
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `${this.options.tls === undefined ? 'http' : 'https'}://${host}:${this.address.port}`;
  }

  /** `host:port`, as used in image references. */
  get host(): string {
    return this.url.replace(/^https?:\/\//, '');
  }

  async close(): Promise<void> {
    if (this.purgeTimer !== undefined) clearInterval(this.purgeTimer);
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    try {
      await this.dispatch(req, res);
    } catch (error) {
      this.fail(req, res, error);
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const mark = raw.indexOf('?');
    // The raw path, never a normalised URL: `..` and `%2e%2e` must fail the name check, not be resolved.
    const path = mark < 0 ? raw : raw.slice(0, mark);
    const query = new URLSearchParams(mark < 0 ? '' : raw.slice(mark + 1));
    if (path === '/v2/' || path === '/v2') {
      const decision = authorize(this.options.auth, req.headers.authorization, undefined, []);
      if (!decision.allowed) throw challenge(decision.challenge);
      return replyJson(req, res, 200, {});
    }
    // The v1 index `docker search` asks: open to whoever may reach `/v2/`, listing what the asker may see.
    if (path === '/v1/search' && (req.method === 'GET' || req.method === 'HEAD')) {
      const decision = authorizeSearch(this.options.auth, req.headers.authorization);
      if (!decision.allowed) throw challenge(decision.challenge);
      return handleSearch(req, res, query, this.metadata, (repository) => maySee(decision.grants, repository));
    }
    // Trust metadata is bounded as manifests are: both are small JSON a client uploads whole.
    const maxManifestBytes = this.options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    if (isTrustPath(path)) return handleTrust({ req, res, store: this.trust, auth: this.options.auth, maxBodyBytes: maxManifestBytes }, path);
    const route = parseRoute(path);
    if (route === undefined) {
      const loose = LOOSE_ROUTE.exec(path);
      if (loose !== null && !isRepositoryName(loose[1]!)) throw new DistributionError('NAME_INVALID', { name: loose[1] });
      return replyJson(req, res, 404, { errors: [{ code: 'NOT_FOUND', message: `no route for ${req.method} ${path}` }] });
    }
    const decision = authorize(this.options.auth, req.headers.authorization, route.repository, actionsFor(req.method, route.area));
    if (!decision.allowed) throw challenge(decision.challenge);
    const ctx: RequestContext = {
      req,
      res,
      repository: route.repository,
      query,
      store: this.options.store,
      metadata: this.metadata,
      uploads: this.uploads,
      maxManifestBytes,
      maxBlobBytes: this.options.maxBlobBytes,
      canPull: (repository) => this.canPull(decision.grants, repository),
    };
    switch (route.area) {
      case 'manifests':
        return handleManifest(ctx, route.target);
      case 'blob':
        return handleBlob(ctx, route.target);
      case 'uploads':
        return handleUploadStart(ctx);
      case 'upload':
        return handleUpload(ctx, route.target);
      case 'tags':
        return handleTags(ctx);
      case 'referrers':
        return handleReferrers(ctx, route.target);
    }
  }

  private canPull(grants: AccessGrant[] | undefined, repository: string): boolean {
    return this.options.auth?.type !== 'token' || hasPull(grants, repository);
  }

  private fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.destroy(error instanceof Error ? error : undefined);
      return;
    }
    // Whatever is left of a failed upload is not read; close the connection instead of draining it.
    if (!req.complete) res.setHeader('Connection', 'close');
    // A handler's verdict may arrive wrapped by the store it passed through.
    const verdict = distributionError(error);
    if (verdict !== undefined) error = verdict;
    if (error instanceof DistributionError) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (error.status === 401) headers['WWW-Authenticate'] = String(error.detail);
      const body = error.status === 401 ? new DistributionError('UNAUTHORIZED').body() : error.body();
      return reply(req, res, error.status, headers, body);
    }
    if (isCtrError(error) && error.code === 'DigestMismatch') {
      return reply(req, res, 400, { 'Content-Type': 'application/json' }, new DistributionError('DIGEST_INVALID', error.message).body());
    }
    const message = error instanceof Error ? error.message : String(error);
    replyJson(req, res, 500, { errors: [{ code: 'UNKNOWN', message }] });
  }
}

function distributionError(error: unknown): DistributionError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth += 1) {
    if (e instanceof DistributionError) return e;
  }
  return undefined;
}

function parseRoute(path: string): Route | undefined {
  const m = ROUTE.exec(path);
  if (m === null) return undefined;
  const repository = m[1]!;
  if (!isRepositoryName(repository)) return undefined;
  if (m[2] !== undefined) return { repository, area: 'manifests', target: m[3]! };
  if (m[4] !== undefined) return { repository, area: 'uploads', target: '' };
  if (m[5] !== undefined) return { repository, area: 'upload', target: m[5] };
  if (m[6] !== undefined) return { repository, area: 'blob', target: m[6] };
  if (m[7] !== undefined) return { repository, area: 'tags', target: '' };
  return { repository, area: 'referrers', target: m[8]! };
}

function actionsFor(method: string | undefined, area: Area): RegistryAction[] {
  if (method === 'GET' || method === 'HEAD') return ['pull'];
  if (method === 'DELETE' && (area === 'manifests' || area === 'blob')) return ['delete'];
  return ['pull', 'push'];
}

function hasPull(grants: AccessGrant[] | undefined, repository: string): boolean {
  return allows(grants ?? [], repository, ['pull']);
}

function challenge(header: string): DistributionError {
  return new DistributionError('UNAUTHORIZED', header);
}
