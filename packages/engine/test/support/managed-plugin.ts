import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createBusyboxRootfs } from '@ctr/image';

/**
 * A managed plugin's directory as `docker plugin create` takes it: `config.json` and `rootfs/`.
 * The rootfs is busybox plus this directory's test server; the host's node comes in read-only
 * through the config's mounts (/usr, and /lib, /lib64, which are links into it here).
 */
export async function writePluginDir(dir: string, config: Record<string, unknown> = {}): Promise<string> {
  await createBusyboxRootfs(path.join(dir, 'rootfs'));
  await fs.mkdir(path.join(dir, 'rootfs', 'plugin'), { recursive: true });
  await fs.copyFile(path.join(__dirname, 'managed-plugin-server.js'), path.join(dir, 'rootfs', 'plugin', 'server.js'));
  const hostMount = (p: string): object => ({ Source: p, Destination: p, Type: 'bind', Options: ['rbind', 'ro'] });
  const full = {
    description: 'A test plugin that answers Plugin.Activate',
    documentation: 'https://docs.docker.com/engine/extend/',
    // As docs/extend/config.md writes them: lower case, interface types as strings.
    entrypoint: ['/usr/bin/node', '/plugin/server.js', 'test.sock', 'VolumeDriver'],
    interface: { types: ['docker.volumedriver/1.0'], socket: 'test.sock' },
    network: { type: 'none' },
    mounts: [hostMount('/usr'), hostMount('/lib'), hostMount('/lib64')],
    ...config,
  };
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(full, null, 2));
  return dir;
}

/** One POST of the plugin protocol over a unix socket: the status and the JSON answer. */
export function pluginCall(socket: string, method: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: 'POST', path: `/${method}`, headers: { Accept: 'application/vnd.docker.plugins.v1.2+json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end('{}');
  });
}

/** The host PID of a plugin's process as runc knows it, or undefined when runc has no such container. */
export function pluginPid(runRoot: string, id: string): number | undefined {
  try {
    const state = JSON.parse(execFileSync('runc', ['--root', path.join(runRoot, 'plugins', 'runtime', 'runc'), 'state', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { pid: number; status: string };
    return state.status === 'stopped' ? undefined : state.pid;
  } catch {
    return undefined;
  }
}

/** Whether a process runs (a zombie does not). */
export function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

/** Mount points whose path has `text` in it, from this process's mount table. */
export async function mountsContaining(text: string): Promise<string[]> {
  const table = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return table
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.includes(text));
}

/**
 * Stop every plugin process of a test root, whatever state the test left it in: for afterAll.
 * runc's own states are killed and deleted; conmon goes with its container.
 */
export function killPlugins(runRoot: string): void {
  const runcRoot = path.join(runRoot, 'plugins', 'runtime', 'runc');
  let ids: string[] = [];
  try {
    ids = (JSON.parse(execFileSync('runc', ['--root', runcRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') as { id: string }[] | null ?? []).map((s) => s.id);
  } catch {
    return;
  }
  for (const id of ids) {
    try {
      execFileSync('runc', ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
    } catch {
      // Gone already.
    }
  }
}
