import { constants, promises as fs } from 'node:fs';
import { encodeTarHeader, tarPadding, type TarWriteHeader } from './tar-writer';

const CHUNK = 1 << 20;

/**
 * A host file as one tar entry — its header, then its data in chunks — with the size lstat
 * saw, whatever happens to the file meanwhile: one that shrinks is padded so the archive
 * stays well-formed. Nothing is followed (O_NOFOLLOW; O_NONBLOCK so a FIFO swapped in never
 * blocks), and a path that is no longer a regular file gives no entry at all.
 */
export async function* tarFileEntry(path: string, header: TarWriteHeader, size: number): AsyncGenerator<Buffer> {
  const handle = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return;
  try {
    if (!(await handle.stat()).isFile()) return;
    yield encodeTarHeader({ ...header, size });
    let left = size;
    while (left > 0) {
      const buffer = Buffer.alloc(Math.min(CHUNK, left));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size - left);
      if (bytesRead === 0) break;
      left -= bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
    if (left > 0) yield Buffer.alloc(left);
    yield tarPadding(size);
  } finally {
    await handle.close();
  }
}
