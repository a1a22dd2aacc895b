import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGitDaemon, type GitDaemon } from '../../../test/support/git-daemon';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

const execFileAsync = promisify(execFile);

describe("ctr build: docker build's flags and output (real runc, conmon, overlayfs)", () => {
  let local: LocalCtr;
  let context: string;
  const ctr = (...args: string[]): Promise<CtrResult> => local.run(...args);

  beforeAll(async () => {
    local = await localCtr('build-parity');
    context = await mkdtemp(join(tmpdir(), 'ctr-cli-build-parity-'));
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await local?.cleanup();
  });

  const dockerfile = (text: string): Promise<void> => writeFile(join(context, 'Dockerfile'), text);

  /** Build quietly and print what the RUN step wrote to /seen. */
  async function seen(...flags: string[]): Promise<string> {
    const built = await ctr('build', '-q', '--no-cache', ...flags, context);
    expect(built.stderr).toBe('');
    return (await ctr('run', '--rm', '--network', 'none', built.stdout.trim(), 'cat', '/seen')).stdout;
  }

  test('RUN steps are on the default bridge unless --network says none', async () => {
    await dockerfile("FROM busybox\nRUN ip -o link | awk -F': ' '{print $2}' | cut -d@ -f1 > /seen\n");
    expect(await seen()).toBe('lo\neth0\n');
    expect(await seen('--network', 'none')).toBe('lo\n');
  });

  test('--security-opt no-new-privileges reaches the step; a profile it cannot apply is refused', async () => {
    await dockerfile("FROM busybox\nRUN grep NoNewPrivs /proc/self/status | awk '{print $2}' > /seen\n");
    expect(await seen('--security-opt', 'no-new-privileges')).toBe('1\n');
    // A daemon's refusal, as docker's: exit code 1.
    const refused = await ctr('build', '--security-opt', 'apparmor=docker-default', context);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--security-opt apparmor=docker-default is not supported for build steps');
  });

  test('--isolation takes only default; --disable-content-trust and --compress change nothing here', async () => {
    await dockerfile('FROM busybox\nRUN echo same > /seen\n');
    expect(await seen('--isolation', 'default', '--disable-content-trust', '--compress')).toBe('same\n');
    const refused = await ctr('build', '--isolation', 'process', context);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('unsupported isolation: "process"');
  });

  test("the classic output names each RUN step's container, and the base and final images", async () => {
    await dockerfile('FROM busybox\nRUN hostname\n');
    const built = await ctr('build', '--no-cache', '-t', 'parity/out', context);
    const id = (await ctr('image', 'inspect', '--format', '{{.Id}}', 'parity/out')).stdout.trim().slice(7, 19);
    const base = (await ctr('image', 'inspect', '--format', '{{.Id}}', 'busybox')).stdout.trim().slice(7, 19);
    const container = /Running in ([0-9a-f]{12})/.exec(built.stdout)?.[1];
    expect(built.stdout).toBe(
      `Step 1/2 : FROM busybox\n ---> ${base}\nStep 2/2 : RUN hostname\n ---> Running in ${container}\n${container}\n` +
        ` ---> Removed intermediate container ${container}\n ---> ${id}\nSuccessfully built ${id}\nSuccessfully tagged parity/out:latest\n`,
    );
  });

  test('--progress quiet prints the ID alone; rawjson the API\'s JSON messages; a mode it does not know is refused', async () => {
    await dockerfile('FROM busybox\nLABEL progress=yes\n');
    const quiet = await ctr('build', '--progress', 'quiet', context);
    expect(quiet.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const raw = await ctr('build', '--progress', 'rawjson', context);
    const messages = raw.stdout.trim().split('\n').map((line) => JSON.parse(line) as { stream?: string; aux?: { ID: string } });
    expect(messages[0]).toEqual({ stream: 'Step 1/2 : FROM busybox\n' });
    expect(messages.at(-1)).toEqual({ aux: { ID: quiet.stdout.trim() } });
    const bad = await ctr('build', '--progress', 'fancy', context);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid progress mode "fancy"');
  });

  test('--progress tty draws the steps in place and ends with the finished frame', async () => {
    await dockerfile('FROM busybox\nRUN echo drawn\n');
    const tty = await ctr('build', '--no-cache', '--progress', 'tty', context);
    expect(tty.code).toBe(0);
    const frames = tty.stdout.split('\x1b[J').filter(Boolean);
    expect(frames.at(-1)).toMatch(/\[\+\] Building [0-9.]+s \(2\/2\) FINISHED\n\x1b\[2K => \[1\/2\] FROM busybox +[0-9.]+s\n\x1b\[2K => \[2\/2\] RUN echo drawn +[0-9.]+s\n$/);
  });

  test('--squash leaves one layer above the base; --cache-from takes comma-separated images', async () => {
    await dockerfile('FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n');
    const layers = async (image: string): Promise<number> => (JSON.parse((await ctr('image', 'inspect', '--format', '{{json .RootFS.Layers}}', image)).stdout) as string[]).length;
    const squashed = await ctr('build', '-q', '--squash', '--cache-from', 'busybox,parity/out', context);
    expect(squashed.code).toBe(0);
    expect(await layers(squashed.stdout.trim())).toBe((await layers('busybox')) + 1);
  });

  describe('a remote context', () => {
    let server: Server;
    let daemon: GitDaemon;
    beforeAll(async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ctr-cli-remote-'));
      await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY hello.txt /\n');
      await writeFile(join(dir, 'hello.txt'), 'hello from a tar\n');
      const tar = (await execFileAsync('tar', ['-cz', '-C', dir, '.'], { encoding: 'buffer' })).stdout;
      await rm(dir, { recursive: true, force: true });
      server = createServer((req, res) => (req.url === '/missing' ? res.writeHead(404).end('no such context\n') : res.writeHead(200, { 'content-type': 'application/gzip' }).end(tar)));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      daemon = await startGitDaemon();
      await daemon.repository('site', [{ files: { 'web/Dockerfile': 'FROM busybox\nCOPY index.html /\n', 'web/index.html': 'hello from git\n' } }]);
    });
    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
      await daemon?.stop();
    });

    test('an http(s) URL to a tar', async () => {
      const built = await ctr('build', '-q', `http://127.0.0.1:${(server.address() as AddressInfo).port}/context.tar.gz`);
      expect(built.stderr).toBe('');
      expect((await ctr('run', '--rm', '--network', 'none', built.stdout.trim(), 'cat', '/hello.txt')).stdout).toBe('hello from a tar\n');
    });

    test("an http(s) URL that cannot be downloaded is docker's CLI's error, not the daemon's", async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/missing`;
      const refused = await ctr('build', url);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(`unable to prepare context: unable to download remote context ${url}: failed to GET ${url} with status 404 Not Found: no such context\n`);
    });

    test('a git repository, #ref:subdir', async () => {
      const built = await ctr('build', '-q', `${daemon.url('site')}#main:web`);
      expect(built.stderr).toBe('');
      expect((await ctr('run', '--rm', '--network', 'none', built.stdout.trim(), 'cat', '/index.html')).stdout).toBe('hello from git\n');
    });
  });
});
