import type { Readable } from 'node:stream';
import { CtrError, digestMismatch, isCtrError } from '@ctr/errors';
import { digestOf, formatReference, isDigest, manifestAcceptTypes, parseManifestOrIndex, shortId, type Descriptor, type Digest, type Reference } from '@ctr/image';
import { readAtMost } from './byte-streams';
import type { Endpoint } from './endpoint';
import type { HttpRequest, HttpResponse, RegistryHttp } from './registry-http';

/** A manifest or index as fetched: verified bytes and the descriptor they match. */
export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** A manifest as errors name it: `manifest for localhost:5000/x:latest`. */
export function manifestSubject(name: string, ref: string): string {
  return `manifest for ${name}${isDigest(ref) ? '@' : ':'}${ref}`;
}

/**
 * The distribution API of one repository on one endpoint: the HTTP calls pull and push
 * are made of, each checked (status, digest) and named in errors by its reference.
 */
export class RepositoryApi {
  private readonly base: string;

  constructor(
    private readonly http: RegistryHttp,
    readonly endpoint: Endpoint,
    readonly reference: Reference,
    /** Token scopes: pull, or pull+push plus pull on mount sources. */
    private readonly scopes: readonly string[],
  ) {
    this.base = `/v2/${reference.path}`;
  }

  get name(): string {
    return `${this.reference.domain}/${this.reference.path}`;
  }

  /** Digest, size and media type of a manifest, by tag or digest (HEAD, falling back to GET). */
  async resolve(ref: string, signal?: AbortSignal): Promise<Descriptor> {
    let response: HttpResponse;
    try {
      response = await this.request({ method: 'HEAD', target: `${this.base}/manifests/${ref}`, ok: [200], subject: this.manifestSubject(ref), signal, headers: { accept: manifestAcceptTypes.join(', ') } });
    } catch (error) {
      // A HEAD answer has no body to explain an error: ask again with GET, as Docker does.
      if (isCtrError(error) && (error.code === 'Aborted' || error.code === 'Unavailable')) throw error;
      return (await this.fetchManifest(ref, signal)).descriptor;
    }
    response.body.resume();
    const digest = response.header('docker-content-digest');
    const length = Number(response.header('content-length'));
    const mediaType = contentType(response);
    if (digest !== undefined && isDigest(digest) && Number.isSafeInteger(length) && mediaType !== undefined) {
      if (isDigest(ref) && digest !== ref) throw this.unverifiedManifest(ref, digest);
      return { mediaType, digest, size: length };
    }
    return (await this.fetchManifest(ref, signal)).descriptor;
  }

  /** GET a manifest or index, verify its bytes, and say what it is. */
  async fetchManifest(ref: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const subject = this.manifestSubject(ref);
    const response = await this.request({ method: 'GET', target: `${this.base}/manifests/${ref}`, ok: [200], subject, signal, headers: { accept: manifestAcceptTypes.join(', ') } });
    const bytes = await readBounded(response.body, MAX_MANIFEST_BYTES, subject);
    const digest = digestOf(bytes);
    const expected = isDigest(ref) ? ref : response.header('docker-content-digest');
    if (expected !== undefined && expected.startsWith('sha256:') && expected !== digest) throw this.unverifiedManifest(expected, digest);
    // Some registries leave `mediaType` out of OCI manifests; the Content-Type then says.
    const parsed = parseManifestOrIndex(bytes, contentType(response));
    return { descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length }, bytes };
  }

  /** The blob's bytes from `offset` on; `partial` is false when the registry ignored the Range. */
  async fetchBlob(digest: Digest, offset: number, signal?: AbortSignal): Promise<{ body: Readable; partial: boolean }> {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const response = await this.request({ method: 'GET', target: `${this.base}/blobs/${digest}`, ok: [200, 206], subject: `blob ${shortId(digest)} of ${this.name}`, signal, headers });
    if (response.status === 206) {
      const start = /^bytes (\d+)-/.exec(response.header('content-range') ?? '')?.[1];
      if (Number(start) !== offset) {
        response.body.destroy();
        throw new CtrError('Unavailable', `registry ${this.endpoint.registry} answered a range request for ${digest} with the wrong range (${response.header('content-range') ?? 'none'})`);
      }
    }
    return { body: response.body, partial: response.status === 206 };
  }

  async hasBlob(digest: Digest, signal?: AbortSignal): Promise<boolean> {
    const response = await this.request({ method: 'HEAD', target: `${this.base}/blobs/${digest}`, ok: [200, 404], subject: `blob ${shortId(digest)} of ${this.name}`, signal });
    response.body.resume();
    return response.status === 200;
  }

  /**
   * Start an upload. With `mountFrom`, ask for a cross-repository mount first; a 201 means
   * the blob is now here (undefined is returned), a 202 is an ordinary session.
   */
  async startUpload(digest: Digest, mountFrom: string | undefined, signal?: AbortSignal): Promise<URL | undefined> {
    const query = mountFrom === undefined ? '' : `?${new URLSearchParams({ mount: digest, from: mountFrom }).toString()}`;
    const response = await this.request({ method: 'POST', target: `${this.base}/blobs/uploads/${query}`, ok: [201, 202], subject: `upload of ${shortId(digest)} to ${this.name}`, signal, headers: { 'content-length': '0' } });
    response.body.resume();
    if (response.status === 201) return undefined;
    return this.location(response);
  }

  /**
   * Abandon an upload session (DELETE). Best effort: a session the registry no longer
   * knows, or cannot delete, expires there on its own; only a cancelled signal is thrown.
   */
  async cancelUpload(location: URL, signal?: AbortSignal): Promise<void> {
    try {
      const response = await this.request({ method: 'DELETE', target: location, ok: [202, 204, 404], subject: `upload to ${this.name}`, signal });
      response.body.resume();
    } catch (error) {
      if (isCtrError(error) && error.code === 'Aborted') throw error;
    }
  }

  /** PATCH one chunk (`Content-Range` when `offset` is given); resolves with the next Location. */
  async uploadChunk(location: URL, body: Readable, offset: number, length: number, signal?: AbortSignal): Promise<URL> {
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(length),
      'content-range': `${offset}-${offset + length - 1}`,
    };
    const response = await this.request({ method: 'PATCH', target: location, ok: [202], subject: `upload to ${this.name}`, signal, headers, body });
    response.body.resume();
    return this.location(response);
  }

  /** Close an upload with PUT `?digest=`, sending `body` (the whole blob) or nothing. */
  async finishUpload(location: URL, digest: Digest, body: Readable | undefined, length: number, signal?: AbortSignal): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(body === undefined ? 0 : length) };
    const response = await this.request({ method: 'PUT', target: url, ok: [201, 204], subject: `upload of ${shortId(digest)} to ${this.name}`, signal, headers, ...(body === undefined ? {} : { body }) });
    response.body.resume();
    const stored = response.header('docker-content-digest');
    if (stored !== undefined && stored !== digest) throw this.mismatch(digest, stored);
  }

  async putManifest(ref: string, descriptor: Descriptor, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    const subject = `manifest ${formatReference(this.reference)}`;
    const response = await this.request({ method: 'PUT', target: `${this.base}/manifests/${ref}`, ok: [200, 201, 202], subject, signal, headers: { 'content-type': descriptor.mediaType }, body: bytes });
    response.body.resume();
    const stored = response.header('docker-content-digest');
    if (stored !== undefined && stored !== descriptor.digest) throw this.mismatch(descriptor.digest, stored);
  }

  /** All tags, asked for `pageSize` at a time (`n=`), following the registry's `Link: <…>; rel="next"` pages. */
  async listTags(signal?: AbortSignal, pageSize = 1000): Promise<string[]> {
    const tags: string[] = [];
    let target: string | URL = `${this.base}/tags/list?n=${pageSize}`;
    for (;;) {
      const response = await this.request({ method: 'GET', target, ok: [200], subject: `repository ${this.name}`, signal });
      const text = (await readBounded(response.body, MAX_MANIFEST_BYTES, `tags of ${this.name}`)).toString('utf8');
      const page = JSON.parse(text) as { tags?: string[] | null };
      tags.push(...(page.tags ?? []));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(response.header('link') ?? '')?.[1];
      if (next === undefined) return tags;
      target = new URL(next, response.url);
    }
  }

  private request(options: Omit<HttpRequest, 'endpoint' | 'scopes' | 'context'> & { subject: string }): Promise<HttpResponse> {
    const { subject, ...rest } = options;
    return this.http.send({ ...rest, endpoint: this.endpoint, scopes: this.scopes, context: { registry: this.endpoint.registry, subject } });
  }

  private manifestSubject(ref: string): string {
    return manifestSubject(this.name, ref);
  }

  private location(response: HttpResponse): URL {
    const header = response.header('location');
    if (!header) throw new CtrError('Unavailable', `registry ${this.endpoint.registry} started an upload to ${this.name} without a Location header`);
    return new URL(header, response.url);
  }

  /** A manifest that is not the one asked for: dockerd's words, then the registry's part in it. */
  private unverifiedManifest(expected: string, actual: string): CtrError {
    const { message, details } = this.mismatch(expected, actual);
    return digestMismatch(`manifest verification failed for digest ${expected}: ${message}`, { details });
  }

  private mismatch(expected: string, actual: string): CtrError {
    return digestMismatch(`registry ${this.endpoint.registry} returned content with digest ${actual} for ${this.name}, expected ${expected}`, {
      details: { registry: this.endpoint.registry, expected, actual },
    });
  }
}

function contentType(response: HttpResponse): string | undefined {
  return response.header('content-type')?.split(';')[0]?.trim() || undefined;
}

/** A body read whole, ResourceExhausted (naming `what`) past `limit` bytes. */
export function readBounded(body: Readable, limit: number, what: string): Promise<Buffer> {
  return readAtMost(body, limit, () => new CtrError('ResourceExhausted', `${what} is larger than ${limit} bytes; refusing to read it`));
}
