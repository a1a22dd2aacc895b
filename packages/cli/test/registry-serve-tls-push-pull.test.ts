/**
 * `ctr push` and `ctr pull` against `ctr registry serve --tls-cert/--tls-key` on 127.0.0.1, whose
 * certificate no trusted CA signed: a loopback registry is reached over HTTPS without
 * verification, as docker reaches it (no --insecure-registry, no CA given).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/support/free-port';
import { makeTlsCertificates } from '../../../test/support/tls-certs';
import { localCtr, type LocalCtr } from './local-ctr';

let local: LocalCtr;
let certs: string;
let server: ChildProcess | undefined;
let registry: string;

beforeAll(async () => {
  local = await localCtr('registry-serve-tls');
  certs = await mkdtemp(join(tmpdir(), 'ctr-cli-registry-serve-tls-'));
  await makeTlsCertificates(certs);
  const port = await freePort();
  const [bin, ...args] = local.argv('registry', 'serve', '--port', String(port), '--root', join(certs, 'registry'), '--tls-cert', join(certs, 'server-cert.pem'), '--tls-key', join(certs, 'server-key.pem'));
  server = spawn(bin as string, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const listening = await new Promise<string>((resolve, reject) => {
    let out = '';
    server?.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    server?.once('exit', (code) => reject(new Error(`ctr registry serve exited with ${code}`)));
  });
  expect(listening).toBe(`registry listening on https://127.0.0.1:${port}`);
  registry = `127.0.0.1:${port}`;
});

afterAll(async () => {
  if (server?.pid !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  if (certs) await rm(certs, { recursive: true, force: true });
  await local?.cleanup();
});

test('ctr push to and ctr pull from a TLS registry on 127.0.0.1 with a self-signed certificate succeed', async () => {
  const reference = `${registry}/tls/busybox:v1`;
  expect((await local.run('tag', 'busybox', reference)).code).toBe(0);
  const pushed = await local.run('push', reference);
  expect(pushed).toMatchObject({ code: 0, stderr: '' });
  expect(pushed.stdout).toContain(`The push refers to repository [${registry}/tls/busybox]`);
  const id = (await local.run('images', '-q', reference)).stdout;

  expect((await local.run('rmi', reference)).code).toBe(0);
  const pulled = await local.run('pull', reference);
  expect(pulled).toMatchObject({ code: 0, stderr: '' });
  expect(pulled.stdout).toContain(`Status: Downloaded newer image for ${reference}`);
  expect((await local.run('images', '-q', reference)).stdout).toBe(id);
});

test('ctr registry serve refuses --tls-cert without --tls-key, before it listens', async () => {
  const result = await local.run('registry', 'serve', '--port', '1', '--root', join(certs, 'refused'), '--tls-cert', join(certs, 'server-cert.pem'));
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('--tls-cert and --tls-key must be given together');
});
