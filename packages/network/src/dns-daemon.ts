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
 * answers A for container names, aliases, short IDs and hostnames on the asker's networks (and for the
 * link aliases of the asker's own endpoints), and an empty answer for other types of known
 * names. Other names it forwards, as docker's resolver does,
 * to the asker's upstream servers (its `--dns`, else the host's: the sandbox record says
 * which, and which of them it may ask — resolv.ts upstreamRefusal decides that when the
 * record is written, since this process sends from the host's namespace and must not take a
 * container's queries where the container cannot go) and relays the first useful reply;
 * the asker is known by its source address, and
 * nothing is forwarded for an address that is no container's. A container on internal
 * networks only gets SERVFAIL (docker forwards nothing for it); one with no upstream it can
 * use, NXDOMAIN. It exits when no network needs it.
 */
export function dnsDaemonMain(stateDir: string, pidFile: string): void {
  const dgram = require('node:dgram') as typeof import('node:dgram');
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');

  interface Endpoint {
    containerId: string;
    containerName: string;
    hostname?: string;
    ip: string;
    aliases: string[];
    links?: Array<{ name: string; alias: string }>;
  }
  interface Net {
    id: string;
    gateway: string;
    isDefault: boolean;
    internal: boolean;
    endpoints: Record<string, Endpoint>;
  }
  interface View {
    byGateway: Map<string, Net>;
    /** Every network of a container, the default bridge included (it gives a way out). */
    netsOf: Map<string, Net[]>;
  }
  /** The part of a sandbox record (state.ts SandboxState.dns) the server reads; made at each allocation. */
  interface Forwarding {
    upstreams?: Array<{ address: string; ask?: boolean }>;
    ndotsSet?: boolean;
  }

  const TTL = 600;
  /** docker's resolver: 4 s per upstream, at most 3 of them, 1024 queries out at once. */
  const UPSTREAM_TIMEOUT_MS = 4000;
  const MAX_UPSTREAMS = 3;
  const MAX_IN_FLIGHT = 1024;
  const RCODE = { ok: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 };
  const QTYPE = { a: 1, aaaa: 28, any: 255 };
  const genFile = path.join(stateDir, 'generation');
  const sockets = new Map<string, import('node:dgram').Socket>();
  let view: View = { byGateway: new Map(), netsOf: new Map() };
  /** Sandbox records read since the last reload (null: none, or one without DNS settings). */
  const forwardingOf = new Map<string, Forwarding | null>();
  let inFlight = 0;
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
    return out;
  }

  function readForwarding(containerId: string): Forwarding | null {
    if (!forwardingOf.has(containerId)) {
      let found: Forwarding | null = null;
      try {
        const record = JSON.parse(fs.readFileSync(path.join(stateDir, 'sandboxes', `${containerId}.json`), 'utf8')) as { dns?: Forwarding };
        found = record.dns ?? null;
      } catch {
        // No record (yet), or one being replaced: nothing to forward to for now.
      }
      forwardingOf.set(containerId, found);
    }
    return forwardingOf.get(containerId) ?? null;
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
    if (!nets.some((n) => !n.isDefault)) return shutdown();
    const byGateway = new Map<string, Net>();
    const netsOf = new Map<string, Net[]>();
    for (const net of nets) {
      if (!net.isDefault) byGateway.set(net.gateway, net);
      for (const ep of Object.values(net.endpoints)) netsOf.set(ep.containerId, [...(netsOf.get(ep.containerId) ?? []), net]);
    }
    view = { byGateway, netsOf };
    forwardingOf.clear();
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

  /** The container asking, by its address on the network it asked on. */
  function askerOf(net: Net, from: string): Endpoint | undefined {
    return Object.values(net.endpoints).find((e) => e.ip === from);
  }

  /** The addresses on `net` of the containers a (lower-case) name, alias, short ID or hostname names (settings.ts dnsNames). */
  function holders(net: Net, name: string): string[] {
    return Object.values(net.endpoints)
      .filter((ep) => [ep.containerName, ...ep.aliases, ep.containerId.slice(0, 12), ...(ep.hostname ? [ep.hostname] : [])].some((n) => n.toLowerCase() === name))
      .map((ep) => ep.ip);
  }

  function lookup(name: string, asker: Net, self: Endpoint | undefined): string[] | undefined {
    const nets = self ? (view.netsOf.get(self.containerId) ?? [asker]) : [asker];
    // The default bridge has no name resolution, as in Docker.
    const ordered = [asker, ...nets.filter((n) => n !== asker && !n.isDefault)];
    // libnetwork's endpoint aliases: a link alias of the asker's endpoint on a network names the
    // linked container there, for this asker alone, before (and instead of) any other holder of that name.
    const linked = (net: Net): string | undefined =>
      self ? net.endpoints[self.containerId]?.links?.find((l) => l.alias.toLowerCase() === name)?.name.toLowerCase() : undefined;
    const viaLinks = ordered.flatMap((net) => {
      const target = linked(net);
      return target === undefined ? [] : holders(net, target);
    });
    const found = viaLinks.length > 0 ? viaLinks : ordered.filter((net) => linked(net) === undefined).flatMap((net) => holders(net, name));
    const ips = [...new Set(found)];
    return ips.length > 0 ? ips : undefined;
  }

  /** One query to one upstream server; undefined when it does not answer in time. */
  function exchange(query: Buffer, server: string): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      // A connected socket of its own: the kernel passes on only that server's datagrams,
      // and a closed port fails at once instead of after the timeout.
      const sock = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
      const id = query.readUInt16BE(0);
      let settled = false;
      const done = (reply?: Buffer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.close();
        resolve(reply);
      };
      const timer = setTimeout(() => done(), UPSTREAM_TIMEOUT_MS);
      sock.on('error', () => done());
      sock.on('message', (reply) => {
        if (reply.length >= 12 && reply.readUInt16BE(0) === id && reply.readUInt16BE(2) & 0x8000) done(reply);
      });
      sock.connect(53, server, () => sock.send(query, (e) => e && done()));
    });
  }

  /** docker's order: the next server after no answer, SERVFAIL or REFUSED; any other reply is the answer. */
  async function forward(query: Buffer, servers: string[]): Promise<Buffer | undefined> {
    for (const server of servers) {
      const reply = await exchange(query, server);
      const rcode = reply ? reply.readUInt16BE(2) & 0xf : RCODE.servFail;
      if (reply && rcode !== RCODE.servFail && rcode !== RCODE.refused) return reply;
    }
    return undefined;
  }

  /**
   * Where a name the server does not know goes: an rcode to answer at once, or the servers
   * to ask. Only upstreams the record marks `ask` are sent to; a record without the mark
   * (written before it existed) forwards nothing until the container's next start.
   */
  function route(self: Endpoint | undefined, qtype: number, labels: string[]): number | string[] {
    if (!self) return RCODE.nxDomain;
    if (!(view.netsOf.get(self.containerId) ?? []).some((n) => !n.internal)) return RCODE.servFail;
    const dns = readForwarding(self.containerId);
    if (!dns) return RCODE.nxDomain;
    // With an ndots set (by the host or the user), a bare name is for the search domains: an empty answer sends the client there.
    if (dns.ndotsSet && (qtype === QTYPE.a || qtype === QTYPE.aaaa) && labels.length === 1) return RCODE.ok;
    const servers = (dns.upstreams ?? [])
      .filter((u) => u.ask === true)
      .slice(0, MAX_UPSTREAMS)
      .map((u) => u.address);
    return servers.length > 0 ? servers : RCODE.nxDomain;
  }

  function answer(msg: Buffer, net: Net, from: string): Buffer | Promise<Buffer> | undefined {
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
    if (opcode !== 0) return header(RCODE.notImp, 0, 0);
    if (msg.readUInt16BE(4) !== 1) return header(RCODE.formErr, 0, 0);
    const labels: string[] = [];
    let off = 12;
    for (;;) {
      const len = msg[off];
      if (len === undefined || len > 63 || off + 1 + len > msg.length) return header(RCODE.formErr, 0, 0);
      off += 1;
      if (len === 0) break;
      labels.push(msg.toString('latin1', off, off + len));
      off += len;
    }
    if (off + 4 > msg.length) return header(RCODE.formErr, 0, 0);
    const qtype = msg.readUInt16BE(off);
    const question = msg.subarray(12, off + 4);
    const self = askerOf(net, from);
    const ips = lookup(labels.join('.').toLowerCase(), net, self);
    if (!ips) {
      const servers = route(self, qtype, labels);
      if (typeof servers === 'number') return Buffer.concat([header(servers, 1, 0), question]);
      if (inFlight >= MAX_IN_FLIGHT) return Buffer.concat([header(RCODE.servFail, 1, 0), question]);
      inFlight++;
      return forward(msg, servers)
        .then((reply) => reply ?? Buffer.concat([header(RCODE.servFail, 1, 0), question]))
        .finally(() => inFlight--);
    }
    const records = qtype === QTYPE.a || qtype === QTYPE.any ? ips : [];
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
    return Buffer.concat([header(RCODE.ok, 1, rrs.length), question, ...rrs]);
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
      // A forwarded reply comes later; the listener may have closed meanwhile (its network removed).
      void Promise.resolve(reply).then((r) => r && sockets.get(gw) === sock && sock.send(r, rinfo.port, rinfo.address));
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
