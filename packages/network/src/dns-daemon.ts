/**
 * The embedded DNS server: one detached process per state root, answering on each user
 * network's gateway address (port 53). Containers reach it at 127.0.0.11 because their
 * namespace DNATs 127.0.0.11:53 to the gateway (see sandbox-script.ts).
 *
 * It must outlive the Node process that made the network (the CLI runs the engine
 * in-process and exits), so it runs as its own process, started from this function's
 * source with `node -e` — that works the same from compiled `dist/` and from ts-jest,
 * which is why the function uses only Node built-ins and nothing from its module scope.
 *
 * It reads the network records from disk and reloads when the generation file changes,
 * answers A for container names, aliases and short IDs on the asker's networks, an empty
 * answer for other types of known names, and NXDOMAIN for everything else: it never
 * forwards a query anywhere. It exits when no network needs it.
 */
export function dnsDaemonMain(stateDir: string, pidFile: string): void {
  const dgram = require('node:dgram') as typeof import('node:dgram');
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');

  interface Endpoint {
    containerId: string;
    containerName: string;
    ip: string;
    aliases: string[];
  }
  interface Net {
    id: string;
    gateway: string;
    isDefault: boolean;
    endpoints: Record<string, Endpoint>;
  }
  interface View {
    byGateway: Map<string, Net>;
    netsOf: Map<string, Net[]>;
  }

  const TTL = 600;
  const genFile = path.join(stateDir, 'generation');
  const sockets = new Map<string, import('node:dgram').Socket>();
  let view: View = { byGateway: new Map(), netsOf: new Map() };
  let generation = '';

  const log = (msg: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
  };

  function readNets(): Net[] {
    const dir = path.join(stateDir, 'nets');
    const out: Net[] = [];
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (!name.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Net);
      } catch {
        // A file being replaced; the next reload sees the new one.
      }
    }
    return out.filter((n) => !n.isDefault);
  }

  /** Its content changes on every change of the records (timestamps can repeat). */
  function readGeneration(): string {
    try {
      return fs.readFileSync(genFile, 'utf8');
    } catch {
      return '';
    }
  }

  function shutdown(): void {
    for (const s of sockets.values()) s.close();
    try {
      if (fs.readFileSync(pidFile, 'utf8').trim() === String(process.pid)) fs.rmSync(pidFile);
    } catch {
      // already gone
    }
    process.exit(0);
  }

  function load(): void {
    generation = readGeneration();
    const nets = readNets();
    if (nets.length === 0) return shutdown();
    const byGateway = new Map<string, Net>();
    const netsOf = new Map<string, Net[]>();
    for (const net of nets) {
      byGateway.set(net.gateway, net);
      for (const ep of Object.values(net.endpoints)) netsOf.set(ep.containerId, [...(netsOf.get(ep.containerId) ?? []), net]);
    }
    view = { byGateway, netsOf };
    for (const [gw, sock] of sockets) {
      if (!byGateway.has(gw)) {
        sock.close();
        sockets.delete(gw);
      }
    }
    for (const gw of byGateway.keys()) if (!sockets.has(gw)) listen(gw);
  }

  function refresh(): void {
    if (readGeneration() !== generation) load();
  }

  function lookup(name: string, asker: Net, from: string): string[] | undefined {
    const self = Object.values(asker.endpoints).find((e) => e.ip === from);
    const nets = self ? (view.netsOf.get(self.containerId) ?? [asker]) : [asker];
    const ordered = [asker, ...nets.filter((n) => n !== asker)];
    const ips: string[] = [];
    for (const net of ordered) {
      for (const ep of Object.values(net.endpoints)) {
        const names = [ep.containerName, ...ep.aliases, ep.containerId.slice(0, 12)].map((n) => n.toLowerCase());
        if (names.includes(name) && !ips.includes(ep.ip)) ips.push(ep.ip);
      }
    }
    return ips.length > 0 ? ips : undefined;
  }

  function answer(msg: Buffer, net: Net, from: string): Buffer | undefined {
    if (msg.length < 12) return undefined;
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    if (flags & 0x8000) return undefined;
    const opcode = (flags >> 11) & 0xf;
    const header = (rcode: number, qd: number, an: number): Buffer => {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(id, 0);
      h.writeUInt16BE(0x8000 | (opcode << 11) | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 2);
      h.writeUInt16BE(qd, 4);
      h.writeUInt16BE(an, 6);
      return h;
    };
    if (opcode !== 0) return header(4, 0, 0);
    if (msg.readUInt16BE(4) !== 1) return header(1, 0, 0);
    const labels: string[] = [];
    let off = 12;
    for (;;) {
      const len = msg[off];
      if (len === undefined || len > 63 || off + 1 + len > msg.length) return header(1, 0, 0);
      off += 1;
      if (len === 0) break;
      labels.push(msg.toString('latin1', off, off + len));
      off += len;
    }
    if (off + 4 > msg.length) return header(1, 0, 0);
    const qtype = msg.readUInt16BE(off);
    const question = msg.subarray(12, off + 4);
    const ips = lookup(labels.join('.').toLowerCase(), net, from);
    if (!ips) return Buffer.concat([header(3, 1, 0), question]);
    const records = qtype === 1 || qtype === 255 ? ips : [];
    const rrs = records.map((ip) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(TTL, 6);
      rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((p, i) => rr.writeUInt8(Number(p), 12 + i));
      return rr;
    });
    return Buffer.concat([header(0, 1, rrs.length), question, ...rrs]);
  }

  function listen(gw: string): void {
    const sock = dgram.createSocket('udp4');
    sockets.set(gw, sock);
    sock.on('error', (e) => {
      log(`listener on ${gw}:53 failed: ${e.message}`);
      sock.close();
      sockets.delete(gw);
    });
    sock.on('message', (msg, rinfo) => {
      refresh();
      const net = view.byGateway.get(gw);
      const reply = net ? answer(msg, net, rinfo.address) : undefined;
      if (reply) sock.send(reply, rinfo.port, rinfo.address);
    });
    sock.bind(53, gw);
  }

  fs.writeFileSync(pidFile, String(process.pid));
  process.on('SIGHUP', load);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  setInterval(refresh, 1000);
  load();
}
