import type { IncomingMessage, ServerResponse } from 'node:http';
import { isValidRole } from '../trust/metadata';
import { readSmallBody, reply } from './http-io';
import { authorize, type RegistryAction, type ServerAuth } from './server-auth';
import { NotaryError } from './trust-errors';
import { OldVersionError, type TrustStore, type TrustUpdate } from './trust-store';
import { freshSnapshot, freshTimestamp, validateUpdate } from './trust-update';

/**
 * `/v2/<gun>/_trust/tuf/<rest>`: the Notary v1 server's routes. notary's client posts and
 * deletes at `…/_trust/tuf` without the slash (it path.Joins an empty name), so both match.
 */
const TRUST_PATH = /^\/v2\/(.+)\/_trust\/tuf(?:\/(.*))?$/;
/**
 * A GUN is the image's full name with its registry host (`127.0.0.1:5000/library/app`):
 * slash-separated components each starting and ending with a letter or digit, so none can
 * be `.`, `..` or empty, and nothing percent-encoded gets through.
 */
const GUN = /^[A-Za-z0-9](?:[A-Za-z0-9._:-]*[A-Za-z0-9])?(?:\/[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)*$/;

export interface TrustRequest {
  req: IncomingMessage;
  res: ServerResponse;
  store: TrustStore;
  auth: ServerAuth | undefined;
  /** Largest upload accepted, all parts together. */
  maxBodyBytes: number;
}

export function isTrustPath(path: string): boolean {
  return TRUST_PATH.test(path);
}

/**
 * Serve one Notary request (notary-server's handlers/default.go): metadata GETs (current,
 * by checksum, by version), server key GETs, the multipart atomic update and DELETE.
 * Answers every failure itself in notary's error JSON.
 */
export async function handleTrust(ctx: TrustRequest, path: string): Promise<void> {
  try {
    await route(ctx, path);
  } catch (error) {
    const failure = error instanceof NotaryError ? error : new NotaryError('UNKNOWN', error instanceof Error ? error.message : String(error));
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (failure.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = String(failure.detail);
    // Whatever is left of a refused upload is not read; close the connection instead of draining it.
    if (!ctx.req.complete) headers.Connection = 'close';
    const body = failure.code === 'UNAUTHORIZED' ? new NotaryError('UNAUTHORIZED').body() : failure.body();
    reply(ctx.req, ctx.res, failure.status, headers, body);
  }
}

async function route(ctx: TrustRequest, path: string): Promise<void> {
  const match = TRUST_PATH.exec(path)!;
  const gun = match[1]!;
  const rest = match[2] ?? '';
  const method = ctx.req.method ?? 'GET';
  if (gun.length > 255 || !GUN.test(gun)) throw new NotaryError('INVALID_GUN', gun);
  const reading = method === 'GET' || method === 'HEAD';
  const isKey = rest.endsWith('.key');
  const actions: RegistryAction[] = reading && !isKey ? ['pull'] : method === 'DELETE' ? ['pull', 'push', 'delete'] : ['pull', 'push'];
  const decision = authorize(ctx.auth, ctx.req.headers.authorization, gun, actions);
  if (!decision.allowed) throw new NotaryError('UNAUTHORIZED', decision.challenge);

  if (rest === '') {
    if (method === 'POST') return update(ctx, gun);
    if (method === 'DELETE') {
      await ctx.store.exclusive(gun, () => ctx.store.delete(gun));
      return reply(ctx.req, ctx.res, 200);
    }
    throw new NotaryError('GENERIC_NOT_FOUND');
  }
  if (!reading) throw new NotaryError('GENERIC_NOT_FOUND');
  if (isKey) return serverKey(ctx, gun, rest.slice(0, -'.key'.length));
  const bytes = await metadata(ctx.store, gun, rest);
  if (bytes === undefined) throw new NotaryError('METADATA_NOT_FOUND');
  reply(ctx.req, ctx.res, 200, { 'Content-Type': 'application/json' }, bytes);
}

async function metadata(store: TrustStore, gun: string, file: string): Promise<Buffer | undefined> {
  const byChecksum = /^(.+)\.([0-9a-f]{64})\.json$/.exec(file);
  if (byChecksum !== null) return isValidRole(byChecksum[1]!) ? store.byChecksum(gun, byChecksum[1]!, byChecksum[2]!) : undefined;
  const byVersion = /^([1-9][0-9]{0,15})\.(.+)\.json$/.exec(file);
  if (byVersion !== null) return isValidRole(byVersion[2]!) ? store.byVersion(gun, byVersion[2]!, Number(byVersion[1])) : undefined;
  const current = /^(.+)\.json$/.exec(file);
  const role = current?.[1];
  if (role === undefined || !isValidRole(role)) return undefined;
  if (role === 'timestamp') return store.exclusive(gun, () => freshTimestamp(store, gun));
  if (role === 'snapshot') return store.exclusive(gun, () => freshSnapshot(store, gun));
  return (await store.current(gun, role))?.bytes;
}

async function serverKey(ctx: TrustRequest, gun: string, role: string): Promise<void> {
  if (role !== 'timestamp' && role !== 'snapshot') throw new NotaryError('INVALID_ROLE', role);
  const key = await ctx.store.exclusive(gun, () => ctx.store.serverKey(gun, role, true));
  // Field order as Go marshals data.TUFKey.
  const body = JSON.stringify({ keytype: key!.public.keytype, keyval: { public: key!.public.keyval.public, private: null } });
  reply(ctx.req, ctx.res, 200, { 'Content-Type': 'application/json' }, body);
}

async function update(ctx: TrustRequest, gun: string): Promise<void> {
  const limit = ctx.maxBodyBytes;
  const body = await readSmallBody(ctx.req, limit, () => new NotaryError('MALFORMED_UPLOAD', `the request body is larger than the ${limit} bytes this server accepts`));
  const uploads = parseUpload(ctx.req.headers['content-type'], body);
  await ctx.store.exclusive(gun, async () => {
    const updates = await validateUpdate(ctx.store, gun, uploads);
    try {
      await ctx.store.commit(gun, updates);
    } catch (error) {
      if (error instanceof OldVersionError) throw new NotaryError('VERSION', error.message);
      throw new NotaryError('UPDATING', error instanceof Error ? error.message : String(error));
    }
  });
  reply(ctx.req, ctx.res, 200);
}

/** The parts of a multipart/form-data upload, one per role: `filename="<role>.json"`. */
function parseUpload(contentType: string | undefined, body: Buffer): TrustUpdate[] {
  const boundary = /^multipart\/form-data\s*;.*\bboundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType ?? '');
  if (boundary === null) throw new NotaryError('MALFORMED_UPLOAD');
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const uploads = new Map<string, TrustUpdate>();
  let at = body.indexOf(delimiter);
  if (at < 0) throw new NotaryError('MALFORMED_UPLOAD');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', at);
    if (headerEnd < 0) throw new NotaryError('MALFORMED_UPLOAD');
    const headers = body.subarray(at, headerEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) throw new NotaryError('MALFORMED_UPLOAD');
    const upload = parsePart(headers, body.subarray(headerEnd + 4, next));
    uploads.set(upload.role, upload);
    at = next + 2;
  }
  return [...uploads.values()];
}

function parsePart(headers: string, content: Buffer): TrustUpdate {
  const disposition = /^content-disposition:(.*)$/im.exec(headers)?.[1] ?? '';
  const filename = /;\s*filename="((?:[^"\\]|\\.)*)"/i.exec(disposition)?.[1]?.replace(/\\(.)/g, '$1') ?? /;\s*filename=([^\s;]+)/i.exec(disposition)?.[1];
  const role = (filename ?? '').replace(/\.json$/, '');
  if (role === '') throw new NotaryError('NO_FILENAME');
  if (!isValidRole(role)) throw new NotaryError('INVALID_ROLE', role);
  let version: unknown;
  try {
    const parsed = JSON.parse(content.toString('utf8')) as { signed?: { _type?: unknown; expires?: unknown; version?: unknown }; signatures?: unknown };
    version = parsed.signed?.version;
    const valid =
      typeof parsed.signed?._type === 'string' &&
      typeof parsed.signed.expires === 'string' &&
      !Number.isNaN(Date.parse(parsed.signed.expires)) &&
      Number.isSafeInteger(version) &&
      (parsed.signatures === undefined || parsed.signatures === null || Array.isArray(parsed.signatures));
    if (!valid) throw new Error('not TUF metadata');
  } catch {
    throw new NotaryError('MALFORMED_JSON');
  }
  return { role, version: version as number, bytes: content };
}
