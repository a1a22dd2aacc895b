import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarReader } from '@ctr/image';
import { contextTar, type ContextTarOptions } from '../src/context-tar';

// The entries of a build context that are not the host's files as they are: a Dockerfile given
// in place of the file's content, and extra files (a Dockerfile read from stdin).

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-context-tar-'));
  await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\n');
  await chmod(join(dir, 'Dockerfile'), 0o640);
  await writeFile(join(dir, 'a.txt'), 'a'.repeat(700));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Entry {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  data: string;
}

async function entries(options: ContextTarOptions): Promise<Entry[]> {
  const reader = new TarReader(contextTar(dir, options));
  const out: Entry[] = [];
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.data()) chunks.push(Buffer.from(chunk));
    out.push({ name: entry.header.name, typeflag: entry.header.typeflag, mode: entry.header.mode, uid: entry.header.uid, data: Buffer.concat(chunks).toString() });
  }
  return out;
}

test('a Dockerfile given as content is sent in place of the file, keeping its mode', async () => {
  const sent = await entries({ dockerfile: 'Dockerfile', dockerfileContent: Buffer.from('FROM busybox@sha256:abc\n') });
  expect(sent.find((e) => e.name === 'Dockerfile')).toEqual({ name: 'Dockerfile', typeflag: '0', mode: 0o640, uid: 0, data: 'FROM busybox@sha256:abc\n' });
  expect(sent.find((e) => e.name === 'a.txt')?.data).toBe('a'.repeat(700));
});

test('a link named as the Dockerfile is replaced by a 0644 file of the content given', async () => {
  await symlink('Dockerfile', join(dir, 'Linked'));
  const sent = await entries({ dockerfile: 'Linked', dockerfileContent: Buffer.from('FROM scratch\n') });
  expect(sent.find((e) => e.name === 'Linked')).toEqual({ name: 'Linked', typeflag: '0', mode: 0o644, uid: 0, data: 'FROM scratch\n' });
});

test('extra files follow the context as root-owned 0600 files', async () => {
  const sent = await entries({ extra: { 'Dockerfile.stdin': Buffer.from('FROM x\n'), 'pad.bin': Buffer.from('b'.repeat(513)) } });
  expect(sent.filter((e) => e.name === 'Dockerfile.stdin' || e.name === 'pad.bin')).toEqual([
    { name: 'Dockerfile.stdin', typeflag: '0', mode: 0o600, uid: 0, data: 'FROM x\n' },
    { name: 'pad.bin', typeflag: '0', mode: 0o600, uid: 0, data: 'b'.repeat(513) },
  ]);
});

test("extra files are listed in a .dockerignore made for them, which ignores itself, as docker's CLI makes it", async () => {
  const sent = await entries({ extra: { '.dockerfile.0123': Buffer.from('FROM x\n') } });
  expect(sent.at(-1)).toEqual({ name: '.dockerignore', typeflag: '0', mode: 0o600, uid: 0, data: '.dockerignore\n.dockerfile.0123\n' });
});

test("extra files are listed after the rules of the context's own .dockerignore", async () => {
  await writeFile(join(dir, '.dockerignore'), 'a.txt');
  const sent = await entries({ extra: { '.dockerfile.0123': Buffer.from('FROM x\n') } });
  expect(sent.filter((e) => e.name === '.dockerignore').map((e) => e.data)).toEqual(['a.txt\n.dockerfile.0123\n']);
});

test("a Dockerfile in an ignored directory is sent, alone of that directory, as docker's TrimBuildFilesFromExcludes keeps it", async () => {
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'Dockerfile.x'), 'FROM scratch\n');
  await writeFile(join(dir, 'sub', 'other'), 'ignored\n');
  await writeFile(join(dir, '.dockerignore'), 'sub\n');
  const sent = await entries({ dockerfile: 'sub/Dockerfile.x' });
  expect(sent.map((e) => e.name).sort()).toEqual(['.dockerignore', 'Dockerfile', 'a.txt', 'sub/Dockerfile.x']);
});
