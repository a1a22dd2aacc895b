import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  certifiedRootKey,
  fileMeta,
  generateKey,
  keyId,
  serializeMetadata,
  signMetadata,
  type RootMeta,
  type SnapshotMeta,
  type TargetsMeta,
  type TufKey,
  type TufPublicKey,
} from '@ctr/registry';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = unknown>(): T;
}

/**
 * One HTTP(S) request to a test server; `ca` trusts a self-signed certificate; `path` is sent
 * as is (a URL would resolve `..` away before the server saw it).
 */
export function call(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer; ca?: string; path?: string } = {}): Promise<Reply> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const where = { host: target.hostname, port: target.port, path: options.path ?? `${target.pathname}${target.search}` };
  return new Promise((resolve, reject) => {
    const req = send({ ...where, method: options.method ?? 'GET', headers: options.headers, ...(options.ca ? { ca: options.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body.toString()) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A multipart/form-data body with one `files` part per role named by its role, as notary's client uploads. */
export function multipart(parts: Record<string, Buffer>): { body: Buffer; contentType: string } {
  const boundary = 'ctr-trust-test-boundary';
  const chunks: Buffer[] = [];
  for (const [role, bytes] of Object.entries(parts)) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\nContent-Type: application/octet-stream\r\n\r\n`), bytes, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

const FAR = '2100-01-01T00:00:00Z';

/**
 * A notary repository as a client holds it: root key (a certificate for the GUN), targets
 * key, and the server's timestamp/snapshot keys fetched from the server.
 */
export class TestRepo {
  readonly rootKey: TufKey;
  readonly targetsKey = generateKey();
  timestampKey!: TufPublicKey;
  snapshotKey: TufPublicKey | TufKey | undefined;
  rootVersion = 1;
  targetsVersion = 0;

  constructor(
    readonly base: string,
    readonly gun: string,
    private readonly ca?: string,
    private readonly headers: Record<string, string> = {},
  ) {
    this.rootKey = certifiedRootKey(generateKey(), gun);
  }

  url(rest: string): string {
    return `${this.base}/v2/${this.gun}/_trust/tuf/${rest}`;
  }

  get(rest: string): Promise<Reply> {
    return call(this.url(rest), { ca: this.ca, headers: this.headers });
  }

  /** Ask the server for its keys; `clientSnapshot` keeps the snapshot key on the client instead. */
  async fetchKeys(clientSnapshot = false): Promise<void> {
    this.timestampKey = (await this.get('timestamp.key')).json<TufPublicKey>();
    this.snapshotKey = clientSnapshot ? generateKey() : (await this.get('snapshot.key')).json<TufPublicKey>();
  }

  rootMeta(rootKeys: TufKey[] = [this.rootKey], version = this.rootVersion): RootMeta {
    const snapshotPublic = isPrivate(this.snapshotKey) ? this.snapshotKey.public : this.snapshotKey!;
    const keys: Record<string, TufPublicKey> = {
      [keyId(this.timestampKey)]: this.timestampKey,
      [keyId(snapshotPublic)]: snapshotPublic,
      [this.targetsKey.id]: this.targetsKey.public,
    };
    for (const k of rootKeys) keys[k.id] = k.public;
    return {
      _type: 'Root',
      consistent_snapshot: false,
      expires: FAR,
      keys,
      roles: {
        root: { keyids: rootKeys.map((k) => k.id), threshold: 1 },
        targets: { keyids: [this.targetsKey.id], threshold: 1 },
        snapshot: { keyids: [keyId(snapshotPublic)], threshold: 1 },
        timestamp: { keyids: [keyId(this.timestampKey)], threshold: 1 },
      },
      version,
    };
  }

  root(signers: TufKey[] = [this.rootKey], meta: RootMeta = this.rootMeta()): Buffer {
    return serializeMetadata(signMetadata(meta, signers));
  }

  targets(entries: Record<string, string> = { latest: 'manifest-1' }, options: { version?: number; signer?: TufKey; delegations?: TargetsMeta['delegations'] } = {}): Buffer {
    const version = options.version ?? this.targetsVersion + 1;
    const targets: TargetsMeta = {
      _type: 'Targets',
      delegations: options.delegations ?? { keys: {}, roles: [] },
      expires: FAR,
      targets: Object.fromEntries(Object.entries(entries).map(([name, content]) => [name, fileMeta(Buffer.from(content))])),
      version,
    };
    return serializeMetadata(signMetadata(targets, [options.signer ?? this.targetsKey]));
  }

  snapshot(files: Record<string, Buffer>, version = 1): Buffer {
    if (!isPrivate(this.snapshotKey)) throw new Error('the snapshot key is the server\'s');
    const meta: SnapshotMeta = { _type: 'Snapshot', expires: FAR, meta: Object.fromEntries(Object.entries(files).map(([r, b]) => [r, fileMeta(b)])), version };
    return serializeMetadata(signMetadata(meta, [this.snapshotKey]));
  }

  async post(parts: Record<string, Buffer>): Promise<Reply> {
    const { body, contentType } = multipart(parts);
    return call(this.url(''), { method: 'POST', body, ca: this.ca, headers: { ...this.headers, 'Content-Type': contentType } });
  }

  /** Initialise the repository: keys, root v1 and targets v1; the server makes snapshot and timestamp. */
  async publish(): Promise<Reply> {
    await this.fetchKeys();
    const reply = await this.post({ root: this.root(), targets: this.targets() });
    if (reply.status === 200) this.targetsVersion = 1;
    return reply;
  }
}

function isPrivate(key: TufPublicKey | TufKey | undefined): key is TufKey {
  return key !== undefined && 'privateKey' in key;
}

/** The first error of a notary error reply. */
export function notaryError(reply: Reply): { code: string; message: string; detail?: { Name?: string; Error?: { Msg?: string; Missing?: string } } } {
  return reply.json<{ errors: { code: string; message: string; detail?: { Name?: string; Error?: { Msg?: string } } }[] }>().errors[0]!;
}
