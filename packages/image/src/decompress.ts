import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PassThrough, Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { CtrError, invalidArgument, unavailable } from '@ctr/errors';
import type { LayerCompression } from './media-types';

/** Enough of a stream to tell every compression `sniffCompression` knows (xz's magic is the longest). */
const MAGIC_BYTES = 6;
const CHUNK = 256 * 1024;

/** The command that decodes each compression Node 20's zlib cannot, and the Debian package that has it. */
const DECODERS: Record<'bzip2' | 'xz' | 'zstd', { command: string; debianPackage: string }> = {
  bzip2: { command: 'bzip2', debianPackage: 'bzip2' },
  xz: { command: 'xz', debianPackage: 'xz-utils' },
  zstd: { command: 'zstd', debianPackage: 'zstd' },
};
// Absolute paths only: no PATH lookup decides which program reads a user's archive.
const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/local/bin'];

export interface DecompressOptions {
  signal?: AbortSignal;
  /** What the stream is, for messages: `the archive`. */
  what?: string;
  /** The compression the stream is known to be in (a layer's media type says); else its magic number tells. */
  compression?: SniffedCompression;
}

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
/**
 * Node 22.15+ decodes zstd itself; before that, the `zstd` command does. Asked on use: reading
 * zlib's property at load would load zlib on every ctr start (the bundle loads it lazily).
 */
function nodeZstd(): ZstdFactory | undefined {
  return (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
}

/**
 * A tar stream (an archive, a layer, a build context) as it came, or decompressed when it came
 * gzip-, bzip2-, xz- or zstd-compressed (told by its magic number, as moby's `DecompressStream`,
 * which `docker load` and layer pulls read through). Gzip (and zstd on Node 22.15+) goes through
 * zlib; the others through their commands (`bzip2 -dc`…), which Node 20 has no decoder for.
 * Streamed: nothing is held but the first bytes. Corrupt data fails the stream with
 * InvalidArgument; a decoder that is not installed, with Unavailable.
 */
export async function decompressArchive(source: Readable, options: DecompressOptions = {}): Promise<Readable> {
  const what = options.what ?? 'the archive';
  const { head, whole } = await peekStream(source, MAGIC_BYTES);
  const kind = options.compression ?? sniffCompression(head);
  if (kind === 'none') return whole;
  const out = new PassThrough();
  const fail = (error: Error): void => {
    if (!out.destroyed) out.destroy(error);
  };
  const zstd = kind === 'zstd' ? nodeZstd() : undefined;
  if (kind === 'gzip' || zstd) {
    const decoder = zstd ? zstd({ chunkSize: CHUNK }) : zlib.createGunzip({ chunkSize: CHUNK });
    // Piped by hand: a pipeline would fail `out` with zlib's raw error, or miss one raised at the end.
    whole.on('error', fail);
    decoder.on('error', (error: Error) => fail(zlibError(error, kind, what)));
    whole.pipe(decoder).pipe(out);
    out.on('close', () => {
      (decoder as unknown as { destroy(): void }).destroy();
      whole.destroy();
    });
    return out;
  }
  throughCommand(whole, out, kind, what, options.signal);
  return out;
}

/** zlib's own failures (their codes start with Z_) are the data's fault; others (the source's) pass as they are. */
function zlibError(error: Error, kind: SniffedCompression, what: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof CtrError || typeof code !== 'string' || !code.startsWith('Z_')) return error;
  return invalidArgument(`${what} is not valid ${kind} data: ${error.message}`, { cause: error });
}

function decoderPath(command: string): string | undefined {
  return TOOL_DIRS.map((dir) => `${dir}/${command}`).find((file) => existsSync(file));
}

/** `input` through `<command> -dc` into `out`, which fails with the command's words if it does. */
function throughCommand(input: Readable, out: PassThrough, kind: 'bzip2' | 'xz' | 'zstd', what: string, signal: AbortSignal | undefined): void {
  const { command, debianPackage } = DECODERS[kind];
  const file = decoderPath(command);
  if (file === undefined) {
    input.destroy();
    out.destroy(unavailable(`${what} is ${kind}-compressed, and reading it needs the "${command}" command, which is not installed`, {
      hint: `install the Debian package "${debianPackage}", or decompress ${what} first`,
    }));
    return;
  }
  const child = spawn(file, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
  child.on('error', (error) => out.destroy(error));
  // A decoder that stopped reading (it failed, or was ended) is not the input's fault.
  pipeline(input, child.stdin, (error) => {
    if (error && (error as NodeJS.ErrnoException).code !== 'EPIPE' && !out.destroyed) out.destroy(error);
  });
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => {
    if (code === 0) out.end();
    else if (!out.destroyed) {
      out.destroy(invalidArgument(`${what} is not valid ${kind} data: ${stderr.trim() || `${command} exited with code ${code}`}`));
    }
  });
  // A reader that stops early (a bad tar inside) ends the decoder and the input with it.
  out.on('close', () => {
    if (child.exitCode === null) child.kill();
    input.destroy();
  });
}

/** The first `bytes` of a stream (fewer if it is shorter), and the whole stream, those bytes included. */
export async function peekStream(source: Readable, bytes: number): Promise<{ head: Buffer; whole: Readable }> {
  const iterator = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    parts.push(Buffer.from(next.value));
    length += next.value.length;
  }
  const read = Buffer.concat(parts);
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      if (read.length > 0) yield read;
      if (!ended) for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
    } finally {
      // Stopped early, the source is released rather than left paused half-read.
      await iterator.return?.();
    }
  }
  return { head: read.subarray(0, bytes), whole: Readable.from(rest(), { objectMode: false }) };
}
