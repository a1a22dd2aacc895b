import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tarFileEntry, type TarWriteHeader } from '@ctr/image';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-tar-file-entry-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const header: TarWriteHeader = { name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0 };

async function collect(chunks: AsyncGenerator<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return Buffer.concat(out);
}

test('a file becomes a header, its bytes and padding to a whole block', async () => {
  await fs.writeFile(path.join(dir, 'f'), 'hello');
  const entry = await collect(tarFileEntry(path.join(dir, 'f'), header, 5));
  expect(entry.length).toBe(1024);
  expect(entry.subarray(512, 517).toString()).toBe('hello');
  expect(entry.subarray(0, 1).toString()).toBe('f');
});

test('a file that shrank after its size was taken is padded to that size', async () => {
  await fs.writeFile(path.join(dir, 'f'), 'hi');
  const entry = await collect(tarFileEntry(path.join(dir, 'f'), header, 700));
  expect(entry.length).toBe(512 + 1024);
  expect(entry.subarray(512, 514).toString()).toBe('hi');
});

test('a FIFO or a symlink in the file’s place gives no entry, and nothing blocks', async () => {
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  await fs.symlink('/etc/passwd', path.join(dir, 'link'));
  expect((await collect(tarFileEntry(path.join(dir, 'fifo'), header, 10))).length).toBe(0);
  expect((await collect(tarFileEntry(path.join(dir, 'link'), header, 10))).length).toBe(0);
});
