import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { build, openRemoteContext, parseGitContextUrl, remoteContextKind } from '@ctr/dockerfile';
import { busybox, DirBackend } from './helpers/dir-backend';
import { freePort } from '../../../test/support/free-port';
import { startGitDaemon, type GitDaemon } from '../../../test/support/git-daemon';

const execFileAsync = promisify(execFile);

/** The Dockerfile every remote context here carries: the whole context copied into the image. */
const COPY_ALL = 'FROM busybox\nCOPY . /ctx/\n';

let backend: DirBackend;
let scratchDir: string;

beforeEach(async () => {
  backend = await DirBackend.create({ busybox });
  scratchDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-remote-scratch-'));
});
afterEach(async () => {
  await backend.dispose();
  await fs.rm(scratchDir, { recursive: true, force: true });
});

/** Build from `remote` and list what the image's /ctx holds (path → content); what the fetch left in the scratch directory too. */
async function built(remote: string, dockerfile?: string): Promise<{ files: Record<string, string>; left: string[] }> {
  const { id } = await build({ backend, context: { remote }, scratchDir, ...(dockerfile ? { dockerfile } : {}) });
  const root = path.join(backend.image(id).state.dir, 'ctx');
  const files: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      const name = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') await walk(name);
      } else files[name] = await fs.readFile(path.join(root, name), 'utf8');
    }
  };
  await fs.access(root).then(() => walk(''), () => undefined);
  return { files, left: await fs.readdir(scratchDir) };
}

describe("which contexts are remote, by docker's rules", () => {
  it.each([
    ['https://example.com/repo.git', 'git'],
    ['https://example.com/repo.git#main:sub', 'git'],
    ['http://example.com/repo.git', 'git'],
    ['git://example.com/repo', 'git'],
    ['git@github.com:user/repo', 'git'],
    ['github.com/user/repo', 'git'],
    ['https://example.com/context.tar.gz', 'url'],
    ['http://example.com/Dockerfile', 'url'],
    ['https://example.com/repo.git/Dockerfile', 'url'],
    ['./repo.git', undefined],
    ['/srv/app', undefined],
  ])('%s → %s', (text, kind) => {
    expect(remoteContextKind(text)).toBe(kind);
  });

  it.each([
    ['https://example.com/repo.git', { repository: 'https://example.com/repo.git' }],
    ['https://example.com/repo.git#v1', { repository: 'https://example.com/repo.git', ref: 'v1' }],
    ['https://example.com/repo.git#v1:docker/app', { repository: 'https://example.com/repo.git', ref: 'v1', subdir: 'docker/app' }],
    ['https://example.com/repo.git#:docker', { repository: 'https://example.com/repo.git', subdir: 'docker' }],
    ['git@github.com:user/repo.git#pull/42/head', { repository: 'git@github.com:user/repo.git', ref: 'pull/42/head' }],
    ['github.com/user/repo', { repository: 'https://github.com/user/repo' }],
  ])('%s splits into %j', (text, parts) => {
    expect(parseGitContextUrl(text)).toEqual(parts);
  });

  it('refuses a ref that git would read as an option', () => {
    expect(() => parseGitContextUrl('https://example.com/repo.git#--upload-pack=x')).toThrow('invalid refspec: --upload-pack=x');
  });
});

describe('an http(s) context', () => {
  let server: Server;
  let base: string;
  const routes = new Map<string, { type?: string; status?: number; body: Buffer }>();
  /** The connections of requests to `/endless.html`, whose body never ends. */
  const endless: Socket[] = [];

  beforeAll(async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-remote-tar-'));
    try {
      await fs.writeFile(path.join(dir, 'Dockerfile'), COPY_ALL);
      await fs.mkdir(path.join(dir, 'app'));
      await fs.writeFile(path.join(dir, 'app', 'main.sh'), 'echo hi\n');
      const tar = (await execFileAsync('tar', ['-c', '-C', dir, '.'], { encoding: 'buffer', maxBuffer: 1 << 24 })).stdout;
      const compressed = async (command: string): Promise<Buffer> => {
        await fs.writeFile(path.join(dir, 'ctx.tar'), tar);
        await execFileAsync(command, ['-kf', path.join(dir, 'ctx.tar')]);
        const ext = { gzip: 'gz', bzip2: 'bz2', xz: 'xz' }[command]!;
        return fs.readFile(path.join(dir, `ctx.tar.${ext}`));
      };
      routes.set('/ctx.tar', { type: 'application/x-tar', body: tar });
      routes.set('/ctx.tar.gz', { type: 'application/gzip', body: await compressed('gzip') });
      routes.set('/ctx.tar.bz2', { type: 'application/octet-stream', body: await compressed('bzip2') });
      routes.set('/ctx.tar.xz', { body: await compressed('xz') });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
    routes.set('/Dockerfile', { type: 'text/plain; charset=utf-8', body: Buffer.from('FROM busybox\nLABEL from=url\nCOPY . /ctx/\n') });
    routes.set('/Dockerfile-untyped', { type: 'application/octet-stream', body: Buffer.from('FROM busybox\nCOPY . /ctx/\n') });
    routes.set('/page.html', { type: 'text/html', body: Buffer.from('<html><body>hi</body></html>') });
    routes.set('/archive.zip', { type: 'application/octet-stream', body: Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(600, 1)]) });
    routes.set('/empty', { type: 'application/x-tar', body: Buffer.alloc(0) });
    routes.set('/private', { status: 403, body: Buffer.from('go away\n') });
    server = createServer((req, res) => {
      if (req.url === '/endless.html') {
        endless.push(req.socket);
        // More than the builder reads to tell the type, and never the end.
        res.writeHead(200, { 'content-type': 'text/html' }).write(`<html><body>${'and on '.repeat(200)}`);
        return;
      }
      const route = routes.get(req.url ?? '');
      if (!route) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file\n');
        return;
      }
      res.writeHead(route.status ?? 200, route.type ? { 'content-type': route.type } : {});
      res.end(route.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    for (const socket of endless.splice(0)) socket.destroy();
  });

  it.each(['/ctx.tar', '/ctx.tar.gz', '/ctx.tar.bz2', '/ctx.tar.xz'])('%s: a tar, plain or compressed, is the context, and the download is gone afterwards', async (route) => {
    const { files, left } = await built(`${base}${route}`);
    expect(files).toEqual({ Dockerfile: COPY_ALL, 'app/main.sh': 'echo hi\n' });
    expect(left).toEqual([]);
  });

  it('a plain-text Dockerfile becomes the only file of the context, under the name the build reads', async () => {
    const { files } = await built(`${base}/Dockerfile`, 'build/Dockerfile.remote');
    expect(files).toEqual({ 'build/Dockerfile.remote': 'FROM busybox\nLABEL from=url\nCOPY . /ctx/\n' });
  });

  it('octet-stream that reads as text is taken for a Dockerfile, as dockerd sniffs it', async () => {
    expect((await built(`${base}/Dockerfile-untyped`)).files).toEqual({ Dockerfile: 'FROM busybox\nCOPY . /ctx/\n' });
  });

  it('a status of 400 or more is an error naming the status and what the server said', async () => {
    await expect(built(`${base}/nothing-here`)).rejects.toMatchObject({
      code: 'NotFound',
      message: `error downloading remote context ${base}/nothing-here: failed to GET ${base}/nothing-here with status 404 Not Found: no such file`,
    });
    await expect(built(`${base}/private`)).rejects.toMatchObject({ code: 'Denied' });
  });

  it('an unreachable server is Unavailable, with the reason', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/ctx.tar`;
    await expect(built(url)).rejects.toMatchObject({ code: 'Unavailable', message: `error downloading remote context ${url}: connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  it('a content type that is neither a tar nor text is refused with the type', async () => {
    await expect(built(`${base}/page.html`)).rejects.toMatchObject({ code: 'InvalidArgument', message: `error detecting content type for remote ${base}/page.html: unsupported Content-Type "text/html"` });
  });

  it('a context refused by its type closes its connection, unread body and all', async () => {
    await expect(built(`${base}/endless.html`)).rejects.toMatchObject({ code: 'InvalidArgument' });
    const [socket] = endless;
    if (!socket!.closed) await once(socket!, 'close');
  });

  it('bytes that are not a tar in any of its compressions are refused as such', async () => {
    await expect(built(`${base}/archive.zip`)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining(`unsupported remote context ${base}/archive.zip: invalid tar archive`) });
    expect(await fs.readdir(scratchDir)).toEqual([]);
  });

  it('an empty response is refused', async () => {
    await expect(built(`${base}/empty`)).rejects.toMatchObject({ message: `error detecting content type for remote ${base}/empty: empty response` });
  });
});

describe('a git context (git daemon on 127.0.0.1)', () => {
  let daemon: GitDaemon;

  beforeAll(async () => {
    daemon = await startGitDaemon();
    await daemon.repository('lib', [{ files: { 'lib.txt': 'library\n' } }]);
    await daemon.repository('app', [
      { files: { Dockerfile: COPY_ALL, 'version.txt': '1\n', 'docker/Dockerfile': COPY_ALL, 'docker/inner.txt': 'inner\n' }, tag: 'v1' },
      { files: { 'version.txt': '2\n' }, submodule: { path: 'vendor/lib', url: daemon.url('lib') } },
    ]);
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it("without a ref: the default branch's last commit, submodules checked out, the clone gone afterwards", async () => {
    const { files, left } = await built(daemon.url('app'));
    expect(files['version.txt']).toBe('2\n');
    expect(files['vendor/lib/lib.txt']).toBe('library\n');
    expect(left).toEqual([]);
  });

  it("the context has no .git: the repository's history and the URL it came from stay out of the image, as BuildKit's", async () => {
    const context = await openRemoteContext(daemon.url('app'), { signal: new AbortController().signal });
    try {
      expect((await fs.readdir(context.root)).sort()).toEqual(['.gitmodules', 'Dockerfile', 'docker', 'vendor', 'version.txt']);
    } finally {
      await context.dispose();
    }
  });

  it('#tag: that commit', async () => {
    expect((await built(`${daemon.url('app')}#v1`)).files['version.txt']).toBe('1\n');
  });

  it('#ref:subdir: that directory is the context', async () => {
    expect((await built(`${daemon.url('app')}#main:docker`)).files).toEqual({ Dockerfile: COPY_ALL, 'inner.txt': 'inner\n' });
  });

  it('#:subdir: the default branch, that directory', async () => {
    expect(Object.keys((await built(`${daemon.url('app')}#:docker`)).files).sort()).toEqual(['Dockerfile', 'inner.txt']);
  });

  it('a ref the repository does not have is NotFound, with what git said', async () => {
    await expect(built(`${daemon.url('app')}#no-such-branch`)).rejects.toMatchObject({
      code: 'NotFound',
      message: expect.stringMatching(/^unable to 'git clone' to temporary context directory: error fetching: .*couldn't find remote ref no-such-branch/s),
    });
    expect(await fs.readdir(scratchDir)).toEqual([]);
  });

  it('a subdirectory the commit does not have is NotFound', async () => {
    await expect(built(`${daemon.url('app')}#v1:nowhere`)).rejects.toMatchObject({ code: 'NotFound', message: `error setting git context, nowhere not found in ${daemon.url('app')} at v1` });
  });

  it('a repository the server does not have is NotFound', async () => {
    await expect(built(daemon.url('missing'))).rejects.toMatchObject({ code: 'NotFound' });
  });
});
