import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isNotFound } from '@ctr/errors';
import { DigestStream, parseDigest, type Digest } from '@ctr/image';
import { DistributionError } from './distribution-error';
import { takeBytes, through } from '../byte-streams';
import { hasBody, parseRangeHeader, reply, replyStream } from './http-io';
import type { RequestContext } from './registry-server';
import type { UploadSession } from './upload-sessions';

/** GET / HEAD / DELETE `/v2/<name>/blobs/<digest>`. */
export async function handleBlob(ctx: RequestContext, target: string): Promise<void> {
  const { req, res, repository, metadata, store } = ctx;
  const digest = digestParam(target, 'BLOB_UNKNOWN');
  if (req.method === 'DELETE') {
    if (!(await metadata.unlinkBlob(repository, digest))) throw new DistributionError('BLOB_UNKNOWN', { digest });
    return reply(req, res, 202);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') throw unsupported(req.method);
  if (!(await metadata.hasBlob(repository, digest))) throw new DistributionError('BLOB_UNKNOWN', { digest });
  const size = await blobSize(ctx, digest);
  const headers = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
  const range = parseRangeHeader(req.headers.range, size);
  if (range === 'unsatisfiable') {
    return reply(req, res, 416, { 'Content-Range': `bytes */${size}` });
  }
  if (range === undefined) {
    return replyStream(req, res, 200, { ...headers, 'Content-Length': size }, await store.read(digest));
  }
  const length = range.end - range.start + 1;
  const body = through(await store.read(digest, { offset: range.start }), takeBytes(length));
  return replyStream(req, res, 206, {
    ...headers,
    'Content-Length': length,
    'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
  }, body);
}

/** POST `/v2/<name>/blobs/uploads/`: cross-repository mount, monolithic upload, or a new session. */
export async function handleUploadStart(ctx: RequestContext): Promise<void> {
  const { req, res, repository, query } = ctx;
  if (req.method !== 'POST') throw unsupported(req.method);
  const mount = query.get('mount');
  if (mount !== null && (await tryMount(ctx, mount, query.get('from')))) {
    return reply(req, res, 201, { Location: blobLocation(repository, mount), 'Docker-Content-Digest': mount });
  }
  const digest = query.get('digest');
  if (digest !== null && mount === null) {
    const verified = digestParam(digest, 'DIGEST_INVALID');
    await storeVerified(ctx, capped(ctx, req, 0), verified, declaredLength(ctx));
    return reply(req, res, 201, { Location: blobLocation(repository, verified), 'Docker-Content-Digest': verified });
  }
  const session = await ctx.uploads.create(repository);
  reply(req, res, 202, sessionHeaders(session));
}

/** GET / PATCH / PUT / DELETE `/v2/<name>/blobs/uploads/<id>`. */
export async function handleUpload(ctx: RequestContext, id: string): Promise<void> {
  const { req, res, repository, uploads } = ctx;
  const session = await uploads.get(id, repository);
  if (session === undefined) throw new DistributionError('BLOB_UPLOAD_UNKNOWN', { id });
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return reply(req, res, 204, sessionHeaders(session));
    case 'DELETE':
      await uploads.delete(session.id);
      return reply(req, res, 204);
    case 'PATCH':
      session.size = await appendChunk(ctx, session);
      return reply(req, res, 202, sessionHeaders(session));
    case 'PUT':
      return finishUpload(ctx, session);
    default:
      throw unsupported(req.method);
  }
}

async function finishUpload(ctx: RequestContext, session: UploadSession): Promise<void> {
  const { req, res, repository, uploads } = ctx;
  const param = ctx.query.get('digest');
  if (param === null) throw new DistributionError('DIGEST_INVALID', 'the final PUT needs ?digest=');
  const digest = digestParam(param, 'DIGEST_INVALID');
  try {
    if (session.size === 0 && hasBody(req) && req.headers['content-range'] === undefined) {
      // The whole blob in the closing PUT: straight into the store, no session file.
      await storeVerified(ctx, capped(ctx, req, 0), digest, declaredLength(ctx));
    } else {
      if (hasBody(req)) session.size = await appendChunk(ctx, session);
      await storeVerified(ctx, uploads.read(session), digest, session.size);
    }
  } catch (error) {
    // Keep nothing of an upload that failed verification (G2).
    if (error instanceof DistributionError && error.code === 'DIGEST_INVALID') await uploads.delete(session.id);
    throw error;
  }
  await uploads.delete(session.id);
  reply(req, res, 201, { Location: blobLocation(repository, digest), 'Docker-Content-Digest': digest });
}

async function appendChunk(ctx: RequestContext, session: UploadSession): Promise<number> {
  const range = parseContentRange(ctx.req.headers['content-range']);
  const length = declaredLength(ctx);
  if (range !== undefined && length !== undefined && range.end - range.start + 1 !== length) {
    throw new DistributionError('SIZE_INVALID', { range, length });
  }
  return ctx.uploads.append(session, capped(ctx, ctx.req, session.size), (size) => {
    if (range !== undefined && range.start !== size) {
      throw new DistributionError('RANGE_INVALID', { expectedStart: size, range }, `chunk starts at ${range.start}, expected ${size}`);
    }
  });
}

/**
 * Stream bytes into the store, which keeps them only if they hash to `digest`. A blob the
 * store already holds is not written again: the upload is hashed on its way to nowhere,
 * so a wrong body is still refused.
 */
async function storeVerified(ctx: RequestContext, source: Readable, digest: Digest, size: number | undefined): Promise<void> {
  if (await isStored(ctx, digest)) {
    const hasher = new DigestStream();
    await pipeline(source, hasher, new Writable({ write: (_chunk, _encoding, done) => done() }));
    if (hasher.digest !== digest) throw new DistributionError('DIGEST_INVALID', { digest, actual: hasher.digest });
  } else {
    try {
      await ctx.store.write(source, size === undefined ? { digest } : { digest, size });
    } catch (error) {
      if ((error as { code?: string }).code === 'DigestMismatch') {
        throw new DistributionError('DIGEST_INVALID', { digest, reason: (error as Error).message });
      }
      throw error;
    }
    // A concurrent upload of the same blob may have won the race: the store then stops reading.
    if (!source.readableEnded) source.resume();
  }
  await ctx.metadata.linkBlob(ctx.repository, digest);
}

async function isStored(ctx: RequestContext, digest: Digest): Promise<boolean> {
  try {
    await ctx.store.info(digest);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Link a blob from another repository (or, without `from`, one already stored) — if the caller may read it. */
async function tryMount(ctx: RequestContext, mount: string, from: string | null): Promise<boolean> {
  let digest: Digest;
  try {
    digest = parseDigest(mount);
  } catch {
    return false;
  }
  if (from !== null) {
    if (!ctx.canPull(from) || !(await ctx.metadata.exists(from).catch(() => false))) return false;
    if (!(await ctx.metadata.hasBlob(from, digest))) return false;
  } else if (!ctx.canPull('*') && !(await ctx.metadata.hasBlob(ctx.repository, digest))) {
    return false;
  }
  try {
    await ctx.store.info(digest);
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
  await ctx.metadata.linkBlob(ctx.repository, digest);
  return true;
}

async function blobSize(ctx: RequestContext, digest: Digest): Promise<number> {
  try {
    return (await ctx.store.info(digest)).size;
  } catch (error) {
    if (isNotFound(error)) throw new DistributionError('BLOB_UNKNOWN', { digest });
    throw error;
  }
}

/** The request body, failing with SIZE_INVALID once the blob would grow past `maxBlobBytes` (G6). */
function capped(ctx: RequestContext, source: Readable, already: number): Readable {
  const limit = ctx.maxBlobBytes;
  if (limit === undefined) return source;
  const declared = declaredLength(ctx);
  if (declared !== undefined && already + declared > limit) throw tooLarge(limit);
  let total = already;
  return through(source, new Transform({
    transform(chunk: Buffer, _encoding, callback): void {
      total += chunk.length;
      callback(total > limit ? tooLarge(limit) : null, chunk);
    },
  }));
}

function tooLarge(limit: number): DistributionError {
  return new DistributionError('SIZE_INVALID', { limit }, `blob is larger than the ${limit} bytes this registry accepts`);
}

function sessionHeaders(session: UploadSession): Record<string, string> {
  return {
    Location: `/v2/${session.repository}/blobs/uploads/${session.id}`,
    Range: `0-${Math.max(0, session.size - 1)}`,
    'Docker-Upload-UUID': session.id,
  };
}

function blobLocation(repository: string, digest: string): string {
  return `/v2/${repository}/blobs/${digest}`;
}

function declaredLength(ctx: RequestContext): number | undefined {
  const value = ctx.req.headers['content-length'];
  return value === undefined ? undefined : Number(value);
}

function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (m === null) throw new DistributionError('RANGE_INVALID', { contentRange: header });
  return { start: Number(m[1]), end: Number(m[2]) };
}

function digestParam(value: string, code: 'BLOB_UNKNOWN' | 'DIGEST_INVALID'): Digest {
  try {
    return parseDigest(value);
  } catch (error) {
    throw new DistributionError(code, { digest: value, reason: (error as Error).message });
  }
}

function unsupported(method: string | undefined): DistributionError {
  return new DistributionError('UNSUPPORTED', { method });
}
