import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CtrError, invalidArgument } from '@ctr/errors';

/**
 * A content digest, `sha256:<64 hex>`, of the bytes as stored (compressed for layers).
 * Kept apart from DiffID at the type level: mixing the two is how registries end up
 * answering MANIFEST_BLOB_UNKNOWN.
 */
export type Digest = string & { readonly __digest: unique symbol };

/** The digest of a layer's *uncompressed* tar, as listed in `rootfs.diff_ids`. */
export type DiffID = string & { readonly __diffId: unique symbol };

/** The identity of a stack of layers: chainID(L0) = diffID(L0), chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). */
export type ChainID = string & { readonly __chainId: unique symbol };

const SHA256 = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && SHA256.test(value);
}

/**
 * Validate a digest string before it is used anywhere (it becomes a file path in stores:
 * `sha256:../../x` must never get that far).
 */
export function parseDigest(value: string): Digest {
  if (isDigest(value)) return value;
  if (typeof value === 'string' && ANY_DIGEST.test(value)) {
    const [algorithm, hex] = value.split(':', 2) as [string, string];
    if (algorithm !== 'sha256') {
      throw invalidArgument(`unsupported digest algorithm "${algorithm}" in "${value}"`, {
        hint: 'ctr supports sha256 digests only',
      });
    }
    throw invalidArgument(`invalid sha256 digest "${value}": expected 64 lowercase hex characters, got ${hex.length}`);
  }
  throw invalidArgument(`invalid digest "${value}": expected "sha256:" followed by 64 lowercase hex characters`);
}

export function parseDiffID(value: string): DiffID {
  return parseDigest(value) as string as DiffID;
}

/** The 64 hex characters of a digest (the part used for file names and image IDs). */
export function digestHex(digest: Digest | DiffID | ChainID): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/** Docker's 12-character short ID. */
export function shortId(digest: Digest | DiffID | ChainID | string): string {
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return hex.slice(0, 12);
}

export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

export function chainIdOf(diffIds: readonly DiffID[]): ChainID[] {
  const chain: ChainID[] = [];
  for (const diffId of diffIds) {
    const previous = chain[chain.length - 1];
    chain.push((previous === undefined ? diffId : digestOf(`${previous} ${diffId}`)) as string as ChainID);
  }
  return chain;
}

/** The chainID of the top of a layer stack. */
export function chainId(diffIds: readonly DiffID[]): ChainID {
  const chain = chainIdOf(diffIds);
  const top = chain[chain.length - 1];
  if (top === undefined) throw invalidArgument('a chainID needs at least one layer');
  return top;
}

/**
 * A pass-through stream that hashes and counts what flows through it.
 * `digest` and `size` are final once the stream has ended.
 */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private result: Digest | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = `sha256:${this.hash.digest('hex')}` as Digest;
    callback();
  }

  get size(): number {
    return this.bytes;
  }

  get digest(): Digest {
    if (this.result === undefined) throw new CtrError('Internal', 'digest read before the stream ended');
    return this.result;
  }
}

/** The diffID of a layer with no entries (a tar of two zero blocks): moby's DigestSHA256EmptyTar, `RUN true`'s. */
export const EMPTY_LAYER_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef' as DiffID;
