/**
 * The TrustClient against a hostile trust server on 127.0.0.1: every file it serves is properly
 * signed TUF metadata, crafted to lead the client astray. Delegation names that would walk out
 * of the repository's cache or off to another origin are skipped, a delegation cannot widen its
 * parent's paths, an expired or corrupt pin is never replaced by trusting the server again,
 * bodies are capped and their requests aborted, and a first-use root must be certified for the GUN.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isCtrError } from '@ctr/errors';
import {
  TrustClient,
  TrustKeyStore,
  certifiedRootKey,
  fileMeta,
  generateKey,
  serializeMetadata,
  signMetadata,
  type RootMeta,
  type SnapshotMeta,
  type TargetsMeta,
  type TimestampMeta,
  type TufKey,
} from '@ctr/registry';
import { loopbackOnly, type LoopbackGuard } from './support/loopback-only';

const GUN = '127.0.0.1:1/app';
const FAR = '2100-01-01T00:00:00Z';
const HOUR = 3600_000;

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const digestOf = (content: string): string => `sha256:${sha256(Buffer.from(content))}`;

/** What a route answers: metadata bytes, or those bytes followed by whitespace that never ends. */
type Body = Buffer | { endless: Buffer };

/**
 * A trust server that serves whatever metadata it is given, by the path the client would ask
 * for each role (`<role>.json` and `<role>.<sha256>.json`, resolved as the client resolves them),
 * and records every request path.
 */
class HostileServer {
  readonly requests: string[] = [];
  private routes = new Map<string, Body>();
  private readonly server: Server;
  private abortedOnce: (() => void) | undefined;
  /** Settles when a response is closed by the client before it was finished. */
  readonly aborted = new Promise<void>((resolve) => (this.abortedOnce = resolve));

  constructor() {
    this.server = createServer((req, res) => this.answer(req, res));
  }

  async listen(host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, host, resolve);
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The repository's metadata base, as the client builds it. */
  get base(): URL {
    return new URL(`${this.url}/v2/${GUN}/_trust/tuf/`);
  }

  /** Serve `files` (by role, as a client of `base` asks for them) from now on, in place of what was served before. */
  serve(files: Record<string, Body>, base: URL = this.base): void {
    this.routes = new Map();
    for (const [role, body] of Object.entries(files)) {
      const bytes = Buffer.isBuffer(body) ? body : body.endless;
      this.routes.set(new URL(`${role}.json`, base).pathname, body);
      this.routes.set(new URL(`${role}.${sha256(bytes)}.json`, base).pathname, body);
    }
  }

  /** The role each request asked for (its path when outside the repository's metadata). */
  requestedRoles(): string[] {
    const prefix = this.base.pathname;
    return this.requests.map((p) => (p.startsWith(prefix) ? p.slice(prefix.length).replace(/(\.[0-9a-f]{64})?\.json$/, '') : p));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req.url ?? '');
    res.on('close', () => {
      if (!res.writableFinished) this.abortedOnce?.();
    });
    const body = this.routes.get(req.url ?? '');
    if (body === undefined) {
      res.statusCode = 404;
      res.end();
    } else if (Buffer.isBuffer(body)) {
      res.end(body);
    } else {
      res.write(body.endless);
      const padding = Buffer.alloc(64 * 1024, ' ');
      const more = (): void => {
        while (!res.destroyed && res.write(padding));
      };
      res.on('drain', more);
      more();
    }
  }
}

interface RepoKeys {
  root: TufKey;
  targets: TufKey;
  snapshot: TufKey;
  timestamp: TufKey;
}

function repoKeys(root: TufKey = certifiedRootKey(generateKey(), GUN)): RepoKeys {
  return { root, targets: generateKey(), snapshot: generateKey(), timestamp: generateKey() };
}

/** root.json for `keys`, signed by `signers` (its own root key unless told). */
function rootOf(keys: RepoKeys, options: { version?: number; expires?: string; signers?: TufKey[] } = {}): Buffer {
  const role = (key: TufKey): { keyids: string[]; threshold: number } => ({ keyids: [key.id], threshold: 1 });
  const meta: RootMeta = {
    _type: 'Root',
    consistent_snapshot: false,
    expires: options.expires ?? FAR,
    keys: Object.fromEntries([keys.root, keys.targets, keys.snapshot, keys.timestamp].map((k) => [k.id, k.public])),
    roles: { root: role(keys.root), targets: role(keys.targets), snapshot: role(keys.snapshot), timestamp: role(keys.timestamp) },
    version: options.version ?? 1,
  };
  return serializeMetadata(signMetadata(meta, options.signers ?? [keys.root]));
}

/** Targets metadata signed by `signer`: each target names the digest of its content. */
function targetsOf(signer: TufKey, entries: Record<string, string>, delegations: TargetsMeta['delegations'] = { keys: {}, roles: [] }, version = 1): Buffer {
  const meta: TargetsMeta = {
    _type: 'Targets',
    delegations,
    expires: FAR,
    targets: Object.fromEntries(Object.entries(entries).map(([name, content]) => [name, fileMeta(Buffer.from(content))])),
    version,
  };
  return serializeMetadata(signMetadata(meta, [signer]));
}

/** `files` (root, targets, delegations) with the snapshot listing them all and the timestamp listing it. */
function published(keys: RepoKeys, files: Record<string, Buffer>, version = 1): Record<string, Buffer> {
  const snapshotMeta: SnapshotMeta = { _type: 'Snapshot', expires: FAR, meta: Object.fromEntries(Object.entries(files).map(([role, bytes]) => [role, fileMeta(bytes)])), version };
  const snapshot = serializeMetadata(signMetadata(snapshotMeta, [keys.snapshot]));
  const timestampMeta: TimestampMeta = { _type: 'Timestamp', expires: FAR, meta: { snapshot: fileMeta(snapshot) }, version };
  return { ...files, snapshot, timestamp: serializeMetadata(signMetadata(timestampMeta, [keys.timestamp])) };
}

/** A repository whose targets role signs `latest` (content `content`), delegating as told. */
function repository(keys: RepoKeys, options: { content?: string; delegations?: TargetsMeta['delegations']; roles?: Record<string, Buffer>; root?: Buffer; version?: number } = {}): Record<string, Buffer> {
  const version = options.version ?? 1;
  const targets = targetsOf(keys.targets, { latest: options.content ?? 'manifest-1' }, options.delegations, version);
  return published(keys, { root: options.root ?? rootOf(keys), targets, ...options.roles }, version);
}

/** One delegation of `key` named `name` for `paths`. */
function delegating(name: string, key: TufKey, paths: string[] = ['']): TargetsMeta['delegations'] {
  return { keys: { [key.id]: key.public }, roles: [{ name, keyids: [key.id], threshold: 1, paths }] };
}

let guard: LoopbackGuard;
let work: string;
let hostile: HostileServer;
let home: string;
let homes = 0;
const clients: TrustClient[] = [];

beforeAll(async () => {
  guard = loopbackOnly();
  work = await mkdtemp(path.join(tmpdir(), 'ctr-trust-hostile-'));
});

beforeEach(async () => {
  hostile = new HostileServer();
  await hostile.listen('127.0.0.1');
  home = path.join(work, `home-${++homes}`);
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await hostile.close();
});

afterAll(async () => {
  guard?.restore();
  if (work) await rm(work, { recursive: true, force: true });
  expect(guard.refused).toEqual([]);
});

/** A reader whose docker trust directory is under `home`, reading the hostile server, its clock `now`. */
function reader(now?: () => Date): TrustClient {
  const trustDirectory = path.join(home, 'trust');
  const client = new TrustClient({
    gun: GUN,
    registry: '127.0.0.1:1',
    server: hostile.url,
    trustDirectory,
    keys: new TrustKeyStore(trustDirectory, async () => ({ passphrase: '', giveUp: true })),
    verifyCertificate: false,
    ...(now ? { now } : {}),
  });
  clients.push(client);
  return client;
}

const metadataDir = (): string => path.join(home, 'trust', 'tuf', ...GUN.split('/'), 'metadata');
const pinnedRoot = (): Promise<Buffer> => fs.readFile(path.join(metadataDir(), 'root.json'));
const later = (ms: number): (() => Date) => () => new Date(Date.now() + ms);

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/** The CtrError `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCtrError(error)).toBe(true);
  return error as Error;
}

test('a delegation named to climb out of its parent (targets/../../x) is skipped: never requested, nothing cached outside the repository metadata, the tag still resolves', async () => {
  const keys = repoKeys();
  const delegationKey = generateKey();
  const name = 'targets/../../x';
  hostile.serve(repository(keys, { delegations: delegating(name, delegationKey), roles: { [name]: targetsOf(delegationKey, { latest: 'evil' }) } }));

  expect((await reader().target('latest')).digest).toBe(digestOf('manifest-1'));

  expect(hostile.requestedRoles().sort()).toEqual(['root', 'snapshot', 'targets', 'timestamp']);
  const outside = (await filesUnder(home)).filter((file) => !file.startsWith(path.relative(home, metadataDir()) + path.sep));
  expect(outside).toEqual([]);
});

test('a delegation named as another origin (//127.0.0.2:PORT/x) never leads to a request there', async () => {
  const elsewhere = new HostileServer();
  await elsewhere.listen('127.0.0.2');
  try {
    const keys = repoKeys();
    const delegationKey = generateKey();
    const name = `//127.0.0.2:${elsewhere.port}/x`;
    const role = targetsOf(delegationKey, { latest: 'evil' });
    hostile.serve(repository(keys, { delegations: delegating(name, delegationKey), roles: { [name]: role } }));
    elsewhere.serve({ [name]: role }, hostile.base);

    const resolved = await reader()
      .target('latest')
      .then((t) => t.digest, (e: unknown) => e);

    expect(elsewhere.requests).toEqual([]);
    expect(hostile.requestedRoles().sort()).toEqual(['root', 'snapshot', 'targets', 'timestamp']);
    expect(resolved).toBe(digestOf('manifest-1'));
  } finally {
    await elsewhere.close();
  }
});

test("a child delegation declaring paths outside its parent's cannot sign a target outside the parent's paths", async () => {
  const keys = repoKeys();
  const teamKey = generateKey();
  const childKey = generateKey();
  const team = targetsOf(teamKey, {}, delegating('targets/team/child', childKey, ['safe/', '']));
  const child = targetsOf(childKey, { latest: 'evil', 'safe/ok': 'fine' });
  hostile.serve(repository(keys, { delegations: delegating('targets/team', teamKey, ['safe/']), roles: { 'targets/team': team, 'targets/team/child': child } }));

  const signedByChild = (await reader().signedTargets()).filter((t) => t.role === 'targets/team/child');

  expect(signedByChild.map((t) => ({ name: t.name, digest: t.digest }))).toEqual([{ name: 'safe/ok', digest: digestOf('fine') }]);
});

test('an expired pinned root is replaced only through a verified rotation: an unrelated root is refused, one cross-signed by the pinned root key is accepted', async () => {
  const keys = repoKeys();
  hostile.serve(repository(keys, { root: rootOf(keys, { expires: new Date(Date.now() + HOUR).toISOString() }) }));
  await reader().target('latest');
  const pin = await pinnedRoot();
  const afterExpiry = later(2 * HOUR);

  hostile.serve(repository(repoKeys(), { content: 'attacker' }));
  const refused = await refusal(reader(afterExpiry).target('latest'));
  expect(refused.message).toMatch(/could not rotate trust to a new trusted root/);
  expect(await pinnedRoot()).toEqual(pin);

  const rotatedKeys = { ...keys, root: certifiedRootKey(generateKey(), GUN) };
  const rotatedRoot = rootOf(rotatedKeys, { version: 2, signers: [rotatedKeys.root, keys.root] });
  hostile.serve(repository(rotatedKeys, { root: rotatedRoot, content: 'manifest-2', version: 2 }));
  expect((await reader(afterExpiry).target('latest')).digest).toBe(digestOf('manifest-2'));
  expect(await pinnedRoot()).toEqual(rotatedRoot);
});

test('a corrupt pinned root fails the update with a message naming the file, and is not replaced by the server root', async () => {
  const keys = repoKeys();
  hostile.serve(repository(keys));
  await reader().target('latest');
  const file = path.join(metadataDir(), 'root.json');
  await fs.writeFile(file, '{"signed": ');

  const refused = await refusal(reader().target('latest'));

  expect(refused.message).toContain(file);
  expect((await pinnedRoot()).toString()).toBe('{"signed": ');
});

test("a timestamp that never ends is refused past notary's size limit and its request aborted", async () => {
  const keys = repoKeys();
  const files = repository(keys);
  hostile.serve({ ...files, timestamp: { endless: files.timestamp as Buffer } });

  const refused = await refusal(reader().target('latest'));

  expect(refused.message).toMatch(/timestamp\.json is larger than \d+ bytes/);
  await hostile.aborted;
});

test('a targets body longer than the snapshot lists is refused once past the listed length and its request aborted', async () => {
  const keys = repoKeys();
  const files = repository(keys);
  hostile.serve({ ...files, targets: { endless: files.targets as Buffer } });

  const refused = await refusal(reader().target('latest'));

  expect(refused.message).toContain(`is larger than ${(files.targets as Buffer).length} bytes`);
  await hostile.aborted;
});

test('a first-use root whose root key is a plain ecdsa key, not a certificate for the GUN, is refused and not pinned', async () => {
  hostile.serve(repository(repoKeys(generateKey())));

  const refused = await refusal(reader().target('latest'));

  expect(refused.message).toMatch(/could not validate the path to a trusted root/);
  await expect(pinnedRoot()).rejects.toMatchObject({ code: 'ENOENT' });
});
