import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { CtrError, invalidArgument } from '@ctr/errors';
import { TarReader, decompressArchive } from '@ctr/image';
import { cleanPath } from './clean-path';
import { ROOT_OWNER, type LayerItem } from './copy-plan';

/** What `pack.entry` takes: any header fields, the name required. */
type PackHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

export interface Ownership {
  uid: number;
  gid: number;
}

/** A local archive's bytes as tar: decompressed when its magic number says it is compressed (moby's DecompressStream). */
function openArchive(file: string): Promise<Readable> {
  return decompressArchive(createReadStream(file), { what: `the archive ${path.basename(file)}` });
}

/**
 * Whether ADD unpacks this local file, as moby's isArchivePath decides: a tar header is read at
 * its start, once decompressed (gzip, bzip2, xz or zstd, told by the magic number, never by the
 * name). Anything else — a gzip of a plain file among them — is copied as it is. A decoder that
 * is not installed is an error, not a reason to copy the archive.
 */
export async function isArchive(file: string): Promise<boolean> {
  const stream = await openArchive(file);
  try {
    return (await new TarReader(stream).next()) !== undefined;
  } catch (error) {
    if (error instanceof CtrError && error.code === 'Unavailable') throw error;
    return false;
  } finally {
    stream.destroy();
  }
}

const typeOf: Record<string, 'file' | 'directory' | 'symlink' | 'link' | undefined> = {
  '0': 'file', '\0': 'file', '7': 'file', '5': 'directory', '2': 'symlink', '1': 'link',
};

/** Re-root an archive entry name under `dir`; `..` cannot climb out of it. */
const under = (dir: string, name: string): string => {
  const inner = cleanPath('/' + name).slice(1);
  return dir === '' ? inner : inner === '' ? dir : `${dir}/${inner}`;
};

/**
 * An archive's entries under `item.name`, owned as the archive says (UntarPath takes no
 * `--chown`). Its root entry is left out: dockerd's untar keeps the destination directory it
 * made.
 */
async function packArchive(pack: tar.Pack, item: Extract<LayerItem, { kind: 'archive' }>): Promise<void> {
  const archive = await openArchive(item.source);
  try {
    const reader = new TarReader(archive);
    for (let entry = await reader.next(); entry; entry = await reader.next()) {
      const h = entry.header;
      const type = typeOf[h.typeflag];
      if (type === undefined) continue; // devices, fifos, PAX globals: not from an ADD archive
      if (under('', h.name) === '') continue;
      const header: PackHeader = {
        name: under(item.name, h.name),
        mode: h.mode & 0o7777,
        uid: h.uid,
        gid: h.gid,
        mtime: new Date(h.mtime.sec * 1000),
        type,
      };
      if (type === 'symlink') header.linkname = h.linkname;
      if (type === 'link') header.linkname = under(item.name, h.linkname);
      if (type === 'file') {
        header.size = h.size;
        await writeEntry(pack, header, Readable.from(entry.content()));
      } else await writeEntry(pack, header);
    }
  } finally {
    // What follows the end of the archive (a record's padding) is never read: its decoder is stopped, the file closed.
    archive.destroy();
  }
}

function writeEntry(pack: tar.Pack, header: PackHeader, content?: Readable | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (content === undefined || Buffer.isBuffer(content)) {
      pack.entry(header, content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
      return;
    }
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    content.on('error', reject);
    content.pipe(sink);
  });
}

/**
 * The uncompressed layer tar for a COPY/ADD: items in order, each owned by its own `owner`, else
 * by `owner` (root when undefined, like Docker), with `chmod` replacing modes when given.
 * Streams file contents.
 */
export function writeLayer(items: readonly LayerItem[], owner: Ownership | undefined, chmod: number | undefined): Readable {
  const pack = tar.pack();
  const step: Ownership = owner ?? ROOT_OWNER;
  void (async () => {
    for (const item of items) {
      switch (item.kind) {
        case 'directory':
          await writeEntry(pack, { name: item.name, type: 'directory', mode: chmod ?? item.mode, ...(item.owner ?? step), mtime: item.mtime });
          break;
        case 'file': {
          const header = { name: item.name, mode: chmod ?? item.mode, ...(item.owner ?? step), mtime: item.mtime };
          if (item.linkTo !== undefined) {
            await writeEntry(pack, { ...header, type: 'link', linkname: item.linkTo });
            break;
          }
          const st = await fs.stat(item.source);
          if (st.size !== item.size) throw invalidArgument(`${item.source} changed while the build was reading it`);
          await writeEntry(pack, { ...header, type: 'file', size: item.size }, createReadStream(item.source));
          break;
        }
        case 'data':
          await writeEntry(pack, { name: item.name, type: 'file', mode: chmod ?? item.mode, ...step, size: item.data.length, mtime: new Date(0) }, item.data);
          break;
        case 'symlink':
          await writeEntry(pack, { name: item.name, type: 'symlink', linkname: item.linkname, mode: 0o777, ...(item.owner ?? step), mtime: item.mtime });
          break;
        case 'archive':
          await packArchive(pack, item);
          break;
      }
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  // tar-stream's pack is a streamx stream; callers get a Node Readable.
  return Readable.from(pack, { objectMode: false });
}
