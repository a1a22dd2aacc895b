import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { build } from '@ctr/dockerfile';
import { isArchiveHead } from '../src/build-context';
import { busybox, DirBackend } from './helpers/dir-backend';

let backend: DirBackend;
let scratchDir: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox });
  scratchDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-dockerfile-stdin-'));
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(scratchDir, { recursive: true, force: true });
});

/** A build whose context is `text` as a stream, as `docker build - < Dockerfile` gives it. */
function buildFrom(text: string | Buffer, options: Partial<Parameters<typeof build>[0]> = {}): ReturnType<typeof build> {
  return build({ backend, context: Readable.from([Buffer.from(text)]), scratchDir, ...options });
}

async function tarOf(entries: Array<{ name: string; content: string }>, header: Partial<tar.Header> = {}): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, ...header }, e.content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('a build whose context stream is a Dockerfile, not an archive', () => {
  it('builds it, with the Dockerfile as the context\'s only file', async () => {
    const { id } = await buildFrom('FROM busybox\nCOPY . /ctx/\n');
    expect(await fs.readdir(path.join(backend.image(id).state.dir, 'ctx'))).toEqual(['Dockerfile']);
  });

  it('runs its RUN steps', async () => {
    const { id } = await buildFrom('FROM busybox\nRUN echo hi > /hi\n');
    expect(await fs.readFile(path.join(backend.image(id).state.dir, 'hi'), 'utf8')).toBe('hi\n');
  });

  it('tells a Dockerfile longer than the bytes docker peeks from an archive', async () => {
    const { id } = await buildFrom(`FROM busybox\n${'# a long comment\n'.repeat(200)}RUN echo long > /long\n`);
    expect(await fs.readFile(path.join(backend.image(id).state.dir, 'long'), 'utf8')).toBe('long\n');
  });

  it('fails a COPY of any other file in docker\'s words', async () => {
    await expect(buildFrom('FROM busybox\nCOPY app.sh /\n')).rejects.toMatchObject({
      code: 'NotFound',
      message: 'COPY failed: file not found in build context or excluded by .dockerignore: stat app.sh: file does not exist',
    });
  });

  it('refuses a Dockerfile named besides, as docker\'s CLI does', async () => {
    await expect(buildFrom('FROM busybox\n', { dockerfile: 'Other.Dockerfile' })).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: 'ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles',
    });
  });

  it('refuses an empty one in dockerd\'s words', async () => {
    await expect(buildFrom('')).rejects.toMatchObject({ code: 'InvalidArgument', message: 'the Dockerfile (Dockerfile) cannot be empty' });
  });

  it('leaves no context directory behind', async () => {
    await buildFrom('FROM busybox\n');
    expect(await fs.readdir(scratchDir)).toEqual([]);
  });
});

describe('isArchiveHead: docker\'s CLI\'s test of a context stream\'s head', () => {
  it('takes a tar', async () => {
    expect(await isArchiveHead(await tarOf([{ name: 'Dockerfile', content: 'FROM busybox\n' }]))).toBe(true);
  });

  it('takes a tar whose first entry is a PAX header that goes on past the first block', async () => {
    const bytes = await tarOf([{ name: `${'long-name/'.repeat(20)}Dockerfile`, content: 'FROM busybox\n' }], { pax: { comment: 'x'.repeat(600) } });
    expect(await isArchiveHead(bytes.subarray(0, 1024))).toBe(true);
  });

  it('takes a compressed stream', async () => {
    expect(await isArchiveHead(gzipSync(Buffer.from('anything')))).toBe(true);
  });

  it('takes an empty tar', async () => {
    expect(await isArchiveHead(Buffer.alloc(1024))).toBe(true);
  });

  it('refuses a Dockerfile, short or long', async () => {
    expect(await isArchiveHead(Buffer.from('FROM busybox\n'))).toBe(false);
    expect(await isArchiveHead(Buffer.from(`FROM busybox\n${'RUN true\n'.repeat(200)}`))).toBe(false);
  });
});
