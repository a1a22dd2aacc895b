import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { build } from '@ctr/dockerfile';
import { busybox, DirBackend } from './helpers/dir-backend';

let backend: DirBackend;
let outside: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox });
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-dockerfile-outside-'));
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(outside, { recursive: true, force: true });
});

type Entry = { name: string; content?: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}) }, e.content ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A scratch directory of the test's own: other suites extract build contexts at the same time. */
let scratchDir: string;
beforeEach(async () => {
  scratchDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-dockerfile-scratch-'));
});
afterEach(async () => {
  await fs.rm(scratchDir, { recursive: true, force: true });
});

const contextDirs = async (): Promise<string[]> => (await fs.readdir(scratchDir)).filter((n) => n.startsWith('ctr-build-context-'));

describe('a build context sent as a tar stream', () => {
  it('builds from a plain tar and from a gzip tar, reading the Dockerfile from it, and removes the extracted copy', async () => {
    const bytes = await tarOf([
      { name: 'Dockerfile', content: 'FROM busybox\nCOPY app /app\n' },
      { name: 'app/', type: 'directory' },
      { name: 'app/main.sh', content: 'echo hi\n' },
    ]);
    for (const stream of [bytes, gzipSync(bytes)]) {
      const { id } = await build({ backend, context: Readable.from([stream]), scratchDir });
      expect(await fs.readFile(path.join(backend.image(id).state.dir, 'app/main.sh'), 'utf8')).toBe('echo hi\n');
    }
    expect(await contextDirs()).toEqual([]);
  });

  it('keeps hostile entries inside the context: ../ names and writes through symlinks are re-rooted (T1, T3)', async () => {
    const bytes = await tarOf([
      { name: 'Dockerfile', content: 'FROM busybox\nCOPY . /ctx/\n' },
      { name: `../../../../${outside.slice(1)}/dotdot`, content: 'x' },
      { name: 'link', type: 'symlink', linkname: outside },
      { name: 'link/through', content: 'y' },
    ]);
    const { id } = await build({ backend, context: Readable.from([bytes]) });
    expect(await fs.readdir(outside)).toEqual([]);
    const root = backend.image(id).state.dir;
    expect(await fs.readlink(path.join(root, 'ctx/link'))).toBe(outside);
  });

  it('fails with a typed error on a truncated tar and cleans up', async () => {
    const bytes = await tarOf([{ name: 'Dockerfile', content: 'FROM busybox\n'.repeat(100) }]);
    await expect(build({ backend, context: Readable.from([bytes.subarray(0, 700)]), scratchDir })).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(await contextDirs()).toEqual([]);
  });

  it('reports a missing Dockerfile as NotFound', async () => {
    const bytes = await tarOf([{ name: 'other', content: 'x' }]);
    await expect(build({ backend, context: Readable.from([bytes]) })).rejects.toMatchObject({
      code: 'NotFound',
      message: 'Cannot locate specified Dockerfile: Dockerfile',
    });
  });

  it("reports a missing Dockerfile in dockerd's words alone, with no hint for the API to append", async () => {
    const bytes = await tarOf([{ name: 'other', content: 'x' }]);
    await expect(build({ backend, context: Readable.from([bytes]), scratchDir })).rejects.toMatchObject({ hint: undefined });
  });

  it('reads a lower-case dockerfile when the context has no Dockerfile, as dockerd does', async () => {
    const bytes = await tarOf([{ name: 'dockerfile', content: 'FROM busybox\nENV FROM_LOWER=1\n' }]);
    const { id } = await build({ backend, context: Readable.from([bytes]), scratchDir });
    expect(backend.image(id).spec.config.Env).toContain('FROM_LOWER=1');
  });

  it('looks for the lower-case name only in place of the default one', async () => {
    const bytes = await tarOf([{ name: 'build.df', content: 'FROM busybox\n' }]);
    await expect(build({ backend, context: Readable.from([bytes]), dockerfile: 'BUILD.DF', scratchDir })).rejects.toMatchObject({ message: 'Cannot locate specified Dockerfile: BUILD.DF' });
  });
});
