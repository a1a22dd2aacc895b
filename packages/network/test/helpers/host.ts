import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { bridgeNameFor, NetworkManager, type NetworkManagerOptions } from '@ctr/network';
import { listPortProxies } from '../../src/port-proxy';
import { ROOT_REGISTRY, StatePaths } from '../../src/state';
import { reserveTestBlock } from '../../../../test/support/test-subnets';

/**
 * Per-test-file sandboxing for integration tests: each run of a file gets its own state
 * root, a bridge prefix (3 letters + 1 random) and a /20 of the test range reserved host-wide
 * (test/support/test-subnets.ts), so parallel runs of the suite do not collide; afterAll checks that nothing of
 * its own is left on the host.
 */
export interface TestHost {
  manager: NetworkManager;
  root: string;
  prefix: string;
  options: NetworkManagerOptions;
  /** The first three octets of the i-th /24 of this file's block (0-15). */
  net(i: number): string;
  /** `${net(i)}.0/24`; /24 number 15 is the default bridge, 8-15 the address pool. */
  subnet(i: number): string;
  /** The Linux bridge of a network this host's manager named itself. */
  bridgeOf(network: { Id: string }): string;
  /** Links, netns files, iptables and ip6tables rules, port proxies, DNS server of this file still present; `final`
   * also counts the root's registry entry (gone only once nothing at all is left). */
  leftovers(final?: boolean): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** The manager names what it makes with a hash of its root (see StatePaths.tag). */
function tagOf(root: string): string {
  return createHash('sha256').update(root).digest('hex').slice(0, 8);
}

export async function makeTestHost(code: string): Promise<TestHost> {
  const prefix = `${code}${Math.floor(Math.random() * 36).toString(36)}`;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), `ctr-net-${prefix}-`));
  const block = reserveTestBlock();
  const net = block.net;
  // No name servers: the embedded DNS forwards the names it does not know to the host's, and
  // no test may send a query off this machine.
  const hostResolvConf = path.join(root, 'resolv.conf');
  await fs.writeFile(hostResolvConf, '# the host resolv.conf of network tests: no nameserver\n');
  const options: NetworkManagerOptions = {
    root,
    runRoot: path.join(root, 'run'),
    bridgePrefix: prefix,
    defaultBridge: { bridgeName: `${prefix}-dflt`, subnet: `${net(15)}.0/24` },
    addressPool: { base: `${net(8)}.0/21`, size: 24 },
    hostResolvConf,
  };
  const manager = new NetworkManager(options);
  const host: TestHost = {
    manager,
    root,
    prefix,
    options,
    net,
    subnet: (i) => `${net(i)}.0/24`,
    bridgeOf: (network) => bridgeNameFor(prefix, network.Id),
    async leftovers(final = true) {
      const out: string[] = [];
      const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show']).toString()) as Array<{ ifname: string; ifalias?: string }>;
      const aliasTag = `ctr:${tagOf(root)}:`;
      for (const l of links) if (l.ifname.startsWith(`${prefix}-`) || l.ifalias?.startsWith(aliasTag)) out.push(`link ${l.ifname}`);
      for (const save of ['iptables-save', 'ip6tables-save']) {
        const rules = execFileSync(save).toString().split('\n');
        for (const r of rules) if (r.includes(aliasTag) || r.includes(` ${prefix}-`)) out.push(`rule ${r}`);
      }
      for (const proxy of await listPortProxies(new StatePaths(root, path.join(root, 'run')))) out.push(`port proxy ${proxy.pid}`);
      const netns = await fs.readdir(path.join(root, 'run', 'netns')).catch(() => [] as string[]);
      for (const n of netns) out.push(`netns ${n}`);
      const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
      for (const m of mounts.split('\n')) if (m.includes(root)) out.push(`mount ${m}`);
      const pid = await fs.readFile(path.join(root, 'run', 'network', 'dns.pid'), 'utf8').catch(() => '');
      if (pid) out.push(`dns server ${pid}`);
      const registered = path.join(ROOT_REGISTRY, `${tagOf(root)}.json`);
      if (final && (await fs.stat(registered).then(() => true, () => false))) out.push(`registry entry ${registered}`);
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
      block.release();
    },
  };
  return host;
}

/**
 * A /48 of its own for a test file's IPv6 subnets: fd and 40 random bits, written without
 * leading zeros as addresses are shown, so runs never meet each other or the host's.
 */
export function testUla(): string {
  const random = randomBytes(5);
  return `fd${random.toString('hex').slice(0, 2)}:${random.readUInt16BE(1).toString(16)}:${random.readUInt16BE(3).toString(16)}`;
}

/** What ip6tables holds of a root (its rules carry the root's tag), without the tag. */
export function rules6(root: string): string[] {
  return execFileSync('ip6tables-save')
    .toString()
    .split('\n')
    .filter((l) => l.includes(`ctr:${tagOf(root)}:`))
    .map((l) => l.replace(/ -m comment --comment "[^"]*"/, ''));
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

/** busybox nslookup's full output against a server, failing or not (it names NXDOMAIN, SERVFAIL). */
export function nslookup(netnsPath: string, name: string, server = '127.0.0.11'): string {
  try {
    return inNetns(netnsPath, ['/bin/busybox', 'nslookup', name, server]);
  } catch (e) {
    return String((e as { stdout?: Buffer }).stdout ?? '');
  }
}

/** busybox nslookup against a server; returns the addresses it printed for the name. */
export function lookup(netnsPath: string, name: string, server = '127.0.0.11'): string[] {
  const answer = nslookup(netnsPath, name, server).split(/Name:\s/)[1] ?? '';
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
