/**
 * The registry serves HTTPS with a certificate and key (docker reaches a trust server over
 * HTTPS only): the RegistryServer `tls` option and `ctr registry serve --tls-cert --tls-key`,
 * with a self-signed certificate made by openssl for 127.0.0.1.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { parseMetadata, RegistryServer, verifyMetadata, type TimestampMeta } from '@ctr/registry';
import { call, TestRepo } from './support/trust-server-helpers';

const repoRoot = path.resolve(__dirname, '../../..');
let dir: string;
let cert: string;
let keyFile: string;
let certFile: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'trust-tls-'));
  certFile = path.join(dir, 'cert.pem');
  keyFile = path.join(dir, 'key.pem');
  execFileSync('/usr/bin/openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  cert = readFileSync(certFile, 'utf8');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RegistryServer with tls', () => {
  let server: RegistryServer;

  beforeAll(async () => {
    server = new RegistryServer({ store: new MemoryContentStore(), root: path.join(dir, 'server'), tls: { cert, key: readFileSync(keyFile) } });
    await server.listen();
  });
  afterAll(() => server.close());

  test('its URL is https and /v2/ answers over TLS', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const reply = await call(`${server.url}/v2/`, { ca: cert });
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({});
  });

  test('host is host:port without the scheme', () => {
    expect(server.host).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test('a trust repository is published and its timestamp read over HTTPS', async () => {
    const r = new TestRepo(server.url, `${server.host}/secure`, cert);
    expect((await r.publish()).status).toBe(200);
    const root = r.rootMeta();
    const timestamp = verifyMetadata(parseMetadata<TimestampMeta>((await r.get('timestamp.json')).body, 'timestamp'), 'timestamp', root.keys, root.roles.timestamp);
    expect(timestamp.version).toBe(1);
  });
});

describe('ctr registry serve', () => {
  const ctr = path.join(repoRoot, 'packages/cli/bin/ctr');
  const env = { ...process.env, CTR_ROOT: '', CTR_RUNROOT: '' };

  test('--tls-cert and --tls-key serve HTTPS', async () => {
    env.CTR_ROOT = path.join(dir, 'cli-root');
    env.CTR_RUNROOT = path.join(dir, 'cli-run');
    const child = spawn(ctr, ['registry', 'serve', '--port', '0', '--root', path.join(dir, 'cli-registry'), '--tls-cert', certFile, '--tls-key', keyFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /registry listening on (\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`ctr registry serve exited with ${code}`)));
      });
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect((await call(`${url}/v2/`, { ca: cert })).status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('--tls-cert without --tls-key is refused', () => {
    let failure: { status: number | null; stderr: string } | undefined;
    try {
      execFileSync(ctr, ['registry', 'serve', '--port', '0', '--root', path.join(dir, 'cli-registry2'), '--tls-cert', certFile], { env: { ...process.env, CTR_ROOT: path.join(dir, 'r2'), CTR_RUNROOT: path.join(dir, 'rr2') }, stdio: 'pipe' });
    } catch (error) {
      const e = error as { status: number | null; stderr: Buffer };
      failure = { status: e.status, stderr: e.stderr.toString() };
    }
    expect(failure?.status).not.toBe(0);
    expect(failure?.stderr).toContain('--tls-cert and --tls-key must be given together');
  });
});
