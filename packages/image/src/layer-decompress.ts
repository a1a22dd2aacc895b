import { Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { CtrError, invalidArgument, unsupported } from '@ctr/errors';
import type { LayerCompression } from './media-types';

/** Sniff (for 'auto') and undo a layer's compression, as a stream of uncompressed chunks. */

const CHUNK = 256 * 1024;

/** A compression told by its magic number: what layers and build contexts may come in. */
export type SniffedCompression = LayerCompression | 'xz' | 'bzip2';

/** The compression whose magic number `head` (a stream's first bytes) starts with, or `none`. */
export function sniffCompression(head: Buffer): SniffedCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
}

type ZstdFactory = (options?: { chunkSize?: number }) => NodeJS.ReadWriteStream;

function decompressor(kind: SniffedCompression): NodeJS.ReadWriteStream | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlib.createGunzip({ chunkSize: CHUNK });
    case 'zstd': {
      // Node 22.15+ has zstd built in; no extra dependency on older Node.
      const factory = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
      if (factory === undefined) {
        throw unsupported(`zstd-compressed layers need Node.js 22.15 or later (this is ${process.version})`, {
          hint: 'pull a gzip variant of the image, or run ctr on a newer Node.js',
        });
      }
      return factory({ chunkSize: CHUNK });
    }
    default:
      throw unsupported(`${kind}-compressed layers are not supported`, {
        hint: 'OCI layers are plain tar, gzip or zstd',
      });
  }
}

async function* prepend(head: Buffer, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (head.length > 0) yield head;
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value;
}

/** The uncompressed bytes of `layer`. Errors from the decompressor become InvalidArgument. */
export async function decompressedLayer(
  layer: Readable,
  compression: LayerCompression | 'auto',
): Promise<AsyncIterable<Uint8Array>> {
  const iterator = (layer as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let length = 0;
  while (length < 6) {
    const next = await iterator.next();
    if (next.done === true) break;
    parts.push(Buffer.from(next.value));
    length += next.value.length;
  }
  const head = Buffer.concat(parts);
  const kind: SniffedCompression = compression === 'auto' ? (head.length >= 6 ? sniffCompression(head) : 'none') : compression;
  const transform = decompressor(kind);
  const input = prepend(head, iterator);
  if (transform === undefined) return input;
  const output = pipeline(Readable.from(input, { objectMode: false }), transform, () => undefined);
  return rethrowAs(output as unknown as AsyncIterable<Uint8Array>, kind);
}

async function* rethrowAs(source: AsyncIterable<Uint8Array>, kind: string): AsyncGenerator<Uint8Array> {
  try {
    yield* source;
  } catch (error) {
    // zlib's own errors carry Z_* codes; anything else (the source failing) passes through.
    const code = (error as { code?: unknown }).code;
    if (error instanceof CtrError || typeof code !== 'string' || !code.startsWith('Z_')) throw error;
    const text = error instanceof Error ? error.message : String(error);
    throw invalidArgument(`layer is not valid ${kind} data: ${text}`, { cause: error });
  }
}
