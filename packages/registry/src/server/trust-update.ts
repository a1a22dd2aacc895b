import { certificateInfo, type TufPublicKey } from '../trust/keys';
import {
  checkFileMeta,
  DEFAULT_EXPIRY_MS,
  delegationOf,
  expiresIn,
  fileMeta,
  isExpired,
  parentRole,
  parseMetadata,
  pathAllowed,
  serializeMetadata,
  signMetadata,
  verifyMetadata,
  verifyRoot,
  type RootMeta,
  type SnapshotMeta,
  type TargetsMeta,
  type TimestampMeta,
  type TufRole,
} from '../trust/metadata';
import { invalidUpdate, NotaryError } from './trust-errors';
import type { TrustStore, TrustUpdate } from './trust-store';

/**
 * Validate an upload as notary-server's validateUpdate does and return what to store: the
 * root (self-signed by certificates for this GUN and, on rotation, by the old root), the
 * targets and delegations (each against its parent), the snapshot (the client's, checked
 * against what it records, or one the server makes when it holds the snapshot key), and
 * always a new timestamp signed by the server. Refusals are INVALID_UPDATE with notary's
 * serialised validation error. Call inside the store's `exclusive` for the GUN.
 */
export async function validateUpdate(store: TrustStore, gun: string, uploads: TrustUpdate[], now: Date = new Date()): Promise<TrustUpdate[]> {
  const byRole = new Map(uploads.map((u) => [u.role, u]));
  const accepted: TrustUpdate[] = [];
  const stored = await store.current(gun, 'root');
  const storedRoot = stored === undefined ? undefined : parseMetadata<RootMeta>(stored.bytes, 'root').signed;
  const rootUpload = byRole.get('root');
  let root: RootMeta;
  let rootBytes: Buffer;
  if (rootUpload !== undefined) {
    const currentVersion = storedRoot?.version ?? 0;
    if (rootUpload.version !== currentVersion && rootUpload.version !== currentVersion + 1) {
      throw invalidUpdate('ErrBadRoot', `Root modifications must increment the version. Current ${currentVersion}, new ${rootUpload.version}`);
    }
    root = check('ErrBadRoot', () => validRoot(rootUpload.bytes, gun, storedRoot, currentVersion, now));
    rootBytes = rootUpload.bytes;
    accepted.push(rootUpload);
  } else if (storedRoot !== undefined && stored !== undefined) {
    root = storedRoot;
    rootBytes = stored.bytes;
  } else {
    throw invalidUpdate('ErrValidation', 'no pre-existing root and no root provided in update.');
  }

  // Shallower roles first, so a delegation's parent is validated before the delegation.
  const targetsRoles = [...byRole.keys()].filter((r) => r === 'targets' || r.startsWith('targets/')).sort((a, b) => a.split('/').length - b.split('/').length);
  const loaded = new Map<string, TargetsMeta>();
  for (const role of targetsRoles) {
    const upload = byRole.get(role)!;
    const targets = await check('ErrBadTargets', () => validTargets(store, gun, role as TufRole, upload.bytes, root, loaded, now));
    loaded.set(role, targets);
    accepted.push(upload);
  }

  const snapshotUpload = byRole.get('snapshot');
  let snapshot: TrustUpdate;
  if (snapshotUpload !== undefined) {
    check('ErrBadSnapshot', () => {
      const meta = verifyMetadata(parseMetadata<SnapshotMeta>(snapshotUpload.bytes, 'snapshot'), 'snapshot', root.keys, root.roles.snapshot, { minVersion: 1, now });
      for (const [role, bytes] of [['root', rootBytes] as const, ...targetsRoles.map((r) => [r, byRole.get(r)!.bytes] as const)]) {
        const recorded = meta.meta?.[role];
        if (recorded === undefined) throw new Error(`snapshot does not record ${role}`);
        checkFileMeta(bytes, recorded, role);
      }
    });
    snapshot = snapshotUpload;
  } else {
    const changed = [{ role: 'root', bytes: rootBytes }, ...targetsRoles.map((r) => ({ role: r, bytes: byRole.get(r)!.bytes }))];
    snapshot = await generateSnapshot(store, gun, root, changed, now);
  }
  accepted.push(snapshot);
  accepted.push(await generateTimestamp(store, gun, root, snapshot.bytes, now));
  return accepted;
}

/**
 * The current timestamp, made anew (and stored) when it has expired or no longer records the
 * current snapshot — notary-server's GetOrCreateTimestamp. Undefined when the GUN has none.
 * Call inside the store's `exclusive` for the GUN.
 */
export async function freshTimestamp(store: TrustStore, gun: string, now: Date = new Date()): Promise<Buffer | undefined> {
  const current = await store.current(gun, 'timestamp');
  if (current === undefined) return undefined;
  const snapshot = await freshSnapshot(store, gun, now);
  if (snapshot === undefined) return current.bytes;
  const timestamp = parseMetadata<TimestampMeta>(current.bytes, 'timestamp').signed;
  if (!isExpired(timestamp.expires, now) && matches(snapshot, timestamp.meta.snapshot)) return current.bytes;
  const root = await store.current(gun, 'root');
  if (root === undefined) return current.bytes;
  try {
    const update = await generateTimestamp(store, gun, parseMetadata<RootMeta>(root.bytes, 'root').signed, snapshot, now);
    await store.commit(gun, [update]);
    return update.bytes;
  } catch {
    // Without a usable key the stored timestamp is all there is; the client judges its expiry.
    return current.bytes;
  }
}

/** The current snapshot, re-signed first when it expired and the server holds its key. */
export async function freshSnapshot(store: TrustStore, gun: string, now: Date = new Date()): Promise<Buffer | undefined> {
  const current = await store.current(gun, 'snapshot');
  if (current === undefined) return undefined;
  if (!isExpired(parseMetadata<SnapshotMeta>(current.bytes, 'snapshot').signed.expires, now)) return current.bytes;
  const root = await store.current(gun, 'root');
  if (root === undefined) return current.bytes;
  try {
    const update = await generateSnapshot(store, gun, parseMetadata<RootMeta>(root.bytes, 'root').signed, [], now);
    await store.commit(gun, [update]);
    return update.bytes;
  } catch {
    return current.bytes;
  }
}

function validRoot(bytes: Buffer, gun: string, trusted: RootMeta | undefined, minVersion: number, now: Date): RootMeta {
  const meta = parseMetadata<RootMeta>(bytes, 'root');
  const root = verifyRoot(meta, trusted, { minVersion, now });
  // trustpinning.ValidateRoot: only certificates issued to this GUN and valid now may sign a root.
  const certified: Record<string, TufPublicKey> = {};
  for (const id of root.roles.root.keyids) {
    const key = root.keys[id]!;
    if (key.keytype !== 'ecdsa-x509' && key.keytype !== 'rsa-x509') continue;
    const info = certificateInfo(key);
    if (info.commonName === gun && info.notBefore <= now && info.notAfter > now) certified[id] = key;
  }
  if (Object.keys(certified).length === 0) throw new Error(`unable to retrieve valid leaf certificates for ${gun}`);
  verifyMetadata(meta, 'root', certified, root.roles.root, { now });
  return root;
}

async function validTargets(
  store: TrustStore,
  gun: string,
  role: TufRole,
  bytes: Buffer,
  root: RootMeta,
  loaded: Map<string, TargetsMeta>,
  now: Date,
): Promise<TargetsMeta> {
  const meta = parseMetadata<TargetsMeta>(bytes, role);
  let targets: TargetsMeta;
  if (role === 'targets') {
    targets = verifyMetadata(meta, role, root.keys, root.roles.targets, { minVersion: 1, now });
  } else {
    const parentName = parentRole(role as `targets/${string}`);
    let parent = loaded.get(parentName);
    if (parent === undefined) {
      const stored = await store.current(gun, parentName);
      if (stored === undefined) throw new Error(`${role}: its parent ${parentName} does not exist`);
      parent = parseMetadata<TargetsMeta>(stored.bytes, parentName).signed;
      loaded.set(parentName, parent);
    }
    const delegation = delegationOf(parent, role);
    if (delegation === undefined) throw new Error(`${role} is not delegated by ${parentName}`);
    targets = verifyMetadata(meta, role, delegation.keys, delegation.role, { minVersion: 1, now });
    for (const name of Object.keys(targets.targets ?? {})) {
      if (!pathAllowed(delegation.role.paths ?? [], name)) throw new Error(`${role} may not sign ${name}: outside its delegated paths`);
    }
  }
  for (const child of targets.delegations?.roles ?? []) {
    const name = child.name ?? '';
    if (!name.startsWith(`${role}/`) || name.slice(role.length + 1).includes('/')) throw new Error(`${role} delegates ${name}, which is not its direct child`);
    if (!(child.threshold >= 1)) throw new Error(`${name} has a threshold below 1`);
    for (const id of child.keyids ?? []) {
      if (targets.delegations.keys?.[id] === undefined) throw new Error(`${name} names key ${id}, which ${role} does not list`);
    }
  }
  return targets;
}

async function generateSnapshot(store: TrustStore, gun: string, root: RootMeta, changed: { role: string; bytes: Buffer }[], now: Date): Promise<TrustUpdate> {
  const key = await store.serverKey(gun, 'snapshot', false);
  if (key === undefined || !root.roles.snapshot.keyids.includes(key.id) || root.roles.snapshot.threshold > 1) {
    throw invalidUpdate('ErrBadHierarchy', 'no snapshot was included in update and server does not hold current snapshot key for repository', 'snapshot');
  }
  const previous = await store.current(gun, 'snapshot');
  const prior = previous === undefined ? undefined : parseMetadata<SnapshotMeta>(previous.bytes, 'snapshot').signed;
  const meta = { ...(prior?.meta ?? {}) };
  for (const { role, bytes } of changed) meta[role] = fileMeta(bytes);
  for (const role of ['root', 'targets']) {
    if (meta[role] !== undefined) continue;
    const current = await store.current(gun, role);
    if (current === undefined) throw invalidUpdate('ErrBadHierarchy', `the repository has no ${role} metadata to snapshot`, role);
    meta[role] = fileMeta(current.bytes);
  }
  const signed: SnapshotMeta = { _type: 'Snapshot', expires: expiresIn(DEFAULT_EXPIRY_MS.snapshot, now), meta, version: (prior?.version ?? 0) + 1 };
  return { role: 'snapshot', version: signed.version, bytes: serializeMetadata(signMetadata(signed, [key])) };
}

async function generateTimestamp(store: TrustStore, gun: string, root: RootMeta, snapshot: Buffer, now: Date): Promise<TrustUpdate> {
  const key = await store.serverKey(gun, 'timestamp', false);
  if (key === undefined || !root.roles.timestamp.keyids.includes(key.id)) {
    throw invalidUpdate('ErrBadRoot', 'no timestamp keys exist on the server');
  }
  const previous = await store.current(gun, 'timestamp');
  const version = (previous?.version ?? 0) + 1;
  const signed: TimestampMeta = { _type: 'Timestamp', expires: expiresIn(DEFAULT_EXPIRY_MS.timestamp, now), meta: { snapshot: fileMeta(snapshot) }, version };
  return { role: 'timestamp', version, bytes: serializeMetadata(signMetadata(signed, [key])) };
}

function matches(bytes: Buffer, recorded: TimestampMeta['meta']['snapshot']): boolean {
  try {
    checkFileMeta(bytes, recorded, 'snapshot');
    return true;
  } catch {
    return false;
  }
}

/** Run a check, turning any failure but a NotaryError into notary's named validation error. */
function check<T>(name: 'ErrBadRoot' | 'ErrBadTargets' | 'ErrBadSnapshot', fn: () => T): T {
  try {
    const result = fn();
    if (result instanceof Promise) return result.catch((error: unknown) => rethrow(name, error)) as T;
    return result;
  } catch (error) {
    return rethrow(name, error);
  }
}

function rethrow(name: 'ErrBadRoot' | 'ErrBadTargets' | 'ErrBadSnapshot', error: unknown): never {
  if (error instanceof NotaryError) throw error;
  throw invalidUpdate(name, error instanceof Error ? error.message : String(error));
}
