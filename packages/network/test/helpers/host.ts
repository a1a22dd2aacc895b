import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { NetworkManager, type NetworkManagerOptions } from '@ctr/network';

/**
 * Per-test-file sandboxing for integration tests: each file gets its own state root, a
 * bridge prefix and a /20 of 10.213.0.0/16 (inside bridges the test makes; nothing leaves
 * the machine), and afterAll checks that nothing of its own is left on the host.
 */
export interface TestHost {
  manager: NetworkManager;
  root: string;
  options: NetworkManagerOptions;
  /** `10.213.<block*16 + i>.0/24` */
  subnet(i: number): string;
  /** Links, netns files and iptables rules of this file still present. */
  leftovers(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function makeTestHost(prefix: string, block: number): Promise<TestHost> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), `ctr-net-${prefix}-`));
  const options: NetworkManagerOptions = {
    root,
    runRoot: path.join(root, 'run'),
    bridgePrefix: prefix,
    defaultBridge: { bridgeName: `${prefix}-dflt`, subnet: `10.213.${block * 16 + 15}.0/24` },
    addressPool: { base: `10.213.${block * 16 + 8}.0/21`, size: 24 },
  };
  const manager = new NetworkManager(options);
  const host: TestHost = {
    manager,
    root,
    options,
    subnet: (i) => `10.213.${block * 16 + i}.0/24`,
    async leftovers() {
      const out: string[] = [];
      const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show']).toString()) as Array<{ ifname: string; ifalias?: string }>;
      // The manager names what it makes with a hash of its root (see StatePaths.tag).
      const aliasTag = `ctr:${createHash('sha256').update(root).digest('hex').slice(0, 8)}:`;
      for (const l of links) if (l.ifname.startsWith(`${prefix}-`) || l.ifalias?.startsWith(aliasTag)) out.push(`link ${l.ifname}`);
      const rules = execFileSync('iptables-save').toString().split('\n');
      for (const r of rules) if (r.includes(aliasTag) || r.includes(` ${prefix}-`)) out.push(`rule ${r}`);
      const netns = await fs.readdir(path.join(root, 'run', 'netns')).catch(() => [] as string[]);
      for (const n of netns) out.push(`netns ${n}`);
      const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
      for (const m of mounts.split('\n')) if (m.includes(root)) out.push(`mount ${m}`);
      const pid = await fs.readFile(path.join(root, 'run', 'network', 'dns.pid'), 'utf8').catch(() => '');
      if (pid) out.push(`dns server ${pid}`);
      return out;
    },
    async cleanup() {
      const sandboxes = await fs.readdir(path.join(root, 'networks', 'sandboxes')).catch(() => [] as string[]);
      for (const s of sandboxes) await manager.detach(s.replace(/\.json$/, '')).catch(() => undefined);
      for (const n of await manager.listNetworks()) {
        if (!['bridge', 'host', 'none'].includes(n.Name)) await manager.removeNetwork(n.Id).catch(() => undefined);
      }
      await manager.gc();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
  return host;
}

/** Runs a command inside a namespace and returns its stdout. */
export function inNetns(netnsPath: string, args: string[], timeoutMs = 10_000): string {
  return execFileSync('nsenter', [`--net=${netnsPath}`, ...args], { timeout: timeoutMs }).toString();
}

/** Like inNetns but returns the exit status instead of throwing. */
export function statusInNetns(netnsPath: string, args: string[], timeoutMs = 10_000): number {
  try {
    execFileSync('nsenter', [`--net=${netnsPath}`, ...args], { timeout: timeoutMs, stdio: 'ignore' });
    return 0;
  } catch (e) {
    return (e as { status?: number }).status ?? -1;
  }
}

/** `busybox httpd` serving one file from inside a namespace; kill it by the returned process. */
export async function startHttpd(netnsPath: string, dir: string, body: string): Promise<ChildProcess> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'index.html'), body);
  const child = spawn('nsenter', [`--net=${netnsPath}`, '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    if (inNetns(netnsPath, ['/bin/busybox', 'netstat', '-ltn']).includes(':80 ')) return child;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill();
  throw new Error('busybox httpd did not start');
}

export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** busybox nslookup against a server; returns the addresses it printed for the name. */
export function lookup(netnsPath: string, name: string, server = '127.0.0.11'): string[] {
  let out = '';
  try {
    out = inNetns(netnsPath, ['/bin/busybox', 'nslookup', name, server]);
  } catch (e) {
    out = String((e as { stdout?: Buffer }).stdout ?? '');
  }
  const answer = out.split(/Name:\s/)[1] ?? '';
  return [...answer.matchAll(/Address(?: \d+)?:\s+([\d.]+)/g)].map((m) => m[1] ?? '');
}

/** HTTP GET from the host; resolves with status and body. */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}
