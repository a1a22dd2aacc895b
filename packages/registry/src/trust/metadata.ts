import { createHash, timingSafeEqual } from 'node:crypto';
import { CtrError, type ErrorCode } from '@ctr/errors';
import { canonicalJson } from './canonical-json';
import { keyId, signBytes, verifyBytes, type TufKey, type TufPublicKey } from './keys';

export type BaseRole = 'root' | 'targets' | 'snapshot' | 'timestamp';
export type TufRole = BaseRole | `targets/${string}`;

export interface TufSignature {
  keyid: string;
  method: string;
  /** base64 */
  sig: string;
}

export interface SignedMetadata<T> {
  signed: T;
  signatures: TufSignature[];
}

export interface RoleKeys {
  keyids: string[];
  threshold: number;
}

interface Common {
  expires: string;
  version: number;
}

export interface RootMeta extends Common {
  _type: 'Root';
  consistent_snapshot: boolean;
  keys: Record<string, TufPublicKey>;
  roles: Record<BaseRole, RoleKeys>;
}

/** A target or metadata file's size and digests; hashes are base64, as notary writes them. */
export interface TargetFile {
  hashes: Record<string, string>;
  length: number;
  custom?: unknown;
}

export interface Delegation extends RoleKeys {
  name: string;
  paths: string[];
}

export interface TargetsMeta extends Common {
  _type: 'Targets';
  delegations: { keys: Record<string, TufPublicKey>; roles: Delegation[] };
  targets: Record<string, TargetFile>;
}

export interface SnapshotMeta extends Common {
  _type: 'Snapshot';
  meta: Record<string, TargetFile>;
}

export interface TimestampMeta extends Common {
  _type: 'Timestamp';
  meta: { snapshot: TargetFile };
}

export type AnyMeta = RootMeta | TargetsMeta | SnapshotMeta | TimestampMeta;

/** Why a verification failed, in a refusal's `details.reason`. */
export type TrustFailureReason = 'malformed' | 'type' | 'signature' | 'threshold' | 'expired' | 'version' | 'hash' | 'length' | 'root';

/** Default lifetimes notary gives each role (notary.Notary*Expiry). */
export const DEFAULT_EXPIRY_MS: Readonly<Record<BaseRole, number>> = {
  root: 10 * 365 * 24 * 3600_000,
  targets: 3 * 365 * 24 * 3600_000,
  snapshot: 3 * 365 * 24 * 3600_000,
  timestamp: 14 * 24 * 3600_000,
};

const TYPES: Readonly<Record<BaseRole, AnyMeta['_type']>> = { root: 'Root', targets: 'Targets', snapshot: 'Snapshot', timestamp: 'Timestamp' };
const BASE_ROLES: readonly BaseRole[] = ['root', 'targets', 'snapshot', 'timestamp'];

/** A refusal of metadata, as a CtrError carrying the reason and the role. */
export function trustFailure(reason: TrustFailureReason, role: string, message: string, code: ErrorCode = 'Denied'): CtrError {
  return new CtrError(code, message, { details: { reason, role } });
}

/** notary's data.ValidRole: a base role, or a delegation `targets/<name>[/<name>…]`. */
export function isValidRole(role: string): role is TufRole {
  if ((BASE_ROLES as readonly string[]).includes(role)) return true;
  if (!role.startsWith('targets/') || role.length > 255) return false;
  return role
    .slice('targets/'.length)
    .split('/')
    .every((part) => part !== '' && part !== '.' && part !== '..' && /^[\w.-]+$/.test(part));
}

/** The base role whose `_type` a role's metadata carries (delegations are Targets). */
function typeOf(role: TufRole): AnyMeta['_type'] {
  return role.startsWith('targets/') ? 'Targets' : TYPES[role as BaseRole];
}

/** An expiry `n` ms from now, in the RFC 3339 form Go parses. */
export function expiresIn(ms: number, now: Date = new Date()): string {
  return new Date(now.getTime() + ms).toISOString();
}

/** Sign `signed` with every key (SignWithPrivateKeys): one signature per key. */
export function signMetadata<T>(signed: T, keys: TufKey[]): SignedMetadata<T> {
  const message = canonicalJson(signed);
  const signatures = keys.map((key) => {
    const { method, sig } = signBytes(key, message);
    return { keyid: key.id, method, sig: sig.toString('base64') };
  });
  return { signed, signatures };
}

/**
 * The bytes to store and send: `{"signed":<canonical JSON>,"signatures":[…]}`, the layout
 * notary writes (its data.Signed with the canonical bytes embedded raw).
 */
export function serializeMetadata<T>(meta: SignedMetadata<T>): Buffer {
  const signatures = meta.signatures.map((s) => ({ keyid: s.keyid, method: s.method, sig: s.sig }));
  return Buffer.concat([Buffer.from('{"signed":'), canonicalJson(meta.signed), Buffer.from(`,"signatures":${JSON.stringify(signatures)}}`)]);
}

/** Parse fetched or uploaded bytes into signed metadata, checking the envelope's shape only. */
export function parseMetadata<T = unknown>(bytes: Buffer | string, role: string): SignedMetadata<T> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString());
  } catch (error) {
    throw trustFailure('malformed', role, `the ${role} metadata is not valid JSON: ${(error as Error).message}`, 'InvalidArgument');
  }
  const envelope = value as { signed?: unknown; signatures?: unknown };
  if (!isObject(value) || !isObject(envelope.signed) || !Array.isArray(envelope.signatures)) {
    throw trustFailure('malformed', role, `the ${role} metadata has no "signed" object or no "signatures" list`, 'InvalidArgument');
  }
  for (const s of envelope.signatures as unknown[]) {
    const sig = s as Partial<TufSignature>;
    if (!isObject(s) || typeof sig.keyid !== 'string' || typeof sig.method !== 'string' || typeof sig.sig !== 'string') {
      throw trustFailure('malformed', role, `the ${role} metadata has a malformed signature`, 'InvalidArgument');
    }
  }
  return value as unknown as SignedMetadata<T>;
}

export interface VerifyOptions {
  /** The clock expiry is checked against (default: now). */
  now?: Date;
  /** The lowest acceptable version: the version already trusted (rollback protection). */
  minVersion?: number;
  /** Accept expired metadata (the server keeps serving what it has; a client never sets this). */
  allowExpired?: boolean;
}

/**
 * Verify `meta` as `role`: the shape and `_type`, at least `threshold` valid signatures by
 * distinct keys of `roleKeys` (found in `keys`, whose IDs must match their content), the
 * version not below `minVersion`, and not expired. Returns the signed part; throws a
 * CtrError (details.reason says why) in notary's words otherwise.
 */
export function verifyMetadata<T>(
  meta: SignedMetadata<T>,
  role: TufRole,
  keys: Record<string, TufPublicKey>,
  roleKeys: RoleKeys,
  options: VerifyOptions = {},
): T {
  const signed = checkShape(meta, role);
  verifySignatures(meta, role, keys, roleKeys);
  if (options.minVersion !== undefined && signed.version < options.minVersion) {
    throw trustFailure('version', role, `${role}: version ${signed.version} is lower than current version ${options.minVersion}`, 'Conflict');
  }
  if (!options.allowExpired && isExpired(signed.expires, options.now)) {
    throw trustFailure('expired', role, `${role} expired at ${goTimeText(new Date(signed.expires))}`);
  }
  return meta.signed;
}

/**
 * Verify a root: its structure, signed by its own root role's threshold and, when it
 * replaces `trusted`, also by the threshold of the previous root's root role (a rotation
 * must be approved by the old keys).
 */
export function verifyRoot(meta: SignedMetadata<RootMeta>, trusted?: RootMeta, options: VerifyOptions = {}): RootMeta {
  const root = checkShape(meta, 'root');
  checkRootStructure(root);
  if (trusted !== undefined) verifySignatures(meta, 'root', trusted.keys, trusted.roles.root, 'the previous root');
  return verifyMetadata(meta, 'root', root.keys, root.roles.root, options);
}

/** The keys and threshold for a delegated role, from its parent's metadata; undefined if not delegated there. */
export function delegationOf(parent: TargetsMeta, role: string): { keys: Record<string, TufPublicKey>; role: Delegation } | undefined {
  const delegation = parent.delegations?.roles?.find((r) => r.name === role);
  return delegation === undefined ? undefined : { keys: parent.delegations.keys ?? {}, role: delegation };
}

/** The parent of a delegation (`targets/a/b` → `targets/a`). */
export function parentRole(role: `targets/${string}`): TufRole {
  return role.slice(0, role.lastIndexOf('/')) as TufRole;
}

/** Whether a delegation with `paths` may sign `target` (notary's prefix rule; "" allows all). */
export function pathAllowed(paths: readonly string[], target: string): boolean {
  return paths.some((prefix) => target.startsWith(prefix));
}

/**
 * The delegations `parent` (allowed `parentPaths`) makes that a client may follow, as notary's
 * GetValidDelegations: a valid role name that is the parent's direct child, its paths narrowed
 * to those under one of the parent's (notary's Restrict). Any other is skipped, not fatal.
 */
export function validDelegations(parentName: string, parentPaths: readonly string[], parent: TargetsMeta): Delegation[] {
  const out: Delegation[] = [];
  for (const child of parent.delegations?.roles ?? []) {
    if (typeof child?.name !== 'string' || !isValidRole(child.name) || !child.name.startsWith('targets/') || parentRole(child.name as `targets/${string}`) !== parentName) continue;
    const paths = Array.isArray(child.paths) ? child.paths.filter((p) => typeof p === 'string' && pathAllowed(parentPaths, p)) : [];
    out.push({ ...child, paths });
  }
  return out;
}

/** Length and sha256/sha512 digests of a file, as notary records them. */
export function fileMeta(bytes: Buffer): TargetFile {
  return {
    hashes: {
      sha256: createHash('sha256').update(bytes).digest('base64'),
      sha512: createHash('sha512').update(bytes).digest('base64'),
    },
    length: bytes.length,
  };
}

/**
 * Check bytes against what a parent recorded: the length, and every sha256/sha512 given
 * (at least one must be; data.CheckHashes). Throws DigestMismatch.
 */
export function checkFileMeta(bytes: Buffer, expected: TargetFile, name: string): void {
  if (bytes.length !== expected.length) {
    throw trustFailure('length', name, `${name}: length ${bytes.length} does not match the expected length ${expected.length}`, 'DigestMismatch');
  }
  let checked = 0;
  for (const algorithm of ['sha256', 'sha512'] as const) {
    const want = expected.hashes?.[algorithm];
    if (want === undefined) continue;
    const actual = createHash(algorithm).update(bytes).digest();
    const wanted = Buffer.from(want, 'base64');
    if (wanted.length !== actual.length || !timingSafeEqual(wanted, actual)) {
      throw trustFailure('hash', name, `${algorithm} checksum for ${name} did not match: expected ${wanted.toString('hex')}`, 'DigestMismatch');
    }
    checked += 1;
  }
  if (checked === 0) throw trustFailure('hash', name, `tuf: sha256 checksum required for ${name}`, 'DigestMismatch');
}

function checkShape<T>(meta: SignedMetadata<T>, role: TufRole): T & Common {
  const signed = meta.signed as unknown as Partial<Common & { _type: string }>;
  if (!isObject(signed) || typeof signed.version !== 'number' || typeof signed.expires !== 'string' || Number.isNaN(Date.parse(signed.expires))) {
    throw trustFailure('malformed', role, `the ${role} metadata is missing its version or expiry`, 'InvalidArgument');
  }
  if (signed._type !== typeOf(role)) throw trustFailure('type', role, `${role}: tuf: meta file has wrong type`, 'InvalidArgument');
  return meta.signed as T & Common;
}

function checkRootStructure(root: RootMeta): void {
  if (!isObject(root.keys) || !isObject(root.roles)) throw trustFailure('root', 'root', 'the root metadata has no keys or roles', 'InvalidArgument');
  for (const role of BASE_ROLES) {
    const entry = root.roles[role];
    if (!isObject(entry) || !Array.isArray(entry.keyids) || typeof entry.threshold !== 'number') {
      throw trustFailure('root', 'root', `the root metadata does not define the ${role} role`, 'InvalidArgument');
    }
    if (entry.threshold < 1 || entry.keyids.length < entry.threshold) {
      throw trustFailure('root', 'root', `the ${role} role has a threshold of ${entry.threshold} with ${entry.keyids.length} keys`, 'InvalidArgument');
    }
    for (const id of entry.keyids) {
      if (root.keys[id] === undefined) throw trustFailure('root', 'root', `the ${role} role names key ${id}, which the root does not list`, 'InvalidArgument');
    }
  }
}

function verifySignatures<T>(meta: SignedMetadata<T>, role: TufRole, keys: Record<string, TufPublicKey>, roleKeys: RoleKeys, whose?: string): void {
  if (meta.signatures.length === 0) throw trustFailure('signature', role, `${role}: tuf: data has no signatures`);
  if (!(roleKeys.threshold >= 1)) throw trustFailure('threshold', role, `${role}: valid signatures did not meet threshold`);
  const message = canonicalJson(meta.signed);
  const valid = new Set<string>();
  for (const signature of meta.signatures) {
    if (!roleKeys.keyids.includes(signature.keyid)) continue;
    const key = keys[signature.keyid];
    if (key === undefined) continue;
    if (keyId(key) !== signature.keyid) throw trustFailure('signature', role, `${role}: key ID ${signature.keyid} does not match the content of the key`);
    if (verifyBytes(key, signature.method, Buffer.from(signature.sig, 'base64'), message)) valid.add(signature.keyid);
  }
  if (valid.size < roleKeys.threshold) {
    const by = whose === undefined ? '' : ` of ${whose}`;
    throw trustFailure('threshold', role, `valid signatures did not meet threshold for ${role}${by} (${valid.size} of ${roleKeys.threshold} needed)`);
  }
}

/** Whether metadata expiring at `expires` has expired by `now`. */
export function isExpired(expires: string, now: Date = new Date()): boolean {
  return Date.parse(expires) < now.getTime();
}

/** Go's "Mon Jan 2 15:04:05 MST 2006" in UTC, as notary's ErrExpired prints it. */
function goTimeText(date: Date): string {
  const [weekday, day, month, year, clock] = date.toUTCString().replace(',', '').split(' ') as [string, string, string, string, string];
  return `${weekday} ${month} ${Number(day)} ${clock} UTC ${year}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
