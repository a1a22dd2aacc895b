import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGitDaemon, type GitDaemon } from '../../../test/support/git-daemon';
import { makeTlsCertificates, readTlsFiles } from '../../../test/support/tls-certs';
import { cleanEnv, ctr as run, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let work: string;
let git: GitDaemon;

/** `ctr -H unix://<the test daemon> args…`, with no context or host from the environment. */
function ctr(...args: string[]): Promise<Result> {
  return run(['-H', `unix://${t.socket}`, ...args], { env: cleanEnv({ CTR_CONFIG: join(work, 'config') }) });
}

beforeAll(async () => {
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-remote-build-'));
  git = await startGitDaemon();
  await git.repository('tool', [{ files: { Dockerfile: 'FROM busybox\nCOPY VERSION /\nRUN cat /VERSION\n', VERSION: '3.1\n' }, tag: 'v3.1' }]);
});
afterAll(async () => {
  await git?.stop();
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});
afterEach(() => {
  expect(t.internalErrors.splice(0)).toEqual([]);
});

describe('ctr -H … build: what docker\'s CLI does on its side', () => {
  test('--compress: the context goes up gzipped and the daemon builds it', async () => {
    const context = join(work, 'compressed');
    await mkdir(context);
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nCOPY data /\n');
    await writeFile(join(context, 'data'), 'x'.repeat(10_000));
    const built = await ctr('build', '-q', '--compress', '-t', 'remote/compressed', context);
    expect(built).toMatchObject({ code: 0, stderr: '' });
    expect((await t.daemon.engine.inspectImage('remote/compressed')).Id).toBe(built.stdout.trim());
  });

  test('a git URL is cloned here and sent up as the context; the step output comes back as docker prints it', async () => {
    const built = await ctr('build', '--no-cache', '-t', 'remote/git', `${git.url('tool')}#v3.1`);
    expect(built.code).toBe(0);
    const id = /Running in ([0-9a-f]{12})\n/.exec(built.stdout)?.[1];
    expect(built.stdout).toContain(` ---> Running in ${id}\n3.1\n ---> Removed intermediate container ${id}\n`);
    expect(built.stdout).toContain('Successfully tagged remote/git:latest\n');
  });

  test('--network none reaches the daemon\'s RUN steps', async () => {
    const context = join(work, 'network');
    await mkdir(context);
    await writeFile(join(context, 'Dockerfile'), "FROM busybox\nRUN ip -o link | awk -F': ' '{print $2}' > /links\n");
    const built = await ctr('build', '-q', '--network', 'none', context);
    expect(built.code).toBe(0);
    expect((await ctr('run', '--rm', '--network', 'none', built.stdout.trim(), 'cat', '/links')).stdout).toBe('lo\n');
  });
});

describe('ctr -H … build https://…: the context is fetched here, trusting the CAs ctr was given', () => {
  let server: https.Server;
  let url: string;
  let certificates: string;

  beforeAll(async () => {
    certificates = join(work, 'tls');
    await mkdir(certificates);
    await makeTlsCertificates(certificates);
    const source = join(work, 'https-context');
    await mkdir(source);
    await writeFile(join(source, 'Dockerfile'), 'FROM busybox\nCOPY greeting /\n');
    await writeFile(join(source, 'greeting'), 'fetched over TLS\n');
    const tar = execFileSync('tar', ['-c', '-C', source, '.']);
    const { cert, key } = await readTlsFiles(certificates, 'server');
    // A new connection per request: a pooled one would keep the trust of the build that made it.
    server = https.createServer({ cert, key }, (_req, res) => res.writeHead(200, { 'content-type': 'application/x-tar', connection: 'close' }).end(tar));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/context.tar`;
  });
  afterAll(async () => {
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  /** `ctr -H … build -q -t tag url` trusting `ca` (NODE_EXTRA_CA_CERTS, as a user sets it), or no extra CA. */
  const build = (tag: string, ca: string | undefined): Promise<Result> =>
    run(['-H', `unix://${t.socket}`, 'build', '-q', '-t', tag, url], { env: cleanEnv({ CTR_CONFIG: join(work, 'config'), NODE_EXTRA_CA_CERTS: ca, CTR_EXTRA_CA_CERTS: undefined }) });

  test('with NODE_EXTRA_CA_CERTS naming the CA (CTR_EXTRA_CA_CERTS once the launcher moves it), the build gets the context', async () => {
    const built = await build('remote/https', join(certificates, 'ca.pem'));
    expect(built).toMatchObject({ code: 0, stderr: '' });
    expect((await ctr('run', '--rm', '--network', 'none', 'remote/https', 'cat', '/greeting')).stdout).toBe('fetched over TLS\n');
  });

  test('without it, the build fails here with a hint naming the variable', async () => {
    const built = await build('remote/https-untrusted', undefined);
    expect(built.code).toBe(1);
    expect(built.stderr).toContain(`unable to prepare context: unable to download remote context ${url}: unable to verify the first certificate`);
    expect(built.stderr).toMatch(/NODE_EXTRA_CA_CERTS/);
  });
});
