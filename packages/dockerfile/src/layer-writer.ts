import { createReadStream, promises as fs } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { invalidArgument } from '@ctr/errors';
import { TarReader } from '@ctr/image';
import { cleanPath } from './clean-path';
import type { LayerItem } from './copy-plan';

/** What `pack.entry` takes: any header fields, the name required. */
type PackHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

export interface Ownership {
  uid: number;
  gid: number;
}

/** Is this local file an archive ADD extracts (tar, or gzip-compressed tar)? */
export async function isArchive(file: string): Promise<boolean> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
    return bytesRead === 512 && tarChecksumOk(head);
  } finally {
    await handle.close();
  }
}

function tarChecksumOk(block: Buffer): boolean {
  const stored = parseInt(block.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/g, '').trim(), 8);
  if (Number.isNaN(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === stored;
}

async function openArchive(file: string): Promise<Readable> {
  const handle = await fs.open(file, 'r');
  const head = Buffer.alloc(2);
  await handle.read(head, 0, 2, 0);
  await handle.close();
  if (head[0] !== 0x1f || head[1] !== 0x8b) return createReadStream(file);
  const gunzip = createGunzip();
  pipeline(createReadStream(file), gunzip, () => undefined);
  return gunzip;
}

const typeOf: Record<string, 'file' | 'directory' | 'symlink' | 'link' | undefined> = {
  '0': 'file', '\0': 'file', '7': 'file', '5': 'directory', '2': 'symlink', '1': 'link',
};

/** Re-root an archive entry name under `dir`; `..` cannot climb out of it. */
const under = (dir: string, name: string): string => {
  const inner = cleanPath('/' + name).slice(1);
  return dir === '' ? inner : inner === '' ? dir : `${dir}/${inner}`;
};

async function packArchive(pack: tar.Pack, item: Extract<LayerItem, { kind: 'archive' }>, owner: Ownership | undefined): Promise<void> {
  const reader = new TarReader(await openArchive(item.source));
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const h = entry.header;
    const type = typeOf[h.typeflag];
    if (type === undefined) continue; // devices, fifos, PAX globals: not from an ADD archive
    const header: PackHeader = {
      name: under(item.name, h.name),
      mode: h.mode & 0o7777,
      uid: owner?.uid ?? h.uid,
      gid: owner?.gid ?? h.gid,
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
 * The uncompressed layer tar for a COPY/ADD: items in order, owned by `owner` (root when
 * undefined, like Docker), with `chmod` replacing modes when given. Streams file contents.
 */
export function writeLayer(items: readonly LayerItem[], owner: Ownership | undefined, chmod: number | undefined): Readable {
  const pack = tar.pack();
  const uid = owner?.uid ?? 0;
  const gid = owner?.gid ?? 0;
  void (async () => {
    for (const item of items) {
      switch (item.kind) {
        case 'directory':
          await writeEntry(pack, { name: item.name, type: 'directory', mode: chmod ?? item.mode, uid, gid, mtime: item.mtime });
          break;
        case 'file': {
          const st = await fs.stat(item.source);
          if (st.size !== item.size) throw invalidArgument(`${item.source} changed while the build was reading it`);
          await writeEntry(
            pack,
            { name: item.name, type: 'file', mode: chmod ?? item.mode, uid, gid, size: item.size, mtime: item.mtime },
            createReadStream(item.source),
          );
          break;
        }
        case 'data':
          await writeEntry(pack, { name: item.name, type: 'file', mode: chmod ?? item.mode, uid, gid, size: item.data.length, mtime: new Date(0) }, item.data);
          break;
        case 'symlink':
          await writeEntry(pack, { name: item.name, type: 'symlink', linkname: item.linkname, mode: 0o777, uid, gid, mtime: item.mtime });
          break;
        case 'archive':
          await packArchive(pack, item, owner);
          break;
      }
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  // tar-stream's pack is a streamx stream; callers get a Node Readable.
  return Readable.from(pack, { objectMode: false });
}
