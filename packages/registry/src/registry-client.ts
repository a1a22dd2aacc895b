import { CtrError, digestMismatch, invalidArgument, isAborted, isUnauthorized } from '@ctr/errors';
import { DEFAULT_TAG, digestOf, formatReference, MAX_DOCUMENT_BYTES, parseNormalizedReference, shortId, type Descriptor, type Digest, type Reference } from '@ctr/image';
import type { CredentialSource } from './authorizer';
import { loadDockerConfigAuth, type DockerConfigOptions, type RegistryCredentials } from './docker-config';
import { endpointsFor, type Endpoint, type EndpointOptions } from './endpoint';
import { pullImage, type PullOptions, type PullResult } from './pull';
import { mountRepositories, pushImage, type PushOptions } from './push';
import { RegistryHttp } from './registry-http';
import { manifestSubject, readBounded, RepositoryApi, type FetchedManifest } from './repository-api';
import { indexEndpoint, searchIndex, searchLimit, searchTarget, type SearchResults } from './search';

export interface RegistryClientOptions extends EndpointOptions {
  /**
   * Credentials: fixed ones for every registry, or a function of the registry host.
   * Default: `~/.docker/config.json` (auths, credsStore, credHelpers) via loadDockerConfigAuth.
   */
  credentials?: RegistryCredentials | CredentialSource;
  /** Where to find the Docker config when `credentials` is not given. */
  dockerConfig?: DockerConfigOptions;
  /** Layers downloaded at once (Docker's max-concurrent-downloads, default 3). */
  maxConcurrentDownloads?: number;
  /** Blobs uploaded at once (Docker's max-concurrent-uploads, default 5). */
  maxConcurrentUploads?: number;
  /** Upload blobs larger than this in chunks (PATCH with Content-Range); default: one PUT per blob. */
  uploadChunkSize?: number;
  userAgent?: string;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /**
   * Credentials for this call only (a Docker API request's `X-Registry-Auth`): fixed ones
   * go only to the registry the call is for; a function answers per registry host. They
   * win over the client's own; where they give nothing, the client's are used.
   */
  credentials?: RegistryCredentials | CredentialSource;
}

export interface PushResult {
  reference: Reference;
  /** What the registry now holds under the reference — the same digest as the local manifest. */
  descriptor: Descriptor;
}

/**
 * A client for OCI distribution registries: resolve and fetch manifests, list tags, pull
 * images into a content store and push them from one. References are Docker's (`busybox`
 * is `docker.io/library/busybox:latest`). One client keeps connections and tokens for
 * every registry it talks to; `close()` releases them.
 */
export class RegistryClient {
  private readonly http: RegistryHttp;
  private readonly credentials: CredentialSource;

  constructor(private readonly options: RegistryClientOptions = {}) {
    const { credentials } = options;
    this.credentials =
      typeof credentials === 'function'
        ? credentials
        : credentials !== undefined
          ? async () => credentials
          : (registry) => loadDockerConfigAuth(registry, options.dockerConfig);
    this.http = new RegistryHttp(this.credentials, options.userAgent === undefined ? {} : { userAgent: options.userAgent });
  }

  /** The descriptor (digest, size, media type) a reference points at now. */
  async resolve(reference: string | Reference, options: RequestOptions = {}): Promise<Descriptor> {
    const ref = normalize(reference);
    return this.withMirrors(ref, options, manifestOf(ref), (api) => api.resolve(target(ref), options.signal));
  }

  /** A manifest or index, its bytes verified against its digest. */
  async fetchManifest(reference: string | Reference, options: RequestOptions = {}): Promise<FetchedManifest & { reference: Reference }> {
    const ref = normalize(reference);
    const fetched = await this.withMirrors(ref, options, manifestOf(ref), (api) => api.fetchManifest(target(ref), options.signal));
    return { ...fetched, reference: ref };
  }

  /**
   * A small blob of the reference's repository (an image config) whole, its bytes verified
   * against its digest; ResourceExhausted past MAX_DOCUMENT_BYTES, the most a config may be.
   */
  async fetchSmallBlob(reference: string | Reference, digest: Digest, options: RequestOptions = {}): Promise<Buffer> {
    const ref = normalize(reference);
    const subject = `blob ${shortId(digest)} of ${ref.domain}/${ref.path}`;
    // Verified per endpoint: a mirror's wrong bytes send the read on to the upstream.
    return this.withMirrors(ref, options, subject, async (api) => {
      const bytes = await readBounded((await api.fetchBlob(digest, 0, options.signal)).body, MAX_DOCUMENT_BYTES, subject);
      if (digestOf(bytes) !== digest) throw digestMismatch(`blob verification failed for digest ${digest}`);
      return bytes;
    });
  }

  /**
   * Every tag of a repository (a reference's tag or digest, if any, is ignored), in the
   * registry's order, asked for `pageSize` at a time (default 1000; registries may send fewer).
   */
  async listTags(repository: string | Reference, options: RequestOptions & { pageSize?: number } = {}): Promise<string[]> {
    const ref = normalize(repository);
    const { pageSize } = options;
    if (pageSize !== undefined && !(Number.isSafeInteger(pageSize) && pageSize > 0)) {
      throw invalidArgument(`invalid tag list page size ${pageSize}: expected a positive integer`);
    }
    return this.withMirrors(ref, options, `repository ${ref.domain}/${ref.path}`, (api) => api.listTags(options.signal, pageSize));
  }

  /**
   * Pull an image into `options.store`: resolves when every blob and manifest is stored
   * and verified. Tagging and unpacking are the caller's (the engine's) job.
   */
  async pull(reference: string | Reference, options: PullOptions & RequestOptions): Promise<PullResult> {
    const ref = normalize(reference);
    const concurrency = this.options.maxConcurrentDownloads ?? 3;
    return this.withMirrors(ref, options, manifestOf(ref), async (api) => pullImage(api, await api.fetchManifest(target(ref), options.signal), options, concurrency));
  }

  /** Push the image `options.manifest` from `options.store` to `reference` (its tag, or its digest). */
  async push(reference: string | Reference, options: PushOptions & RequestOptions): Promise<PushResult> {
    const ref = normalize(reference);
    const [given] = (await endpointsFor(ref.domain, 'push', this.options)) as [Endpoint];
    const scopes = [`repository:${ref.path}:pull,push`, ...mountRepositories(options.mountFrom).map((from) => `repository:${from}:pull`)];
    const http = this.httpFor(options, ref.domain);
    const endpoint = await http.reachable(given, { registry: ref.domain, subject: `push of ${formatReference(ref)}` }, options.signal);
    const api = new RepositoryApi(http, endpoint, ref, scopes);
    const tag = ref.digest ?? ref.tag ?? DEFAULT_TAG;
    if (ref.digest !== undefined && ref.digest !== options.manifest.digest) {
      throw new CtrError('InvalidArgument', `cannot push manifest ${options.manifest.digest} as ${ref.digest}: the digests differ`);
    }
    await pushImage(api, tag, options, {
      concurrency: this.options.maxConcurrentUploads ?? 5,
      chunkSize: this.options.uploadChunkSize,
    });
    const descriptor: Descriptor = { mediaType: options.manifest.mediaType, digest: options.manifest.digest, size: options.manifest.size };
    return { reference: ref, descriptor };
  }

  /**
   * `docker search TERM` as dockerd's registry service asks it (filters are the caller's):
   * the index of the registry TERM names (`127.0.0.1:5000/busy`), Docker Hub's for a bare
   * term. `limit` 0 or none is 25; outside [1, 100] is InvalidArgument before any request.
   */
  async search(term: string, options: RequestOptions & { limit?: number } = {}): Promise<SearchResults> {
    const { registry, query } = searchTarget(term);
    const limit = searchLimit(options.limit);
    return searchIndex(this.httpFor(options, registry), await indexEndpoint(registry, this.options), query, limit, options.signal);
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /**
   * Check that the registry accepts the credentials (what `docker login` does): resolves
   * when `GET /v2/` succeeds after any challenge (through the token service when the
   * registry names one). Refused credentials are Unauthorized in dockerd's words:
   * `login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized`.
   */
  async ping(registry: string, options: RequestOptions = {}): Promise<void> {
    const [given] = (await endpointsFor(registry, 'push', this.options)) as [Endpoint];
    const http = this.httpFor(options, registry);
    const context = { registry, subject: `login to ${registry}` };
    const endpoint = await http.reachable(given, context, options.signal);
    try {
      const response = await http.send({
        endpoint,
        method: 'GET',
        target: '/v2/',
        ok: [200],
        scopes: [],
        context,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      response.body.resume();
    } catch (error) {
      if (!isUnauthorized(error)) throw error;
      const refusal = `login attempt to ${endpoint.origin}/v2/ failed with status: 401 Unauthorized`;
      throw new CtrError('Unauthorized', refusal, { cause: error, details: { registry, go: { error: refusal } } });
    }
  }

  /** The client's connections with the call's credentials first, the client's own after them. */
  private httpFor(options: RequestOptions, registry: string): RegistryHttp {
    const { credentials } = options;
    if (credentials === undefined) return this.http;
    const perCall: CredentialSource = typeof credentials === 'function' ? credentials : async (host) => (host === registry ? credentials : undefined);
    return this.http.withCredentials(async (host) => (await perCall(host)) ?? this.credentials(host));
  }

  /**
   * Run `work` against each endpoint for the registry in turn (mirrors first); the registry's own
   * answer is final. `subject` names what is asked for when an endpoint cannot be reached at all.
   * Any failure of a mirror but a cancellation moves on, wrong bytes included, as dockerd's
   * continueOnError does for mirror endpoints: a mirror is a cache, the upstream the authority.
   */
  private async withMirrors<T>(ref: Reference, options: RequestOptions, subject: string, work: (api: RepositoryApi) => Promise<T>): Promise<T> {
    const endpoints = await endpointsFor(ref.domain, 'pull', this.options);
    const http = this.httpFor(options, ref.domain);
    for (const endpoint of endpoints) {
      try {
        const api = new RepositoryApi(http, await http.reachable(endpoint, { registry: ref.domain, subject }, options.signal), ref, [`repository:${ref.path}:pull`]);
        return await work(api);
      } catch (error) {
        if (!endpoint.mirror || isAborted(error) || options.signal?.aborted) throw error;
      }
    }
    throw new CtrError('Internal', `no endpoint for registry ${ref.domain}`);
  }
}

function normalize(reference: string | Reference): Reference {
  return typeof reference === 'string' ? parseNormalizedReference(reference) : reference;
}

/** What errors call the manifest a call asks for. */
function manifestOf(ref: Reference): string {
  return manifestSubject(`${ref.domain}/${ref.path}`, target(ref));
}

function target(ref: Reference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}
