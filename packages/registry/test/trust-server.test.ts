/**
 * The Notary v1 server inside ctr's registry (`/v2/<gun>/_trust/tuf/`), against the real
 * server on 127.0.0.1: notary-server's endpoints, its validation of uploads (root certified
 * for the GUN and rotated with the old key's approval, targets and delegations against their
 * parents, snapshots checked or made by the server, versions increasing), the timestamp
 * always made by the server, its error JSON, and nothing lost to a refused upload.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  canonicalKeyId,
  certifiedRootKey,
  checkFileMeta,
  generateKey,
  keyId,
  parseMetadata,
  verifyMetadata,
  type RootMeta,
  type SnapshotMeta,
  type TimestampMeta,
  type TufPublicKey,
} from '@ctr/registry';
import { TrustStore } from '../src/server/trust-store';
import { freshTimestamp } from '../src/server/trust-update';
import { startRegistry, type RunningRegistry } from './support/servers';
import { call, multipart, notaryError, TestRepo, type Reply } from './support/trust-server-helpers';

let registry: RunningRegistry;
let counter = 0;

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  await registry.stop();
});

/** A fresh GUN on this registry, named as docker names one (registry host included). */
function repo(): TestRepo {
  counter += 1;
  return new TestRepo(registry.url, `${registry.host}/library/app${counter}`);
}

function verified<T>(reply: Reply, role: 'snapshot' | 'timestamp', root: RootMeta): T {
  return verifyMetadata(parseMetadata<T>(reply.body, role), role, root.keys, root.roles[role]);
}

describe('server keys', () => {
  test('GET timestamp.key makes an ECDSA key once and answers the same key after', async () => {
    const r = repo();
    const first = await r.get('timestamp.key');
    expect(first.status).toBe(200);
    const key = first.json<TufPublicKey>();
    expect(key).toEqual({ keytype: 'ecdsa', keyval: { public: expect.any(String), private: null } });
    expect((await r.get('timestamp.key')).json()).toEqual(key);
  });

  test('the timestamp and snapshot keys differ', async () => {
    const r = repo();
    expect(keyId((await r.get('timestamp.key')).json())).not.toBe(keyId((await r.get('snapshot.key')).json()));
  });

  test('the private keys stay in the server root, readable by the owner only', async () => {
    const r = repo();
    await r.get('timestamp.key');
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.name.endsWith('.pem')) files.push(full);
      }
    };
    await walk(path.join(registry.root, 'trust'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test('a key for any other role is refused with INVALID_ROLE', async () => {
    const reply = await repo().get('targets.key');
    expect(reply.status).toBe(400);
    expect(notaryError(reply)).toMatchObject({ code: 'INVALID_ROLE', message: 'The role you are attempting to operate on is invalid.', detail: 'targets' });
  });
});

describe('publishing', () => {
  test('root and targets are accepted, and served back byte for byte', async () => {
    const r = repo();
    await r.fetchKeys();
    const root = r.root();
    const targets = r.targets();
    expect((await r.post({ root, targets })).status).toBe(200);
    expect((await r.get('root.json')).body.equals(root)).toBe(true);
    expect((await r.get('targets.json')).body.equals(targets)).toBe(true);
  });

  test('the server makes the snapshot with its key, recording root and targets', async () => {
    const r = repo();
    await r.fetchKeys();
    const root = r.root();
    const targets = r.targets();
    await r.post({ root, targets });
    const snapshot = verified<SnapshotMeta>(await r.get('snapshot.json'), 'snapshot', r.rootMeta());
    expect(snapshot.version).toBe(1);
    expect(() => checkFileMeta(root, snapshot.meta.root!, 'root')).not.toThrow();
    expect(() => checkFileMeta(targets, snapshot.meta.targets!, 'targets')).not.toThrow();
  });

  test('the server makes the timestamp with its key, recording the snapshot', async () => {
    const r = repo();
    await r.publish();
    const snapshot = (await r.get('snapshot.json')).body;
    const timestamp = verified<TimestampMeta>(await r.get('timestamp.json'), 'timestamp', r.rootMeta());
    expect(() => checkFileMeta(snapshot, timestamp.meta.snapshot, 'snapshot')).not.toThrow();
  });

  test('a new targets version moves snapshot and timestamp on', async () => {
    const r = repo();
    await r.publish();
    expect((await r.post({ targets: r.targets({ latest: 'manifest-2' }) })).status).toBe(200);
    const root = r.rootMeta();
    expect(verified<SnapshotMeta>(await r.get('snapshot.json'), 'snapshot', root).version).toBe(2);
    expect(verified<TimestampMeta>(await r.get('timestamp.json'), 'timestamp', root).version).toBe(2);
  });

  test('a client-held snapshot key: the client’s snapshot is stored as sent', async () => {
    const r = repo();
    await r.fetchKeys(true);
    const root = r.root();
    const targets = r.targets();
    const snapshot = r.snapshot({ root, targets });
    expect((await r.post({ root, targets, snapshot })).status).toBe(200);
    expect((await r.get('snapshot.json')).body.equals(snapshot)).toBe(true);
  });

  test('an upload to `…/_trust/tuf` without the trailing slash (as notary’s client posts) is accepted', async () => {
    const r = repo();
    await r.fetchKeys();
    const { body, contentType } = multipart({ root: r.root(), targets: r.targets() });
    const reply = await call(r.url('').replace(/\/$/, ''), { method: 'POST', body, headers: { 'Content-Type': contentType } });
    expect(reply.status).toBe(200);
  });

  test('a timestamp part in an upload is ignored: the server always makes its own', async () => {
    const r = repo();
    await r.fetchKeys();
    const bogus = Buffer.from('{"signed":{"_type":"Timestamp","expires":"2100-01-01T00:00:00Z","meta":{},"version":7},"signatures":[]}');
    expect((await r.post({ root: r.root(), targets: r.targets(), timestamp: bogus })).status).toBe(200);
    expect(verified<TimestampMeta>(await r.get('timestamp.json'), 'timestamp', r.rootMeta()).version).toBe(1);
  });

  test('a delegation signed by its delegated key is accepted and snapshotted', async () => {
    const r = repo();
    await r.publish();
    const signer = generateKey();
    const delegations = { keys: { [signer.id]: signer.public }, roles: [{ name: 'targets/releases', keyids: [signer.id], threshold: 1, paths: [''] }] };
    const releases = r.targets({ v1: 'manifest-r' }, { version: 1, signer });
    const reply = await r.post({ targets: r.targets({ latest: 'manifest-1' }, { version: 2, delegations }), 'targets/releases': releases });
    expect(reply.status).toBe(200);
    expect((await r.get('targets/releases.json')).body.equals(releases)).toBe(true);
    const snapshot = verified<SnapshotMeta>(await r.get('snapshot.json'), 'snapshot', r.rootMeta());
    expect(() => checkFileMeta(releases, snapshot.meta['targets/releases']!, 'targets/releases')).not.toThrow();
  });
});

describe('reading', () => {
  test('metadata is served by its sha256 checksum (consistent snapshots), old versions included', async () => {
    const r = repo();
    await r.publish();
    const first = (await r.get('targets.json')).body;
    await r.post({ targets: r.targets({ latest: 'manifest-2' }, { version: 2 }) });
    const hex = createHash('sha256').update(first).digest('hex');
    const reply = await r.get(`targets.${hex}.json`);
    expect(reply.status).toBe(200);
    expect(reply.body.equals(first)).toBe(true);
  });

  test('metadata is served by version', async () => {
    const r = repo();
    await r.publish();
    const reply = await r.get('1.root.json');
    expect(reply.status).toBe(200);
    expect(parseMetadata<RootMeta>(reply.body, 'root').signed.version).toBe(1);
  });

  test('an unknown checksum is METADATA_NOT_FOUND', async () => {
    const r = repo();
    await r.publish();
    const reply = await r.get(`root.${'0'.repeat(64)}.json`);
    expect(reply.status).toBe(404);
    expect(notaryError(reply).code).toBe('METADATA_NOT_FOUND');
  });

  test('an expired timestamp is made anew by the server, one version on, when asked for', async () => {
    const r = repo();
    await r.publish();
    const later = new Date(Date.now() + 15 * 24 * 3600_000);
    const store = new TrustStore(registry.root);
    const bytes = (await store.exclusive(r.gun, () => freshTimestamp(store, r.gun, later)))!;
    const root = r.rootMeta();
    const timestamp = verifyMetadata(parseMetadata<TimestampMeta>(bytes, 'timestamp'), 'timestamp', root.keys, root.roles.timestamp, { now: later });
    expect(timestamp.version).toBe(2);
    expect((await r.get('timestamp.json')).body.equals(bytes)).toBe(true);
  });

  test('a GUN with no trust data answers 404 METADATA_NOT_FOUND with notary’s message', async () => {
    const reply = await repo().get('root.json');
    expect(reply.status).toBe(404);
    expect(notaryError(reply)).toEqual({ code: 'METADATA_NOT_FOUND', message: 'You have requested metadata that does not exist.' });
  });

  test('a GUN with a `..` component is refused as INVALID_GUN', async () => {
    const reply = await call(registry.url, { path: '/v2/library/../../etc/_trust/tuf/root.json' });
    expect(reply.status).toBe(400);
    expect(notaryError(reply).code).toBe('INVALID_GUN');
  });
});

describe('refusals keep what was there', () => {
  async function published(): Promise<{ r: TestRepo; targets: Buffer; timestamp: Buffer }> {
    const r = repo();
    await r.publish();
    return { r, targets: (await r.get('targets.json')).body, timestamp: (await r.get('timestamp.json')).body };
  }

  async function unchanged(state: { r: TestRepo; targets: Buffer; timestamp: Buffer }): Promise<void> {
    expect((await state.r.get('targets.json')).body.equals(state.targets)).toBe(true);
    expect((await state.r.get('timestamp.json')).body.equals(state.timestamp)).toBe(true);
  }

  test('a version that is not newer is refused with VERSION', async () => {
    const state = await published();
    const reply = await state.r.post({ targets: state.r.targets({ latest: 'other' }, { version: 1 }) });
    expect(reply.status).toBe(400);
    expect(notaryError(reply)).toMatchObject({ code: 'VERSION', message: 'A newer version of metadata is already available.' });
    await unchanged(state);
  });

  test('targets signed by a key the root does not name is INVALID_UPDATE ErrBadTargets', async () => {
    const state = await published();
    const reply = await state.r.post({ targets: state.r.targets({ latest: 'evil' }, { version: 2, signer: generateKey() }) });
    expect(reply.status).toBe(400);
    const error = notaryError(reply);
    expect(error).toMatchObject({ code: 'INVALID_UPDATE', message: 'Update sent by the client is invalid.', detail: { Name: 'ErrBadTargets' } });
    expect(error.detail?.Error?.Msg).toContain('valid signatures did not meet threshold for targets');
    await unchanged(state);
  });

  test('a delegation the parent does not delegate is refused', async () => {
    const state = await published();
    const reply = await state.r.post({ 'targets/releases': state.r.targets({ v1: 'x' }, { version: 1, signer: generateKey() }) });
    expect(notaryError(reply).detail).toMatchObject({ Name: 'ErrBadTargets', Error: { Msg: 'targets/releases is not delegated by targets' } });
    await unchanged(state);
  });

  test('a delegation signed by the wrong key is refused', async () => {
    const state = await published();
    const signer = generateKey();
    const delegations = { keys: { [signer.id]: signer.public }, roles: [{ name: 'targets/releases', keyids: [signer.id], threshold: 1, paths: [''] }] };
    const reply = await state.r.post({
      targets: state.r.targets({ latest: 'manifest-1' }, { version: 2, delegations }),
      'targets/releases': state.r.targets({ v1: 'x' }, { version: 1, signer: generateKey() }),
    });
    expect(notaryError(reply).detail).toMatchObject({ Name: 'ErrBadTargets' });
    await unchanged(state);
  });

  test('a first upload without a root is INVALID_UPDATE ErrValidation', async () => {
    const r = repo();
    await r.fetchKeys();
    const reply = await r.post({ targets: r.targets() });
    expect(notaryError(reply).detail).toEqual({ Name: 'ErrValidation', Error: { Msg: 'no pre-existing root and no root provided in update.' } });
  });

  test('a root whose certificate names another GUN is ErrBadRoot', async () => {
    const r = repo();
    await r.fetchKeys();
    const stranger = certifiedRootKey(generateKey(), 'docker.io/library/other');
    const reply = await r.post({ root: r.root([stranger], r.rootMeta([stranger])), targets: r.targets() });
    expect(notaryError(reply).detail).toMatchObject({ Name: 'ErrBadRoot', Error: { Msg: expect.stringContaining('unable to retrieve valid leaf certificates') } });
  });

  test('a root signed by a bare (uncertified) key is ErrBadRoot', async () => {
    const r = repo();
    await r.fetchKeys();
    const bare = generateKey();
    const reply = await r.post({ root: r.root([bare], r.rootMeta([bare])), targets: r.targets() });
    expect(notaryError(reply).detail).toMatchObject({ Name: 'ErrBadRoot' });
  });

  test('a rotated root signed only by the new key is ErrBadRoot', async () => {
    const state = await published();
    const newKey = certifiedRootKey(generateKey(), state.r.gun);
    const reply = await state.r.post({ root: state.r.root([newKey], state.r.rootMeta([newKey], 2)) });
    expect(notaryError(reply).detail).toMatchObject({ Name: 'ErrBadRoot', Error: { Msg: expect.stringContaining('of the previous root') } });
    await unchanged(state);
  });

  test('a root version that skips ahead is ErrBadRoot', async () => {
    const state = await published();
    const reply = await state.r.post({ root: state.r.root([state.r.rootKey], state.r.rootMeta([state.r.rootKey], 3)) });
    expect(notaryError(reply).detail).toEqual({ Name: 'ErrBadRoot', Error: { Msg: 'Root modifications must increment the version. Current 1, new 3' } });
  });

  test('a client snapshot that records other targets bytes is ErrBadSnapshot', async () => {
    const r = repo();
    await r.fetchKeys(true);
    const root = r.root();
    const targets = r.targets();
    const reply = await r.post({ root, targets, snapshot: r.snapshot({ root, targets: r.targets({ latest: 'manifest-2' }) }) });
    expect(notaryError(reply).detail).toMatchObject({ Name: 'ErrBadSnapshot', Error: { Msg: expect.stringContaining('checksum for targets did not match') } });
    expect((await r.get('root.json')).status).toBe(404);
  });

  test('no snapshot while the server does not hold the snapshot key is ErrBadHierarchy', async () => {
    const r = repo();
    await r.fetchKeys(true);
    const reply = await r.post({ root: r.root(), targets: r.targets() });
    expect(notaryError(reply).detail).toEqual({
      Name: 'ErrBadHierarchy',
      Error: { Missing: 'snapshot', Msg: 'no snapshot was included in update and server does not hold current snapshot key for repository' },
    });
  });

  test('malformed JSON in a part is MALFORMED_JSON', async () => {
    const state = await published();
    const reply = await state.r.post({ targets: Buffer.from('{"signed":') });
    expect(reply.status).toBe(400);
    expect(notaryError(reply).code).toBe('MALFORMED_JSON');
    await unchanged(state);
  });

  test('a body that is not multipart is MALFORMED_UPLOAD', async () => {
    const state = await published();
    const reply = await call(state.r.url(''), { method: 'POST', body: state.r.targets({}, { version: 2 }), headers: { 'Content-Type': 'application/json' } });
    expect(reply.status).toBe(400);
    expect(notaryError(reply)).toEqual({ code: 'MALFORMED_UPLOAD', message: 'The body of your request is malformed.' });
    await unchanged(state);
  });

  test('a part without a file name is NO_FILENAME', async () => {
    const state = await published();
    const boundary = 'b0undary';
    const body = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"\r\n\r\n{}\r\n--${boundary}--\r\n`);
    const reply = await call(state.r.url(''), { method: 'POST', body, headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` } });
    expect(notaryError(reply).code).toBe('NO_FILENAME');
    await unchanged(state);
  });

  test('a part named for no TUF role is INVALID_ROLE', async () => {
    const state = await published();
    const reply = await state.r.post({ 'targets/../root': state.r.targets({}, { version: 2 }) });
    expect(notaryError(reply)).toMatchObject({ code: 'INVALID_ROLE', detail: 'targets/../root' });
    await unchanged(state);
  });

  test('a body over the size cap is refused with MALFORMED_UPLOAD', async () => {
    const state = await published();
    const reply = await state.r.post({ targets: Buffer.alloc(9 * 1024 * 1024, 0x20) });
    expect(reply.status).toBe(400);
    expect(notaryError(reply)).toMatchObject({ code: 'MALFORMED_UPLOAD', detail: expect.stringContaining('larger than') });
    await unchanged(state);
  });

  test('of two concurrent uploads of the same next version, one lands and one is VERSION', async () => {
    const state = await published();
    const [a, b] = await Promise.all([
      state.r.post({ targets: state.r.targets({ latest: 'a' }, { version: 2 }) }),
      state.r.post({ targets: state.r.targets({ latest: 'b' }, { version: 2 }) }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 400]);
    expect(notaryError(a.status === 400 ? a : b).code).toBe('VERSION');
  });
});

describe('root rotation', () => {
  test('a new root signed by both the old and the new key is accepted', async () => {
    const r = repo();
    await r.publish();
    const newKey = certifiedRootKey(generateKey(), r.gun);
    const rotated = r.root([newKey, r.rootKey], r.rootMeta([newKey], 2));
    expect((await r.post({ root: rotated })).status).toBe(200);
    expect((await r.get('root.json')).body.equals(rotated)).toBe(true);
    // docker names the root key file by the bare key's ID
    expect(canonicalKeyId(newKey.public)).not.toBe(newKey.id);
  });
});

describe('DELETE', () => {
  test('removes the GUN’s trust data, and the next key asked for is a new one', async () => {
    const r = repo();
    await r.publish();
    const before = (await r.get('timestamp.key')).json<TufPublicKey>();
    const reply = await call(r.url(''), { method: 'DELETE' });
    expect(reply.status).toBe(200);
    expect((await r.get('root.json')).status).toBe(404);
    expect((await r.get('timestamp.json')).status).toBe(404);
    expect(keyId((await r.get('timestamp.key')).json())).not.toBe(keyId(before));
  });
});
