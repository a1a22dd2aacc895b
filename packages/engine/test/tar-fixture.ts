import { Readable } from 'node:stream';
import { TAR_END, TarReader, encodeTarHeader, tarPadding, type TarWriteHeader } from '@ctr/image';
import type { TestEngine } from './fixture';

/** An entry of a test archive: directories 0755 and files 0644 unless a mode is given. */
export type TestEntry = Omit<TarWriteHeader, 'mode' | 'size'> & { mode?: number; data?: string };

/** A tar archive in memory from entries (test input only; real archives are streamed). */
export function tarOf(...entries: TestEntry[]): Buffer {
  const parts = entries.flatMap(({ data, ...header }) => {
    const body = Buffer.from(data ?? '');
    const encoded = encodeTarHeader({ mode: header.type === 'dir' ? 0o755 : 0o644, mtime: 1_700_000_000, ...header, ...(header.type === 'file' ? { size: body.length } : {}) });
    return header.type === 'file' ? [encoded, body, tarPadding(body.length)] : [encoded];
  });
  return Buffer.concat([...parts, TAR_END]);
}

/** `tarOf` as the stream a copy into a container takes. */
export function tarStream(...entries: TestEntry[]): Readable {
  return Readable.from([tarOf(...entries)]);
}

export interface ReadEntry {
  name: string;
  /** The tar typeflag: '0' a file, '2' a symbolic link, '5' a directory… */
  type: string;
  text: string;
  linkname: string;
}

/** Every entry of an archive, in order, with its content as text. */
export async function entriesOf(tar: Readable): Promise<ReadEntry[]> {
  const reader = new TarReader(tar);
  const out: ReadEntry[] = [];
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.content()) chunks.push(Buffer.from(chunk));
    out.push({ name: entry.header.name, type: entry.header.typeflag, text: Buffer.concat(chunks).toString(), linkname: entry.header.linkname });
  }
  return out;
}

/** `docker cp CONTAINER:INSIDE -`'s entries, by name, with their content as text. */
export async function archived(t: TestEngine, id: string, inside: string): Promise<Map<string, string>> {
  return new Map((await entriesOf((await t.engine.getArchive(id, inside)).tar)).map((entry) => [entry.name, entry.text]));
}
