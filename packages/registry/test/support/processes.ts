import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { parseDigest, type Descriptor } from '@ctr/image';

export const run = promisify(execFile);

/** A port that was free a moment ago on 127.0.0.1 (for servers that cannot be told to pick one). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Poll `url` until it answers at all (any status), or fail after `ms`. */
export async function waitForHttp(url: string, child: ChildProcess, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited with ${child.exitCode} before serving ${url}`);
    try {
      const res = await request(url);
      await res.body.dump();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Stop a child we started, by its PID, and wait for it to exit. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid!, signal);
  await exited;
}

export interface DockerRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  url: string;
  root: string;
  stop(): Promise<void>;
}

/** The Debian `docker-registry` (distribution v2) on 127.0.0.1 with its storage in a temp dir. */
export async function startDockerRegistry(extraConfig = ''): Promise<DockerRegistry> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-distribution-'));
  const port = await freePort();
  const config = path.join(root, 'config.yml');
  await fs.writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(root, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      extraConfig,
    ].join('\n'),
  );
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  await spawned;
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`, child);
  } catch (error) {
    await stopChild(child);
    await fs.rm(root, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    root,
    stop: async () => {
      await stopChild(child);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * An OCI image layout holding a busybox image, made with umoci (a tool ctr did not write):
 * one layer with /bin/busybox, tag `latest`.
 */
export async function makeBusyboxLayout(parent: string): Promise<string> {
  const dir = path.join(parent, 'busybox-layout');
  await run('umoci', ['init', '--layout', dir]);
  await run('umoci', ['new', '--image', `${dir}:latest`]);
  await run('umoci', ['insert', '--image', `${dir}:latest`, '/bin/busybox', '/bin/busybox']);
  await run('umoci', ['config', '--image', `${dir}:latest`, '--config.cmd', '/bin/sh']);
  return dir;
}

/** `skopeo copy` between transports, trusting any image (test policy) and plain HTTP; `flags` are copy's (`--dest-cert-dir DIR`). */
export async function skopeoCopy(from: string, to: string, flags: readonly string[] = []): Promise<void> {
  await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', ...flags, from, to], { maxBuffer: 16 * 1024 * 1024 });
}

/** The manifest descriptor an OCI layout lists for `tag`. */
export async function layoutManifest(dir: string, tag = 'latest'): Promise<Descriptor> {
  const index = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as { manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag) ?? index.manifests[0];
  if (entry === undefined) throw new Error(`${dir} lists no images`);
  return { mediaType: entry.mediaType, digest: parseDigest(entry.digest), size: entry.size };
}
