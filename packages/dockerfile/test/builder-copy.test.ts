import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { build } from '@ctr/dockerfile';
import { busybox, DirBackend, makeContext } from './helpers/dir-backend';

let backend: DirBackend;
let context: string;
let outside: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox });
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-dockerfile-outside-'));
  await fs.writeFile(path.join(outside, 'secret'), 'host secret\n');
  context = await makeContext({
    'a.txt': 'A\n',
    'b.txt': 'B\n',
    'c.md': 'C\n',
    'dir/x.txt': 'X\n',
    'dir/sub/y.txt': 'Y\n',
    'dir/link': { symlink: 'x.txt' },
    'escape-abs': { symlink: path.join(outside, 'secret') },
    'escape-rel': { symlink: '../../../../../../' + outside.slice(1) + '/secret' },
    'ignored/keep.txt': 'K\n',
    'ignored/drop.txt': 'D\n',
    'secret.key': 'key\n',
    '.dockerignore': 'ignored\n!ignored/keep.txt\n*.key\nDockerfile\n',
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
  });
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(context, { recursive: true, force: true });
  await fs.rm(outside, { recursive: true, force: true });
});

async function buildRoot(dockerfile: string): Promise<string> {
  const { id } = await build({ backend, context, dockerfileContent: dockerfile });
  return backend.image(id).state.dir;
}

async function tree(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await fs.readdir(path.join(dir, base), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = base ? `${base}/${e.name}` : e.name;
    out.push(e.isDirectory() ? rel + '/' : rel);
    if (e.isDirectory()) out.push(...(await tree(dir, rel)));
  }
  return out;
}

const read = (root: string, name: string): Promise<string> => fs.readFile(path.join(root, name), 'utf8');

describe('COPY and ADD', () => {
  it('copies a file to a file path, into an existing directory, and into a new directory when dest ends with /', async () => {
    const root = await buildRoot('FROM busybox\nCOPY a.txt /renamed\nCOPY a.txt /etc\nCOPY b.txt /new/dir/\n');
    expect(await read(root, 'renamed')).toBe('A\n');
    expect(await read(root, 'etc/a.txt')).toBe('A\n');
    expect(await read(root, 'new/dir/b.txt')).toBe('B\n');
  });

  it('copies the contents of a directory, keeping symlinks inside it as links', async () => {
    const root = await buildRoot('FROM busybox\nCOPY dir /d\n');
    expect(await tree(root, 'd')).toEqual(['d/link', 'd/sub/', 'd/sub/y.txt', 'd/x.txt']);
    expect(await fs.readlink(path.join(root, 'd/link'))).toBe('x.txt');
  });

  it('expands wildcards and requires a directory destination for several sources', async () => {
    const root = await buildRoot('FROM busybox\nCOPY *.txt /w/\n');
    expect(await tree(root, 'w')).toEqual(['w/a.txt', 'w/b.txt']);
    await expect(buildRoot('FROM busybox\nCOPY *.txt /single\n')).rejects.toMatchObject({
      reason: 'When using COPY with more than one source file, the destination must be a directory and end with a /',
      line: 2,
    });
    await expect(buildRoot('FROM busybox\nCOPY *.none /w/\n')).rejects.toMatchObject({ message: 'COPY failed: no source files were specified' });
  });

  it('resolves relative destinations against WORKDIR', async () => {
    const root = await buildRoot('FROM busybox\nWORKDIR /app\nCOPY a.txt .\nCOPY b.txt sub/\n');
    expect(await tree(root, 'app')).toEqual(['app/a.txt', 'app/sub/', 'app/sub/b.txt']);
  });

  it('applies .dockerignore with ! exceptions, and leaves out the Dockerfile and .dockerignore when they are ignored', async () => {
    const root = await buildRoot('FROM busybox\nCOPY . /ctx/\n');
    const files = await tree(root, 'ctx');
    expect(files).toContain('ctx/ignored/keep.txt');
    expect(files).not.toContain('ctx/ignored/drop.txt');
    expect(files).not.toContain('ctx/secret.key');
    expect(files).not.toContain('ctx/Dockerfile');
    await expect(buildRoot('FROM busybox\nCOPY secret.key /\n')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('reads the Dockerfile from the context even when .dockerignore excludes it', async () => {
    const { id } = await build({ backend, context });
    expect(await read(backend.image(id).state.dir, 'ctx/a.txt')).toBe('A\n');
  });

  it('keeps sources inside the context: ../, absolute paths and escaping symlinks are re-rooted (B3)', async () => {
    const root = await buildRoot('FROM busybox\nCOPY ../../a.txt /up\nCOPY /b.txt /abs\n');
    expect(await read(root, 'up')).toBe('A\n');
    expect(await read(root, 'abs')).toBe('B\n');
    for (const link of ['escape-abs', 'escape-rel']) {
      await expect(buildRoot(`FROM busybox\nCOPY ${link} /leak\n`)).rejects.toMatchObject({ code: 'NotFound' });
    }
  });

  it('sets owners with --chown (names from the image /etc/passwd) and modes with --chmod', async () => {
    const root = await buildRoot('FROM busybox\nCOPY --chown=app a.txt /o1\nCOPY --chown=7:staff --chmod=640 b.txt /o2\nCOPY dir /o3\n');
    const o1 = await fs.stat(path.join(root, 'o1'));
    const o2 = await fs.stat(path.join(root, 'o2'));
    const o3 = await fs.stat(path.join(root, 'o3/x.txt'));
    expect([o1.uid, o1.gid]).toEqual([1000, 1001]);
    expect([o2.uid, o2.gid, o2.mode & 0o777]).toEqual([7, 50, 0o640]);
    expect([o3.uid, o3.gid]).toEqual([0, 0]);
    await expect(buildRoot('FROM busybox\nCOPY --chown=nobody a.txt /x\n')).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(buildRoot('FROM busybox\nCOPY --chmod=999 a.txt /x\n')).rejects.toMatchObject({ line: 2 });
  });

  it('writes heredoc sources, expanding variables unless the delimiter is quoted', async () => {
    const root = await buildRoot("FROM busybox\nENV WHO=world\nCOPY <<EOF <<'RAW' /h/\nhello $WHO '$WHO' \"q\" \\$WHO\nEOF\nkeep $WHO\nRAW\n");
    expect(await read(root, 'h/EOF')).toBe('hello world \'world\' "q" $WHO\n');
    expect(await read(root, 'h/RAW')).toBe('keep $WHO\n');
  });

  it('extracts local tar archives with ADD (also gzip), but COPY copies them as files', async () => {
    const src = path.join(context, 'pack');
    await fs.mkdir(src);
    await fs.writeFile(path.join(src, 'inner.txt'), 'inner\n');
    execFileSync('tar', ['-cf', path.join(context, 'p.tar'), '-C', src, 'inner.txt']);
    execFileSync('tar', ['-czf', path.join(context, 'p.tgz'), '-C', src, 'inner.txt']);
    const root = await buildRoot('FROM busybox\nADD p.tar /t/\nADD p.tgz /z\nCOPY p.tar /c/\n');
    expect(await read(root, 't/inner.txt')).toBe('inner\n');
    expect(await read(root, 'z/inner.txt')).toBe('inner\n');
    expect((await fs.stat(path.join(root, 'c/p.tar'))).isFile()).toBe(true);
  });

  it('keeps ADD archive entries inside the destination even when they try ../ (T1)', async () => {
    const evil = path.join(outside, 'evil');
    await fs.mkdir(evil);
    await fs.writeFile(path.join(evil, 'pwned'), 'x\n');
    execFileSync('tar', ['-cf', path.join(context, 'evil.tar'), '-C', evil, '--transform', 's,^,../../../,', 'pwned']);
    const root = await buildRoot('FROM busybox\nADD evil.tar /dst/\n');
    expect(await read(root, 'dst/pwned')).toBe('x\n');
  });

  it('downloads ADD URLs (loopback only) with mode 0600 and verifies --checksum', async () => {
    const server = http.createServer((req, res) => res.end(req.url === '/files/remote.txt' ? 'remote\n' : ''));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/remote.txt`;
    try {
      const root = await buildRoot(`FROM busybox\nADD ${url} /r/\n`);
      expect(await read(root, 'r/remote.txt')).toBe('remote\n');
      expect((await fs.stat(path.join(root, 'r/remote.txt'))).mode & 0o777).toBe(0o600);
      await expect(buildRoot(`FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /r/\n`)).rejects.toMatchObject({ code: 'DigestMismatch' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails on a missing source with a NotFound error naming it, leaving nothing committed', async () => {
    await expect(buildRoot('FROM busybox\nCOPY missing.txt /\n')).rejects.toMatchObject({
      code: 'NotFound',
      details: { line: 2 },
    });
    expect(backend.committed.size).toBe(0);
  });

  it('honours --exclude', async () => {
    const root = await buildRoot('FROM busybox\nCOPY --exclude=sub --exclude=*.txt dir /e/\n');
    expect(await tree(root, 'e')).toEqual(['e/link']);
  });
});
