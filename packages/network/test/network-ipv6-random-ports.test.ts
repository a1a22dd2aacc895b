import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { freePort } from '../../../test/support/free-port';
import { boundRefusal } from '../../../test/support/port-refusal';
import { makeTestHost, testUla, type TestHost } from './helpers/host';

/**
 * Random host ports (`-p 80`) on a host that listens on IPv6, as dockerd 28 picks them: one
 * port free on 0.0.0.0 and on [::], the next of the dynamic range tried (up to 10 times) when a
 * process holds the chosen one on either family. Which port the kernel's range offers is
 * pinned down in a network namespace of the test's own (ip_local_port_range is per namespace),
 * where the allocator runs in a child process; nothing there reaches any other address.
 */
let host: TestHost;
let dir: string;
let bundle: string;
const ula = testUla();

beforeAll(async () => {
  host = await makeTestHost('trp');
  await host.manager.createNetwork({ name: 'trp-net', subnet: host.subnet(1), ipv6: true, subnet6: `${ula}:1::/64` });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-trp-'));
  bundle = path.join(dir, 'port-allocator.js');
  buildSync({ entryPoints: [path.join(__dirname, '../src/port-allocator.ts')], bundle: true, platform: 'node', outfile: bundle, logLevel: 'silent' });
});

afterAll(async () => {
  await host.cleanup();
  await fs.rm(dir, { recursive: true, force: true });
  expect(await host.leftovers()).toEqual([]);
});

/** What allocatePorts gives `-p 80` (no host address) in a fresh namespace whose dynamic range is `range`, with [::] ports `held6` taken by a process. */
function allocateIsolated(range: [number, number], held6: number[], dualStack: boolean): { ports?: number[]; error?: { code: string; message: string } } {
  const child = `
    const { execFileSync } = require('node:child_process');
    const net = require('node:net');
    const fs = require('node:fs');
    execFileSync('ip', ['link', 'set', 'lo', 'up']);
    fs.writeFileSync('/proc/sys/net/ipv4/ip_local_port_range', '${range[0]} ${range[1]}');
    const held = ${JSON.stringify(held6)}.map((port) => new Promise((r) => { const s = net.createServer(); s.listen({ port, host: '::', ipv6Only: true }, () => r(s)); }));
    Promise.all(held).then(async (servers) => {
      const { allocatePorts } = require(${JSON.stringify(bundle)});
      const out = await allocatePorts([{ hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }], { dualStack: ${dualStack} })
        .then((m) => ({ ports: m.map((p) => p.hostPort) }), (e) => ({ error: { code: e.code, message: e.message } }));
      process.stdout.write(JSON.stringify(out));
      servers.forEach((s) => s.close());
    });`;
  return JSON.parse(execFileSync('unshare', ['-n', process.execPath, '-e', child], { encoding: 'utf8' })) as ReturnType<typeof allocateIsolated>;
}

test('-p 80 on an IPv6 network gets one random host port, published on 0.0.0.0 and [::]', async () => {
  const r = await host.manager.attach('trp-both', { mode: 'trp-net', ports: ['80'] });
  const [v4, v6] = r.settings.Ports['80/tcp'] ?? [];
  expect([v4?.HostIp, v6?.HostIp]).toEqual(['0.0.0.0', '::']);
  expect(Number(v4?.HostPort)).toBeGreaterThan(0);
  expect(v6?.HostPort).toBe(v4?.HostPort);
  await host.manager.detach('trp-both');
});

test('a random port a process holds on [::] only is passed over for the next one free on both families', () => {
  expect(allocateIsolated([40000, 40001], [40000], true)).toEqual({ ports: [40001] });
  expect(allocateIsolated([40000, 40001], [40001], true)).toEqual({ ports: [40000] });
});

test('with every port of the range held on [::], a random port is refused in docker\'s words', () => {
  expect(allocateIsolated([40000, 40001], [40000, 40001], true)).toEqual({
    error: { code: 'Conflict', message: 'failed to bind host port for 0.0.0.0:0 and [::]:0 (80/tcp): address already in use' },
  });
});

test('without dualStack (a host without IPv6, or swarm\'s host check) a random port held on [::] only is taken: the binding is IPv4 alone', () => {
  expect(allocateIsolated([40000, 40000], [40000], false)).toEqual({ ports: [40000] });
});

test('-p HOSTPORT:80 on an IPv6 network is refused when a process holds HOSTPORT on [::] only', async () => {
  const port = await freePort();
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen({ port, host: '::', ipv6Only: true }, r));
  try {
    const err = await host.manager.attach('trp-held', { mode: 'trp-net', ports: [`${port}:80`] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Internal', message: expect.stringMatching(boundRefusal('trp-held', '[::]', port)) });
  } finally {
    await new Promise((r) => holder.close(r));
  }
});
