import { Readable } from 'node:stream';
import { isNotFound } from '@ctr/errors';
import { digestOf, isDigest, MediaTypes, parseDigest, type Descriptor, type Digest } from '@ctr/image';
import { isTag } from '../names';
import { DistributionError } from './distribution-error';
import { readSmallBody, reply, replyJson, replyStream } from './http-io';
import { checkManifest } from './manifest-check';
import type { RequestContext } from './registry-server';

/** GET / HEAD / PUT / DELETE `/v2/<name>/manifests/<tag or digest>`. */
export async function handleManifest(ctx: RequestContext, reference: string): Promise<void> {
  switch (ctx.req.method) {
    case 'GET':
    case 'HEAD':
      return getManifest(ctx, reference);
    case 'PUT':
      return putManifest(ctx, reference);
    case 'DELETE':
      return deleteManifest(ctx, reference);
    default:
      throw new DistributionError('UNSUPPORTED', { method: ctx.req.method });
  }
}

async function getManifest(ctx: RequestContext, reference: string): Promise<void> {
  const { req, res, repository, metadata } = ctx;
  const digest = reference.includes(':') ? (isDigest(reference) ? reference : undefined) : isTag(reference) ? await metadata.tag(repository, reference) : undefined;
  const record = digest === undefined ? undefined : await metadata.manifest(repository, digest);
  if (digest === undefined || record === undefined) throw new DistributionError('MANIFEST_UNKNOWN', { reference });
  let body: Readable;
  try {
    body = req.method === 'HEAD' ? Readable.from([]) : await ctx.store.read(digest);
  } catch (error) {
    if (isNotFound(error)) throw new DistributionError('MANIFEST_UNKNOWN', { reference });
    throw error;
  }
  await replyStream(req, res, 200, {
    'Content-Type': record.mediaType,
    'Content-Length': record.size,
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
  }, body);
}

async function putManifest(ctx: RequestContext, reference: string): Promise<void> {
  const { req, res, repository, metadata, store } = ctx;
  const byDigest = reference.includes(':');
  let expected: Digest | undefined;
  if (byDigest) {
    try {
      expected = parseDigest(reference);
    } catch (error) {
      throw new DistributionError('DIGEST_INVALID', { reference, reason: (error as Error).message });
    }
  } else if (!isTag(reference)) {
    throw new DistributionError('TAG_INVALID', { tag: reference }, `invalid tag "${reference}"`);
  }
  const tags = byDigest ? ctx.query.getAll('tag') : [reference];
  const badTag = tags.find((t) => !isTag(t));
  if (badTag !== undefined) throw new DistributionError('TAG_INVALID', { tag: badTag }, `invalid tag "${badTag}"`);

  const body = await readSmallBody(req, ctx.maxManifestBytes);
  const digest = digestOf(body);
  if (expected !== undefined && expected !== digest) {
    throw new DistributionError('DIGEST_INVALID', { expected, actual: digest });
  }
  const checked = checkManifest(body, req.headers['content-type']);
  for (const ref of checked.references) {
    const present = ref.kind === 'blob' ? await metadata.hasBlob(repository, ref.digest) : (await metadata.manifest(repository, ref.digest)) !== undefined;
    if (!present) throw new DistributionError('MANIFEST_BLOB_UNKNOWN', { digest: ref.digest }, `blob unknown to registry: ${ref.digest}`);
  }
  await store.write(Readable.from([body]), { digest, size: body.length });
  const referrer: Descriptor = { mediaType: checked.mediaType, digest, size: body.length };
  if (checked.artifactType !== undefined) referrer.artifactType = checked.artifactType;
  if (checked.annotations !== undefined) referrer.annotations = checked.annotations;
  const record = { mediaType: checked.mediaType, size: body.length, ...(checked.subject ? { subject: checked.subject } : {}) };
  await metadata.putManifest(repository, digest, record, referrer);
  await metadata.linkBlob(repository, digest);
  for (const tag of tags) await metadata.setTag(repository, tag, digest);

  const headers: Record<string, string> = {
    Location: `/v2/${repository}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
  };
  if (checked.subject !== undefined) headers['OCI-Subject'] = checked.subject;
  if (byDigest && tags.length > 0) headers['OCI-Tag'] = tags.join(',');
  reply(req, res, 201, headers);
}

async function deleteManifest(ctx: RequestContext, reference: string): Promise<void> {
  const { req, res, repository, metadata } = ctx;
  let deleted: boolean;
  if (reference.includes(':')) {
    deleted = isDigest(reference) && (await metadata.deleteManifest(repository, reference));
  } else {
    deleted = isTag(reference) && (await metadata.deleteTag(repository, reference));
  }
  if (!deleted) throw new DistributionError('MANIFEST_UNKNOWN', { reference });
  reply(req, res, 202);
}

/** GET `/v2/<name>/tags/list?n=&last=`, paginated with a `Link` header like distribution. */
export async function handleTags(ctx: RequestContext): Promise<void> {
  const { req, res, repository, metadata, query } = ctx;
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new DistributionError('UNSUPPORTED', { method: req.method });
  if (!(await metadata.exists(repository))) throw new DistributionError('NAME_UNKNOWN', { name: repository });
  const last = query.get('last');
  let tags = await metadata.tags(repository);
  if (last !== null) tags = tags.filter((t) => Buffer.compare(Buffer.from(t), Buffer.from(last)) > 0);
  const headers: Record<string, string> = {};
  const n = query.get('n');
  if (n !== null) {
    const limit = Number(n);
    if (!Number.isSafeInteger(limit) || limit < 0) throw new DistributionError('UNSUPPORTED', { n }, `invalid page size "${n}"`);
    if (tags.length > limit) {
      tags = tags.slice(0, limit);
      const next = new URLSearchParams({ n: String(limit), last: tags[tags.length - 1] ?? '' });
      headers.Link = `</v2/${repository}/tags/list?${next.toString()}>; rel="next"`;
    }
  }
  replyJson(req, res, 200, { name: repository, tags }, headers);
}

/** GET `/v2/<name>/referrers/<digest>?artifactType=`: an index of the manifests whose subject it is. */
export async function handleReferrers(ctx: RequestContext, target: string): Promise<void> {
  const { req, res, repository, metadata, query } = ctx;
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new DistributionError('UNSUPPORTED', { method: req.method });
  let subject: Digest;
  try {
    subject = parseDigest(target);
  } catch (error) {
    throw new DistributionError('DIGEST_INVALID', { digest: target, reason: (error as Error).message });
  }
  let manifests = await metadata.referrers(repository, subject);
  const headers: Record<string, string> = { 'Content-Type': MediaTypes.ociIndex };
  const artifactType = query.get('artifactType');
  if (artifactType !== null) {
    manifests = manifests.filter((d) => d.artifactType === artifactType);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  const index = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
  reply(req, res, 200, headers, JSON.stringify(index));
}
