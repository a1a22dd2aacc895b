import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import { CtrError, isCtrError, invalidArgument } from '@ctr/errors';
import type { CredentialSource } from '../authorizer';
import { isInsecureRegistryLiteral } from '../endpoint';
import { readAtMost } from '../byte-streams';
import { RegistryHttp } from '../registry-http';
import { trustingConnector } from '../trusting-connector';
import { canonicalKeyId, certificateInfo, certifiedRootKey, generateKey, keyId, tufKey, tufKeyFromPrivate, type TufKey, type TufPublicKey } from './keys';
import { TrustKeyStore } from './keystore';
import {
  checkFileMeta,
  DEFAULT_EXPIRY_MS,
  expiresIn,
  isExpired,
  parseMetadata,
  pathAllowed,
  serializeMetadata,
  signMetadata,
  validDelegations,
  verifyMetadata,
  verifyRoot,
  type Delegation,
  type RoleKeys,
  type RootMeta,
  type SignedMetadata,
  type SnapshotMeta,
  type TargetFile,
  type TargetsMeta,
  type TimestampMeta,
  type TrustFailureReason,
  type TufRole,
} from './metadata';

/** Where Docker Hub's signatures live (docker's trust.NotaryServer). */
export const NOTARY_SERVER = 'https://notary.docker.io';

/**
 * docker's trust.Server: DOCKER_CONTENT_TRUST_SERVER (HTTPS only), else notary.docker.io for
 * Docker Hub, else the registry's own host over HTTPS.
 */
export function trustServer(registry: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = env.DOCKER_CONTENT_TRUST_SERVER;
  if (given) {
    let url: URL | undefined;
    try {
      url = new URL(given);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') throw invalidArgument(`valid https URL required for trust server, got ${given}`);
    return given.replace(/\/+$/, '');
  }
  return registry === 'docker.io' ? NOTARY_SERVER : `https://${registry}`;
}

/**
 * Whether docker checks the trust server's certificate: only for a secure registry index.
 * Loopback registries (and those configured insecure) are not, so docker skips verification;
 * docker.io's (notary.docker.io) always is, as docker keeps the official index secure.
 */
export function trustServerVerified(registry: string, insecureRegistries: readonly string[] = []): boolean {
  return !isInsecureRegistryLiteral(registry, insecureRegistries);
}

/** notary.MaxDownloadSize: the most a client reads of metadata whose size nothing has listed (root, keys). */
const MAX_DOWNLOAD_SIZE = 100 << 20;
/** notary.MaxTimestampSize. */
const MAX_TIMESTAMP_SIZE = 1 << 20;

/** The role docker publishes releases to besides `targets`. */
export const RELEASES_ROLE = 'targets/releases';

/** A signed tag: the manifest digest and size, and the role that signed it. */
export interface TrustTarget {
  name: string;
  /** `sha256:…` */
  digest: string;
  size: number;
  role: string;
}

/** A target as one role signed it, with the keys whose signatures it carries (notary's TargetSignedStruct). */
export interface SignedTarget extends TrustTarget {
  signatureKeyIds: string[];
}

/** A role and the keys that may sign it (root, targets, snapshot, timestamp or a delegation). */
export interface TrustRole {
  name: string;
  keyIds: string[];
  threshold: number;
}

export interface TrustClientOptions {
  /** The repository's globally unique name: `127.0.0.1:5000/app`, `docker.io/library/busybox`. */
  gun: string;
  /** The registry host the GUN names (its credentials also open the trust server). */
  registry: string;
  /** The trust server's base URL (`trustServer`). */
  server: string;
  /** docker's trust directory (`dockerTrustDirectory`): pinned metadata under `tuf/<gun>/metadata`. */
  trustDirectory: string;
  keys: TrustKeyStore;
  credentials?: CredentialSource;
  /** Check the server's certificate (`trustServerVerified`). */
  verifyCertificate?: boolean;
  /** The clock metadata expiry is judged by (tests). */
  now?: () => Date;
  userAgent?: string;
}

/** Verified metadata of one repository, as notary's client builds it from timestamp down. */
interface Verified {
  root: SignedMetadata<RootMeta>;
  rootBytes: Buffer;
  snapshot: SnapshotMeta;
  targets: SignedMetadata<TargetsMeta>;
  /** Every delegation with metadata, parents before children. */
  delegations: Map<string, { meta: SignedMetadata<TargetsMeta>; role: Delegation }>;
}

/** A root and the bytes it was read from (its pin). */
interface PinnedRoot {
  meta: SignedMetadata<RootMeta>;
  bytes: Buffer;
}

/** A failure of notary's kind, in docker's words (trust.NotaryError). */
type Trouble = 'not-exist' | 'missing' | 'expired' | 'mismatch' | 'threshold' | 'low-version' | 'network';

function notaryError(kind: Trouble, gun: string, reason: string, cause?: unknown): CtrError {
  const options = { details: { trust: kind, gun, reason }, ...(cause === undefined ? {} : { cause }) };
  switch (kind) {
    case 'not-exist':
      return new CtrError('NotFound', `Error: remote trust data does not exist for ${gun}: ${reason}`, options);
    case 'missing':
      return new CtrError('NotFound', `Error: trust data missing for remote repository ${gun} or remote repository not found: ${reason}`, options);
    case 'expired':
      return new CtrError('Unavailable', `Error: remote repository ${gun} out-of-date: ${reason}`, options);
    case 'threshold':
      return new CtrError('DigestMismatch', `Warning: potential malicious behavior - trust data has insufficient signatures for remote repository ${gun}: ${reason}`, options);
    case 'low-version':
      return new CtrError('DigestMismatch', `Warning: potential malicious behavior - trust data version is lower than expected for remote repository ${gun}: ${reason}`, options);
    case 'network':
      return new CtrError('Unavailable', `Error: error contacting notary server: ${reason}`, options);
    default:
      return new CtrError('DigestMismatch', `Warning: potential malicious behavior - trust data mismatch for remote repository ${gun}: ${reason}`, options);
  }
}

/** docker's reading of a verification failure (NotaryError's cases). */
const BY_REASON: Partial<Record<TrustFailureReason, Trouble>> = { expired: 'expired', threshold: 'threshold', signature: 'threshold', version: 'low-version' };

/** What kind of trust failure an error is, when it is one (else undefined). */
export function trustProblem(error: unknown): Trouble | undefined {
  return isCtrError(error) ? (error.details.trust as Trouble | undefined) : undefined;
}

/**
 * docker's NotaryError(name, err) naming the repository as `name` where docker's command does
 * so with what the user typed (`trust signer add`): the same failure, another name. Anything
 * that is no trust failure comes back as it was.
 */
export function trustErrorNaming(error: unknown, name: string): unknown {
  const kind = trustProblem(error);
  const reason = isCtrError(error) ? error.details.reason : undefined;
  return kind === undefined || typeof reason !== 'string' ? error : notaryError(kind, name, reason, error);
}

/** notary's own words for a failure, without NotaryError's prefix: what docker prints where it wraps the error itself (`trust revoke`). */
export function trustReason(error: unknown): string {
  const reason = trustProblem(error) === undefined || !isCtrError(error) ? undefined : error.details.reason;
  if (typeof reason === 'string') return reason;
  return error instanceof Error ? error.message : String(error);
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const hexOf = (file: TargetFile): string | undefined => (file.hashes.sha256 === undefined ? undefined : Buffer.from(file.hashes.sha256, 'base64').toString('hex'));

/**
 * notary's data.IsDelegation for the role docker makes of a signer name: `targets/` and one name
 * of lowercase ASCII letters, digits, '-' and '_' (notary's `^[-a-z0-9_/]+$`, so neither `Alice`
 * nor `é` is a delegation). notary would take `targets/a/b` too, but docker signs
 * only into direct children of targets, so a nested name could never sign; it is refused with the rest.
 */
function isSignerRole(role: string): role is `targets/${string}` {
  return role.length < 256 && /^targets\/[-a-z0-9_]+$/.test(role);
}

/**
 * The delegation role of `signer`, the one name its delegation, key and messages are all derived
 * from. docker path.Joins `targets` and the name, which would quietly turn `a/../b` or
 * `z/a\n…/..` into some other role; the name is instead taken whole and refused unless it is the
 * role's single segment (an empty name still reads `targets`, as path.Join spells it in docker's error).
 */
function signerRole(signer: string): `targets/${string}` {
  const role = signer === '' ? 'targets' : `targets/${signer}`;
  if (isSignerRole(role)) return role;
  // A line break in the name would otherwise forge lines of the error itself.
  const shown = (text: string): string => (/[\x00-\x1f\x7f-\x9f]/.test(text) ? JSON.stringify(text) : text);
  throw invalidArgument(`could not add signer to repo: ${shown(role.replace(/^targets\//, ''))}: tuf: invalid role ${shown(role)}. invalid delegation role name`);
}

/** docker's addStagedSigner: the signer's `role` and targets/releases, each given `keys`, for every path. */
function withSigner(meta: TargetsMeta, signer: `targets/${string}`, keys: readonly TufPublicKey[]): TargetsMeta {
  for (const name of [signer, RELEASES_ROLE]) {
    let role = meta.delegations.roles.find((r) => r.name === name);
    if (!role) {
      role = { name, keyids: [], threshold: 1, paths: [''] };
      meta.delegations.roles.push(role);
    }
    for (const key of keys) {
      const id = keyId(key);
      meta.delegations.keys[id] = key;
      if (!role.keyids.includes(id)) role.keyids.push(id);
    }
  }
  return meta;
}

/** The digest a target names (docker's convertTarget: its sha256). */
function targetOf(name: string, file: TargetFile, role: string): TrustTarget | undefined {
  const hex = hexOf(file);
  return hex === undefined ? undefined : { name, digest: `sha256:${hex}`, size: file.length, role };
}

/**
 * A Notary (TUF) client for one repository on one trust server, as docker's CLI uses notary:
 * it fetches the chain timestamp → snapshot → targets → delegations, verifies each against
 * the root pinned on first use (`<trust dir>/tuf/<gun>/metadata/root.json`), follows root
 * rotations, resolves and lists signed tags, and signs them (initializing the repository
 * with a root key, a targets key and the server's snapshot key when it has no trust data).
 */
export class TrustClient {
  readonly gun: string;
  private readonly http: RegistryHttp;
  private readonly base: URL;
  private readonly cacheDir: string;
  private readonly now: () => Date;
  private verified: Verified | undefined;

  constructor(private readonly options: TrustClientOptions) {
    this.gun = options.gun;
    this.base = new URL(`${options.server.replace(/\/+$/, '')}/v2/${options.gun}/_trust/tuf/`);
    this.cacheDir = path.join(options.trustDirectory, 'tuf', ...options.gun.split('/'), 'metadata');
    this.now = options.now ?? (() => new Date());
    const connect = options.verifyCertificate === false ? { rejectUnauthorized: false } : trustingConnector();
    // docker's transport: no keep-alive, credentials of the registry the GUN names.
    this.http = new RegistryHttp(options.credentials ?? (async () => undefined), { userAgent: options.userAgent ?? 'ctr/0.1' }, new Agent({ connect, pipelining: 0 }));
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** The tag's signed target: targets/releases first, then targets (docker's GetTargetByName). */
  async target(tag: string): Promise<TrustTarget> {
    const state = await this.update();
    for (const role of [RELEASES_ROLE, 'targets']) {
      const file = this.roleTargets(state, role)?.targets[tag];
      const target = file && targetOf(tag, file, role);
      if (target) return target;
    }
    throw new CtrError('NotFound', `No valid trust data for ${tag}`, { details: { trust: 'no-target', gun: this.gun } });
  }

  /** Every tag signed into targets/releases or targets (releases win), as `docker pull -a` takes them. */
  async releasedTargets(): Promise<TrustTarget[]> {
    const state = await this.update();
    const found = new Map<string, TrustTarget>();
    for (const role of [RELEASES_ROLE, 'targets']) {
      for (const [name, file] of Object.entries(this.roleTargets(state, role)?.targets ?? {})) {
        const target = targetOf(name, file, role);
        if (target && !found.has(name)) found.set(name, target);
      }
    }
    if (found.size === 0) throw new CtrError('NotFound', `No trusted tags for ${this.gun}`, { details: { trust: 'no-target', gun: this.gun } });
    return [...found.values()];
  }

  /** The targets named `tag` (every one without it) in every role, with their signers' key IDs (inspect). */
  async signedTargets(tag?: string): Promise<SignedTarget[]> {
    const state = await this.update();
    const out: SignedTarget[] = [];
    const roles: [string, SignedMetadata<TargetsMeta>][] = [['targets', state.targets], ...[...state.delegations].map(([name, d]): [string, SignedMetadata<TargetsMeta>] => [name, d.meta])];
    for (const [role, meta] of roles) {
      for (const [name, file] of Object.entries(meta.signed.targets)) {
        if (tag !== undefined && tag !== '' && name !== tag) continue;
        const target = targetOf(name, file, role);
        if (target) out.push({ ...target, signatureKeyIds: meta.signatures.map((s) => s.keyid) });
      }
    }
    return out;
  }

  /** The base roles with their keys (notary's ListRoles) and the delegations (GetDelegationRoles). */
  async roles(): Promise<{ base: TrustRole[]; delegations: TrustRole[] }> {
    const state = await this.update();
    const base = (['root', 'targets', 'snapshot', 'timestamp'] as const).map((name) => ({ name, keyIds: state.root.signed.roles[name].keyids, threshold: state.root.signed.roles[name].threshold }));
    const delegations: TrustRole[] = [];
    const walk = (name: string, paths: readonly string[], meta: TargetsMeta): void => {
      for (const role of validDelegations(name, paths, meta)) {
        delegations.push({ name: role.name, keyIds: role.keyids, threshold: role.threshold });
        const child = state.delegations.get(role.name);
        if (child) walk(role.name, role.paths, child.meta.signed);
      }
    };
    walk('targets', [''], state.targets.signed);
    return { base, delegations };
  }

  /**
   * Sign `target` (docker's PushTrustedReference): into every role we hold a key for, or —
   * for a repository without trust data — after initializing it (`onInitialized` is told
   * between the two, where docker prints "Finished initializing").
   */
  async sign(target: { name: string; digest: string; size: number }, onInitialized?: () => void): Promise<void> {
    const file: TargetFile = { hashes: { sha256: Buffer.from(target.digest.replace(/^sha256:/, ''), 'hex').toString('base64') }, length: target.size };
    const state = await this.updateOrUninitialized();
    if (state === undefined) {
      const { root, targets, targetsKey } = await this.initialize();
      onInitialized?.();
      targets.targets[target.name] = file;
      await this.publish({ root: signMetadata(root.signed, [root.key]), targets: signMetadata(targets, [targetsKey]) });
      return;
    }
    const changed: Record<string, SignedMetadata<unknown>> = {};
    for (const { role, meta, key } of await this.signableRoles(state, target.name)) {
      changed[role] = this.resigned({ ...meta, targets: { ...meta.targets, [target.name]: file } }, key);
    }
    await this.publish(changed);
  }

  /** Remove `tag` (every tag without it) from the roles we can sign (docker trust revoke). */
  async revoke(tag?: string): Promise<void> {
    const state = await this.update();
    const changed: Record<string, SignedMetadata<unknown>> = {};
    for (const { role, meta, key } of await this.signableRoles(state, tag ?? '')) {
      const targets = tag === undefined ? {} : Object.fromEntries(Object.entries(meta.targets).filter(([name]) => name !== tag));
      if (Object.keys(targets).length !== Object.keys(meta.targets).length) changed[role] = this.resigned({ ...meta, targets }, key);
    }
    if (Object.keys(changed).length > 0) await this.publish(changed);
  }

  /**
   * Add `signer` (`targets/<name>`, and its keys to targets/releases) with `keys`, as
   * `docker trust signer add` does; a repository without trust data is initialized first.
   * Resolves to whether it had to initialize.
   */
  async addSigner(signer: string, keys: readonly TufPublicKey[], onInitializing?: () => void): Promise<boolean> {
    const role = signerRole(signer);
    let state = await this.updateOrUninitialized();
    let initialized = false;
    if (state === undefined) {
      onInitializing?.();
      const { root, targets, targetsKey } = await this.initialize();
      await this.publish({ root: signMetadata(root.signed, [root.key]), targets: signMetadata(targets, [targetsKey]) });
      this.verified = undefined;
      state = await this.update();
      initialized = true;
    }
    const targetsKey = await this.roleKey(state.root.signed.roles.targets.keyids, 'targets');
    await this.publish({ targets: this.resigned(withSigner(structuredClone(state.targets.signed), role, keys), targetsKey) });
    return initialized;
  }

  /** Whether the server has trust data for the repository (docker's ListTargets not failing as ErrRepositoryNotExist). */
  async initialized(): Promise<boolean> {
    return (await this.updateOrUninitialized()) !== undefined;
  }

  /**
   * Initialize a repository without trust data with a signer (docker trust sign's
   * initNotaryRepoWithSigners), published at once: the root and targets `sign` would make, and
   * `targets/<signer>` and targets/releases delegated to the signer's key — the first one the
   * store holds for the role `signer`, else a new one made for it (getOrGenerateNotaryKey).
   * A name notary cannot make a delegation of (docker's empty one of a user not logged in), or
   * one that is not a single name, is refused as docker refuses it, before any key is made.
   * Resolves to the signer's role.
   */
  async initializeWithSigner(signer: string): Promise<`targets/${string}`> {
    const role = signerRole(signer);
    const keyRole = role.slice('targets/'.length);
    const { root, targets, targetsKey } = await this.initialize();
    const keys = this.options.keys;
    const [held] = await keys.idsFor(keyRole);
    const signerKey = held === undefined ? generateKey() : tufKeyFromPrivate(await keys.load(held));
    if (held === undefined) await keys.add(signerKey.privateKey, keyRole);
    await this.publish({ root: signMetadata(root.signed, [root.key]), targets: signMetadata(withSigner(targets, role, [signerKey.public]), [targetsKey]) });
    return role;
  }

  /**
   * Remove `signer`'s role, and its keys from targets/releases (docker trust signer remove).
   * Resolves to false when the repository has no such signer.
   */
  async removeSigner(signer: string): Promise<boolean> {
    const state = await this.update();
    const meta = structuredClone(state.targets.signed);
    const role = meta.delegations.roles.find((r) => r.name === `targets/${signer}`);
    if (!role) return false;
    meta.delegations.roles = meta.delegations.roles.filter((r) => r !== role);
    const releases = meta.delegations.roles.find((r) => r.name === RELEASES_ROLE);
    if (releases) releases.keyids = releases.keyids.filter((id) => !role.keyids.includes(id));
    const used = new Set(meta.delegations.roles.flatMap((r) => r.keyids));
    for (const id of Object.keys(meta.delegations.keys)) if (!used.has(id)) delete meta.delegations.keys[id];
    const targetsKey = await this.roleKey(state.root.signed.roles.targets.keyids, 'targets');
    await this.publish({ targets: this.resigned(meta, targetsKey) });
    return true;
  }

  /** A role's threshold and the keys its current metadata is signed with; undefined when it has none. */
  async roleSignatures(role: string): Promise<{ threshold: number; signatureKeyIds: string[] } | undefined> {
    const state = await this.update();
    const delegation = state.delegations.get(role);
    if (delegation === undefined) return undefined;
    return { threshold: delegation.role.threshold, signatureKeyIds: delegation.meta.signatures.map((s) => s.keyid) };
  }

  /** Fetch and verify the repository's metadata (once per client). */
  async update(): Promise<Verified> {
    this.verified ??= await this.fetchVerified();
    return this.verified;
  }

  /** The verified metadata, or undefined when the server has no trust data for the GUN. */
  private async updateOrUninitialized(): Promise<Verified | undefined> {
    try {
      return await this.update();
    } catch (error) {
      if (trustProblem(error) === 'not-exist') return undefined;
      throw error;
    }
  }

  private roleTargets(state: Verified, role: string): TargetsMeta | undefined {
    return role === 'targets' ? state.targets.signed : state.delegations.get(role)?.meta.signed;
  }

  private async fetchVerified(): Promise<Verified> {
    const pin = await this.pinnedRoot();
    let root: PinnedRoot;
    if (pin === undefined) {
      root = this.trustOnFirstUse(await this.serverRoot());
    } else if (isExpired(pin.meta.signed.expires, this.now())) {
      // notary's bootstrapClient: an expired pin still decides which root may follow it, never trust on first use.
      const latest = await this.serverRoot();
      root = latest.equals(pin.bytes) ? this.selfSignedRoot(latest) : await this.rotated(pin, latest);
    } else {
      root = pin;
    }
    try {
      return await this.chain(root);
    } catch (error) {
      // A rotated timestamp, snapshot or targets key fails against the pinned root: look for a newer root once.
      const kind = trustProblem(error);
      if (kind !== 'threshold' && kind !== 'mismatch') throw error;
      const latest = await this.fetch('root', MAX_DOWNLOAD_SIZE);
      if (latest === undefined || latest.equals(root.bytes)) throw error;
      return this.chain(await this.rotated(root, latest));
    }
  }

  /** The server's current root.json. */
  private async serverRoot(): Promise<Buffer> {
    const bytes = await this.fetch('root', MAX_DOWNLOAD_SIZE);
    if (bytes === undefined) throw notaryError('not-exist', this.gun, `${new URL(this.options.server).host} does not have trust data for ${this.gun}`);
    return bytes;
  }

  /** Verify the chain under `root`; a snapshot naming another root rotates to it first. */
  private async chain(root: PinnedRoot, rotations = 0): Promise<Verified> {
    const signedRoot = root.meta.signed;
    const timestampBytes = await this.fetch('timestamp', MAX_TIMESTAMP_SIZE);
    if (timestampBytes === undefined) throw notaryError('missing', this.gun, `timestamp trust data unavailable.  Has a notary repository been initialized?`);
    const cachedTimestamp = await this.cached('timestamp');
    const timestamp = this.verify<TimestampMeta>(timestampBytes, 'timestamp', signedRoot.keys, signedRoot.roles.timestamp, cachedTimestamp);
    const snapshotBytes = await this.fetchListed('snapshot', timestamp.meta.snapshot);
    const snapshot = this.verify<SnapshotMeta>(snapshotBytes, 'snapshot', signedRoot.keys, signedRoot.roles.snapshot, await this.cached('snapshot'));
    const listedRoot = snapshot.meta.root;
    if (listedRoot !== undefined && hexOf(listedRoot) !== sha256(root.bytes)) {
      if (rotations > 0) throw notaryError('mismatch', this.gun, 'the snapshot names a root that the server does not serve');
      const newer = await this.fetchListed('root', listedRoot);
      return this.chain(await this.rotated(root, newer), rotations + 1);
    }
    const targetsBytes = await this.fetchListed('targets', this.listed(snapshot, 'targets'));
    const targets = this.verifiedSigned<TargetsMeta>(targetsBytes, 'targets', signedRoot.keys, signedRoot.roles.targets, await this.cached('targets'));
    const delegations = new Map<string, { meta: SignedMetadata<TargetsMeta>; role: Delegation }>();
    const files: Record<string, Buffer> = { timestamp: timestampBytes, snapshot: snapshotBytes, targets: targetsBytes };
    // Only valid direct children, within their parent's paths: a name is a cache path and a URL.
    const queue: { parent: TargetsMeta; role: Delegation }[] = validDelegations('targets', [''], targets.signed).map((role) => ({ parent: targets.signed, role }));
    while (queue.length > 0) {
      const { parent, role } = queue.shift() as { parent: TargetsMeta; role: Delegation };
      const listed = snapshot.meta[role.name];
      // A delegation nobody has signed into yet has no metadata.
      if (listed === undefined || delegations.has(role.name)) continue;
      const bytes = await this.fetchListed(role.name, listed);
      let meta: SignedMetadata<TargetsMeta>;
      try {
        meta = this.verifiedSigned<TargetsMeta>(bytes, role.name, parent.delegations.keys, role, await this.cached(role.name));
      } catch (error) {
        // As notary's client: a delegation short of signatures or expired is skipped, not fatal (a removed signer's role).
        if (trustProblem(error) === 'threshold' || trustProblem(error) === 'expired') continue;
        throw error;
      }
      // Only the names its paths allow count (notary drops the others).
      meta.signed.targets = Object.fromEntries(Object.entries(meta.signed.targets).filter(([name]) => pathAllowed(role.paths, name)));
      delegations.set(role.name, { meta, role });
      files[role.name] = bytes;
      for (const child of validDelegations(role.name, role.paths, meta.signed)) queue.push({ parent: meta.signed, role: child });
    }
    await this.remember({ root: root.bytes, ...files });
    return { root: root.meta, rootBytes: root.bytes, snapshot, targets, delegations };
  }

  private listed(snapshot: SnapshotMeta, role: string): TargetFile {
    const file = snapshot.meta[role];
    if (file === undefined) throw notaryError('missing', this.gun, `the snapshot does not list ${role}`);
    return file;
  }

  /**
   * The root pinned by an earlier use, if any. It is the trust anchor, so as notary's
   * bootstrapClient it must load (self-signed, expiry allowed) or the update fails: falling
   * back to the server's root would let any server replace the keys.
   */
  private async pinnedRoot(): Promise<PinnedRoot | undefined> {
    const file = this.cacheFile('root');
    const unusable = (error: unknown): CtrError =>
      notaryError('mismatch', this.gun, `could not load the pinned root ${file}: ${(error as Error).message} (remove ${this.cacheDir} to trust the server's root again)`, error);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unusable(error);
    }
    try {
      const meta = parseMetadata<RootMeta>(bytes, 'root');
      verifyRoot(meta, undefined, { allowExpired: true });
      return { meta, bytes };
    } catch (error) {
      throw unusable(error);
    }
  }

  /** A root seen for the first time: self-signed, by certificates made out to this GUN (notary's TOFU pinning). */
  private trustOnFirstUse(bytes: Buffer): PinnedRoot {
    const root = this.selfSignedRoot(bytes);
    try {
      this.leafCertified(root.meta, true);
    } catch (error) {
      throw notaryError('mismatch', this.gun, `could not validate the path to a trusted root: ${(error as Error).message}`, error);
    }
    return root;
  }

  /**
   * notary's ValidateRoot: only root keys that are leaf certificates for this GUN (in date, when
   * `inDate`) count, and a threshold of them must have signed; a plain key counts for nothing.
   */
  private leafCertified(meta: SignedMetadata<RootMeta>, inDate: boolean): void {
    const root = meta.signed;
    const now = this.now();
    const certified = root.roles.root.keyids.filter((id) => {
      const key = root.keys[id];
      if (key === undefined || !key.keytype.endsWith('-x509')) return false;
      try {
        const cert = certificateInfo(key);
        return cert.commonName === this.gun && (!inDate || (now >= cert.notBefore && now <= cert.notAfter));
      } catch {
        return false;
      }
    });
    if (certified.length === 0) throw new Error(`unable to retrieve valid leaf certificates for ${this.gun}`);
    verifyMetadata(meta, 'root', root.keys, { keyids: certified, threshold: root.roles.root.threshold }, { allowExpired: true });
  }

  private selfSignedRoot(bytes: Buffer): PinnedRoot {
    const meta = this.parse<RootMeta>(bytes, 'root');
    this.checked(() => verifyRoot(meta, undefined, { now: this.now() }), 'root');
    return { meta, bytes };
  }

  /**
   * A new root (notary's rotation): signed by a threshold of the previous root's keys and of its
   * own, with a higher version. A client that missed rotations walks them as notary's does: each
   * version between the trusted one and the newest, fetched by version (`<n>.root.json`), must
   * be signed so by the one before it.
   */
  private async rotated(old: PinnedRoot, bytes: Buffer): Promise<PinnedRoot> {
    const meta = this.parse<RootMeta>(bytes, 'root');
    try {
      let trusted = old.meta.signed;
      for (let version = trusted.version + 1; version < meta.signed.version; version++) {
        const between = await this.fetch(`${version}.root`, MAX_DOWNLOAD_SIZE);
        if (between === undefined) throw new Error(`root version ${version} is not on the server`);
        const intermediate = this.parse<RootMeta>(between, 'root');
        if (intermediate.signed.version !== version) throw new Error(`root version ${version} is version ${intermediate.signed.version}`);
        // notary's LoadRootForUpdate: a root on the way to the newest may have expired since.
        trusted = verifyRoot(intermediate, trusted, { allowExpired: true, minVersion: trusted.version });
        this.leafCertified(intermediate, false);
      }
      verifyRoot(meta, trusted, { now: this.now(), minVersion: trusted.version });
      this.leafCertified(meta, true);
    } catch (error) {
      throw notaryError('mismatch', this.gun, `could not rotate trust to a new trusted root: ${(error as Error).message}`, error);
    }
    await this.remember({ root: bytes });
    return { meta, bytes };
  }

  private verify<T>(bytes: Buffer, role: string, keys: Record<string, TufPublicKey>, roleKeys: RoleKeys, cached: Buffer | undefined): T {
    return this.verifiedSigned<T>(bytes, role, keys, roleKeys, cached).signed;
  }

  private verifiedSigned<T>(bytes: Buffer, role: string, keys: Record<string, TufPublicKey>, roleKeys: RoleKeys, cached: Buffer | undefined): SignedMetadata<T> {
    const meta = this.parse<T>(bytes, role);
    // A version below the one seen before is a rollback (notary's ErrLowVersion).
    let minVersion: number | undefined;
    try {
      minVersion = cached === undefined ? undefined : (JSON.parse(cached.toString('utf8')) as SignedMetadata<{ version: number }>).signed.version;
    } catch {
      minVersion = undefined;
    }
    this.checked(() => verifyMetadata(meta, role as TufRole, keys, roleKeys, { now: this.now(), ...(minVersion === undefined ? {} : { minVersion }) }), role);
    return meta;
  }

  /** Run a verification, its failure said as docker says it (expired, too few signatures, rollback, mismatch). */
  private checked(verification: () => unknown, role: string): void {
    try {
      verification();
    } catch (error) {
      if (!isCtrError(error)) throw error;
      const kind = BY_REASON[error.details.reason as TrustFailureReason] ?? 'mismatch';
      throw notaryError(kind, this.gun, kind === 'threshold' && error.details.reason !== 'threshold' ? `valid signatures did not meet threshold for ${role}` : error.message, error);
    }
  }

  private parse<T>(bytes: Buffer, role: string): SignedMetadata<T> {
    try {
      return parseMetadata<T>(bytes, role);
    } catch (error) {
      throw notaryError('mismatch', this.gun, (error as Error).message, error);
    }
  }

  /** GET `<role>.json`, refused past `limit` bytes (undefined when the server has none). */
  private async fetch(name: string, limit: number): Promise<Buffer | undefined> {
    const response = await this.request('GET', `${name}.json`, [200, 404]);
    const body = await this.bytesOf(response.body, limit, `${name}.json`);
    return response.status === 404 ? undefined : body;
  }

  /** GET the version of `role` that `listed` describes, by its checksum, and check that it is that one. */
  private async fetchListed(role: string, listed: TargetFile): Promise<Buffer> {
    if (!Number.isSafeInteger(listed.length) || listed.length < 0) throw notaryError('mismatch', this.gun, `${role}: the listed length ${String(listed.length)} is not a size`);
    const hex = hexOf(listed);
    const bytes = await this.fetch(hex === undefined ? role : `${role}.${hex}`, listed.length);
    if (bytes === undefined) throw notaryError('missing', this.gun, `${role} trust data unavailable`);
    try {
      checkFileMeta(bytes, listed, role);
    } catch (error) {
      throw notaryError('mismatch', this.gun, (error as Error).message, error);
    }
    return bytes;
  }

  private async request(method: 'GET' | 'POST' | 'DELETE', relative: string, ok: number[], body?: { bytes: Buffer; type: string }): Promise<{ status: number; body: Readable }> {
    const url = new URL(relative, this.base);
    // The registry's credentials go with every request: never anywhere but this repository's trust data.
    if (url.origin !== this.base.origin || !url.pathname.startsWith(this.base.pathname)) {
      throw notaryError('mismatch', this.gun, `refusing to fetch ${url.href}: it is outside the trust server's ${this.base.href}`);
    }
    try {
      const response = await this.http.send({
        endpoint: { registry: this.options.registry, origin: url.origin, mirror: false },
        method,
        target: url,
        ...(body ? { body: body.bytes, headers: { 'content-type': body.type } } : {}),
        scopes: [`repository:${this.gun}:${method === 'GET' ? 'pull' : 'push,pull'}`],
        ok,
        context: { registry: this.options.registry, subject: `trust data for ${this.gun}` },
      });
      return { status: response.status, body: response.body };
    } catch (error) {
      if (isCtrError(error) && error.code === 'Unavailable' && error.details.status === undefined) throw notaryError('network', this.gun, error.message, error);
      throw error;
    }
  }

  /** Metadata verified: kept where notary's client caches it, the root as the pin for next time. */
  private async remember(files: Record<string, Buffer>): Promise<void> {
    for (const [role, bytes] of Object.entries(files)) {
      const file = this.cacheFile(role);
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await fs.writeFile(file, bytes, { mode: 0o600 });
    }
  }

  private cached(role: string): Promise<Buffer | undefined> {
    return fs.readFile(this.cacheFile(role)).catch(() => undefined);
  }

  private cacheFile(role: string): string {
    const file = path.resolve(this.cacheDir, ...`${role}.json`.split('/'));
    if (!file.startsWith(path.resolve(this.cacheDir) + path.sep)) {
      throw notaryError('mismatch', this.gun, `refusing the role ${JSON.stringify(role)}: its cache file would be outside ${this.cacheDir}`);
    }
    return file;
  }

  /**
   * A new repository's root and targets (notary's Initialize with a server-managed snapshot):
   * the first root key in the store (or a new one), a new targets key, the server's snapshot
   * and timestamp keys.
   */
  private async initialize(): Promise<{ root: { signed: RootMeta; key: TufKey }; targets: TargetsMeta; targetsKey: TufKey }> {
    const keys = this.options.keys;
    const [rootId] = await keys.idsFor('root');
    const rootKey = rootId === undefined ? generateKey() : tufKeyFromPrivate(await keys.load(rootId));
    if (rootId === undefined) await keys.add(rootKey.privateKey, 'root');
    const certified = certifiedRootKey(rootKey, this.gun);
    const targetsKey = generateKey();
    await keys.add(targetsKey.privateKey, 'targets', this.gun);
    const snapshotKey = await this.serverKey('snapshot');
    const timestampKey = await this.serverKey('timestamp');
    const now = this.now();
    const roleOf = (id: string): RoleKeys => ({ keyids: [id], threshold: 1 });
    const root: RootMeta = {
      _type: 'Root',
      consistent_snapshot: false,
      expires: expiresIn(DEFAULT_EXPIRY_MS.root, now),
      keys: { [certified.id]: certified.public, [targetsKey.id]: targetsKey.public, [keyId(snapshotKey)]: snapshotKey, [keyId(timestampKey)]: timestampKey },
      roles: { root: roleOf(certified.id), targets: roleOf(targetsKey.id), snapshot: roleOf(keyId(snapshotKey)), timestamp: roleOf(keyId(timestampKey)) },
      version: 1,
    };
    const targets: TargetsMeta = { _type: 'Targets', delegations: { keys: {}, roles: [] }, expires: expiresIn(DEFAULT_EXPIRY_MS.targets, now), targets: {}, version: 1 };
    return { root: { signed: root, key: certified }, targets, targetsKey };
  }

  /** GET `<role>.key`: the public key the server signs `role` with (it makes one on first ask). */
  private async serverKey(role: 'snapshot' | 'timestamp'): Promise<TufPublicKey> {
    const response = await this.request('GET', `${role}.key`, [200]);
    return JSON.parse((await this.bytesOf(response.body, MAX_DOWNLOAD_SIZE, `${role}.key`)).toString('utf8')) as TufPublicKey;
  }

  /**
   * The roles a target goes into (docker's GetSignableRoles): `targets` when there are no
   * delegations, else each direct delegation of targets that allows the name and whose key we hold.
   */
  private async signableRoles(state: Verified, name: string): Promise<{ role: string; meta: TargetsMeta; key: TufKey }[]> {
    const roles = validDelegations('targets', [''], state.targets.signed);
    if (state.targets.signed.delegations.roles.length === 0) return [{ role: 'targets', meta: state.targets.signed, key: await this.roleKey(state.root.signed.roles.targets.keyids, 'targets') }];
    const held = new Set((await this.options.keys.list()).map((key) => key.id));
    const out: { role: string; meta: TargetsMeta; key: TufKey }[] = [];
    for (const role of roles) {
      if (name !== '' && !pathAllowed(role.paths, name)) continue;
      const keyIdHeld = role.keyids.find((id) => held.has(canonicalKeyId(state.targets.signed.delegations.keys[id] as TufPublicKey)));
      if (keyIdHeld === undefined) continue;
      const meta = state.delegations.get(role.name)?.meta.signed ?? { _type: 'Targets' as const, delegations: { keys: {}, roles: [] }, expires: '', targets: {}, version: 0 };
      out.push({ role: role.name, meta, key: await this.heldKey(state.targets.signed.delegations.keys[keyIdHeld] as TufPublicKey) });
    }
    if (out.length === 0) throw new CtrError('Unauthorized', 'no valid signing keys for delegation roles', { details: { gun: this.gun } });
    return out;
  }

  /** The first of `keyIds` whose private key the store holds, for `role`. */
  private async roleKey(keyIds: readonly string[], role: string): Promise<TufKey> {
    const state = await this.update();
    for (const id of keyIds) {
      const key = state.root.signed.keys[id];
      if (key !== undefined && (await this.options.keys.has(canonicalKeyId(key)))) return this.heldKey(key);
    }
    throw new CtrError('Unauthorized', `could not find necessary signing keys, at least one of these keys must be available: ${keyIds.join(', ')}`, {
      details: { gun: this.gun, role },
    });
  }

  private async heldKey(key: TufPublicKey): Promise<TufKey> {
    return tufKey(key, await this.options.keys.load(canonicalKeyId(key)));
  }

  /** The next version of a targets role, re-signed, with notary's fresh expiry. */
  private resigned(meta: TargetsMeta, key: TufKey): SignedMetadata<TargetsMeta> {
    return signMetadata({ ...meta, version: meta.version + 1, expires: expiresIn(DEFAULT_EXPIRY_MS.targets, this.now()) }, [key]);
  }

  /** POST the changed roles as one multipart form (notary's SetMulti): the server makes snapshot and timestamp. */
  private async publish(files: Record<string, SignedMetadata<unknown>>): Promise<void> {
    const boundary = `ctr-${randomBytes(12).toString('hex')}`;
    const serialized = Object.fromEntries(Object.entries(files).map(([role, meta]) => [role, serializeMetadata(meta)]));
    const parts = Object.entries(serialized).map(([role, bytes]) =>
      Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
        bytes,
        Buffer.from('\r\n'),
      ]),
    );
    const body = Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]);
    const response = await this.request('POST', '', [200], { bytes: body, type: `multipart/form-data; boundary=${boundary}` });
    await this.bytesOf(response.body, MAX_DOWNLOAD_SIZE, 'the update reply');
    // As notary's client: what it published is what it trusts now (a new repository's root is pinned).
    await this.remember(serialized);
    this.verified = undefined;
  }

  /** A response body read whole, the request aborted once it passes `limit` bytes. */
  private bytesOf(body: Readable, limit: number, what: string): Promise<Buffer> {
    return readAtMost(body, limit, () => notaryError('mismatch', this.gun, `trust server returned a bad response: ${what} is larger than ${limit} bytes`));
  }
}
