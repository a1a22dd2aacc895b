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
 * answers A (AAAA on IPv6 networks) for container names, aliases, short IDs and hostnames on the asker's networks, bare or
 * as `<name>.<network>` (and for the
 * link aliases of the asker's own endpoints; a swarm service's virtual IP alone for the names
 * it holds), an empty answer for other types of known
 * names, and PTR (in-addr.arpa and ip6.arpa) for the containers' addresses there (docker's `<container>.<network>`). It
 * listens on UDP and TCP (RFC 1035 4.2.2) as docker's does; a UDP answer that does not fit
 * 512 bytes (or the asker's EDNS size) is cut with the TC bit set, so the client asks again
 * over TCP. Other names (and addresses) it forwards, as docker's resolver does, over the
 * protocol they were asked with,
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
  const tcp = require('node:net') as typeof import('node:net');
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');

  interface Endpoint {
    containerId: string;
    containerName: string;
    hostname?: string;
    ip: string;
    /** Its IPv6 address, on a network with IPv6: what AAAA answers. */
    ip6?: string;
    aliases: string[];
    links?: Array<{ name: string; alias: string }>;
    /** A swarm service's virtual IP: a name it holds is its alone on the network. */
    virtual?: true;
    /** On the default bridge: a container whose embedded DNS outlived its user networks (state.ts EndpointState.keptResolver). */
    keptResolver?: true;
  }
  interface Net {
    id: string;
    name: string;
    gateway: string;
    isDefault: boolean;
    internal: boolean;
    endpoints: Record<string, Endpoint>;
    /** A network plugin's network: its gateway is no address of the host's, so nothing listens there. */
    driver?: string;
    /** A swarm network's addresses on other nodes (state.ts RemoteEndpointState), answered as endpoints are. */
    remoteEndpoints?: Record<string, { ip: string; names: string[] }>;
    /** The swarm services' virtual IPs on the network (state.ts VirtualIpState). */
    virtualIps?: Record<string, { ip: string; names: string[] }>;
  }
  interface View {
    byGateway: Map<string, Net>;
    /** Every network of a container, the default bridge included (it gives a way out). */
    netsOf: Map<string, Net[]>;
  }
  interface Listener {
    udp: import('node:dgram').Socket;
    tcp: import('node:net').Server;
    /** Its open TCP connections, ended with it, and the container each came from (when one did). */
    conns: Map<import('node:net').Socket, string | undefined>;
  }
  type Proto = 'udp' | 'tcp';
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
  const QTYPE = { a: 1, ptr: 12, aaaa: 28, opt: 41, any: 255 };
  /** The most a UDP answer may be without EDNS (RFC 1035), and over TCP (the 2-byte length). */
  const UDP_SIZE = 512;
  const TCP_SIZE = 0xffff;
  /** miekg/dns's idle timeout between queries on a TCP connection, which docker's resolver keeps. */
  const TCP_IDLE_MS = 8000;
  /**
   * One client's share: the questions of a TCP connection being answered at once (more wait
   * unread in the socket), and the connections one address may hold, so that a container
   * opening connections without end cannot take the others' part of the listener's (more are
   * closed at once).
   */
  const TCP_OUTSTANDING = 16;
  const TCP_CONNS_PER_CLIENT = 32;
  const TCP_CONNS = 128;
  const genFile = path.join(stateDir, 'generation');
  const listeners = new Map<string, Listener>();
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
        const net = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Net;
        // Another node's task is named as a container here is: its first name, then its aliases.
        for (const [id, remote] of Object.entries(net.remoteEndpoints ?? {})) {
          const [first = '', ...aliases] = remote.names;
          if (first) net.endpoints[`remote:${id}`] = { containerId: `remote:${id}`, containerName: first, ip: remote.ip, aliases };
        }
        // So is a service's virtual IP, marked as one.
        for (const [id, vip] of Object.entries(net.virtualIps ?? {})) {
          const [first = '', ...aliases] = vip.names;
          if (first) net.endpoints[`vip:${id}`] = { containerId: `vip:${id}`, containerName: first, ip: vip.ip, aliases, virtual: true };
        }
        out.push(net);
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

  /** Closes a gateway's sockets, its open TCP connections with them. */
  function unlisten(gw: string): void {
    const l = listeners.get(gw);
    if (!l) return;
    listeners.delete(gw);
    l.udp.close();
    l.tcp.close();
    for (const conn of l.conns.keys()) conn.destroy();
  }

  function shutdown(): void {
    for (const gw of [...listeners.keys()]) unlisten(gw);
    try {
      if (fs.readFileSync(pidFile, 'utf8').trim() === String(process.pid)) fs.rmSync(pidFile);
    } catch {
      // already gone
    }
    process.exit(0);
  }

  /** Whether it answers at a network's gateway: a user network's, or the default bridge's for a kept resolver. */
  function served(net: Net): boolean {
    return net.isDefault ? Object.values(net.endpoints).some((ep) => ep.keptResolver) : net.driver === undefined;
  }

  function load(): void {
    generation = readGeneration();
    const nets = readNets();
    if (!nets.some(served)) return shutdown();
    const byGateway = new Map<string, Net>();
    const netsOf = new Map<string, Net[]>();
    for (const net of nets) {
      if (served(net)) byGateway.set(net.gateway, net);
      for (const ep of Object.values(net.endpoints)) netsOf.set(ep.containerId, [...(netsOf.get(ep.containerId) ?? []), net]);
    }
    view = { byGateway, netsOf };
    forwardingOf.clear();
    for (const gw of [...listeners.keys()]) if (!byGateway.has(gw)) unlisten(gw);
    // As docker's resolver stops with its container, a container's connections end when it leaves the network.
    for (const [gw, l] of listeners) {
      for (const [conn, containerId] of l.conns) if (containerId && !byGateway.get(gw)?.endpoints[containerId]) conn.destroy();
    }
    for (const gw of byGateway.keys()) if (!listeners.has(gw)) listen(gw);
  }

  function refresh(): void {
    if (readGeneration() !== generation) load();
  }

  /** The container asking, by its address on the network it asked on. */
  function askerOf(net: Net, from: string): Endpoint | undefined {
    return Object.values(net.endpoints).find((e) => e.ip === from);
  }

  /**
   * The endpoints on `net` of the containers a (lower-case) name, alias, short ID or hostname names
   * (settings.ts dnsNames); a service's virtual IP alone when one holds the name, as docker answers
   * a `vip` service's name with its VIP although its tasks carry the name as an alias too.
   */
  function holders(net: Net, name: string): Endpoint[] {
    const named = Object.values(net.endpoints).filter((ep) =>
      [ep.containerName, ...ep.aliases, ep.containerId.slice(0, 12), ...(ep.hostname ? [ep.hostname] : [])].some((n) => n.toLowerCase() === name),
    );
    const virtual = named.filter((ep) => ep.virtual);
    return virtual.length > 0 ? virtual : named;
  }

  /** An IPv6 address (as the records hold it, no zone or dotted tail) in wire form. */
  function ip6Bytes(ip: string): Buffer {
    const [head = '', tail] = ip.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
    return out;
  }

  /**
   * The networks whose names the asker sees, in the order libnetwork keeps a sandbox's endpoints
   * (Endpoint.Less), whichever network the question came in on: swarm's docker_gwbridge last,
   * internal ones after the others, then those whose endpoint has IPv4 and IPv6 gateways before
   * IPv4-only ones, then by name. (Endpoint priorities are not recorded here: all count as equal.)
   */
  function searchOrder(asker: Net, self: Endpoint | undefined): Net[] {
    const nets = self ? (view.netsOf.get(self.containerId) ?? [asker]) : [asker];
    // An internal network's endpoint has no gateway; one with IPv6 has both (libnetwork's joinInfo gw and gw6).
    const gateways = (net: Net): number => (net.internal ? 0 : self && net.endpoints[self.containerId]?.ip6 ? 3 : 1);
    const rank = (net: Net): number[] => [net.name === 'docker_gwbridge' ? 1 : 0, net.internal ? 1 : 0, -gateways(net)];
    const before = (a: Net, b: Net): number => {
      const [ra, rb] = [rank(a), rank(b)];
      const differs = ra.findIndex((v, i) => v !== rb[i]);
      return differs >= 0 ? (ra[differs] ?? 0) - (rb[differs] ?? 0) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    };
    // The default bridge has no name resolution, as in Docker (a kept resolver asks there).
    return nets.filter((n) => !n.isDefault).sort(before);
  }

  /**
   * The endpoints a name (its labels) names for the asker on one network, undefined when it names
   * none. As libnetwork's Sandbox.ResolveName, `a.b.c` is tried whole on all the asker's networks,
   * then as `a.b` on its network named `c`, then as `a` on one named `b.c`: docker's
   * `<name>.<network>` (network names may hold dots, and match as written).
   */
  function lookup(labels: string[], asker: Net, self: Endpoint | undefined, v6: boolean): Endpoint[] | undefined {
    const ordered = searchOrder(asker, self);
    for (let cut = labels.length; cut > 0; cut--) {
      const netName = labels.slice(cut).join('.');
      const nets = cut === labels.length ? ordered : ordered.filter((net) => net.name === netName);
      const eps = lookupOn(labels.slice(0, cut).join('.').toLowerCase(), nets, self, v6);
      if (eps) return eps;
    }
    return undefined;
  }

  /**
   * The endpoints a (lower-case) name names for the asker on the first of these of its networks
   * (in order) where it names any: libnetwork's Sandbox.resolveName stops at the first network
   * that resolves it, so a container on two shared networks is answered with one address. For an
   * AAAA question a network where the name has no IPv6 address is passed over (libnetwork's
   * ipv6Miss), and is the answer (none) only when no network has one.
   */
  function lookupOn(name: string, ordered: Net[], self: Endpoint | undefined, v6: boolean): Endpoint[] | undefined {
    // libnetwork's endpoint aliases: a link alias of the asker's endpoint on a network names the
    // linked container there, for this asker alone, before (and instead of) any other holder of that name.
    const linked = (net: Net): string | undefined =>
      self ? net.endpoints[self.containerId]?.links?.find((l) => l.alias.toLowerCase() === name)?.name.toLowerCase() : undefined;
    const first = (found: (net: Net) => Endpoint[]): Endpoint[] | undefined => {
      const resolving = ordered.map(found).filter((eps) => eps.length > 0);
      return (v6 ? resolving.find((eps) => eps.some((ep) => ep.ip6 !== undefined)) : undefined) ?? resolving[0];
    };
    return (
      first((net) => {
        const target = linked(net);
        return target === undefined ? [] : holders(net, target);
      }) ?? first((net) => (linked(net) === undefined ? holders(net, name) : []))
    );
  }

  /**
   * Docker's answer to a reverse lookup of an address of a container on the asker's networks:
   * `<container name>.<network name>` (libnetwork ResolveIP), in wire form. Undefined for other
   * names and addresses, which are forwarded.
   */
  function reverseName(labels: string[], asker: Net, self: Endpoint | undefined): Buffer | undefined {
    const holds = reverseAddress(labels);
    if (!holds) return undefined;
    for (const net of searchOrder(asker, self)) {
      const holder = Object.values(net.endpoints).find(holds);
      if (holder) return encodeName(`${holder.containerName}.${net.name}`);
    }
    return undefined;
  }

  /**
   * Which endpoint a reverse-lookup name is of: `d.c.b.a.in-addr.arpa` names an IPv4 address,
   * the 32 nibbles (lowest first) of `….ip6.arpa` an IPv6 one (RFC 3596); undefined for any other name.
   */
  function reverseAddress(labels: string[]): ((ep: Endpoint) => boolean) | undefined {
    const suffix = labels.slice(-2).join('.').toLowerCase();
    const head = labels.slice(0, -2);
    if (suffix === 'in-addr.arpa' && head.length === 4) {
      const ip = [...head].reverse().join('.');
      return (ep) => ep.ip === ip;
    }
    if (suffix === 'ip6.arpa' && head.length === 32 && head.every((n) => /^[0-9a-f]$/i.test(n))) {
      const bytes = Buffer.from([...head].reverse().join(''), 'hex');
      return (ep) => ep.ip6 !== undefined && ip6Bytes(ep.ip6).equals(bytes);
    }
    return undefined;
  }

  /** A name in wire form; undefined when it cannot be one (an empty or too long label). */
  function encodeName(name: string): Buffer | undefined {
    const labels = name.split('.');
    if (labels.some((l) => l.length === 0 || l.length > 63)) return undefined;
    const wire = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, 'latin1')]), Buffer.from([0])]);
    return wire.length <= 255 ? wire : undefined;
  }

  /** The asker's EDNS buffer size (its OPT record's class), 0 when it sent none. */
  function ednsSize(msg: Buffer, off: number): number {
    const records = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
    for (let i = 0; i < records; i++) {
      // Past the owner name: labels up to the root, or a compression pointer.
      while (off < msg.length && msg[off] !== 0 && (msg[off] ?? 0) < 0xc0) off += 1 + (msg[off] ?? 0);
      off += (msg[off] ?? 0) >= 0xc0 ? 2 : 1;
      if (off + 10 > msg.length) return 0;
      if (msg.readUInt16BE(off) === QTYPE.opt) return msg.readUInt16BE(off + 2);
      off += 10 + msg.readUInt16BE(off + 8);
    }
    return 0;
  }

  /** RFC 1035 4.2.2: over TCP each message goes with its length in two bytes before it. */
  function framed(msg: Buffer): Buffer {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length, 0);
    return Buffer.concat([len, msg]);
  }

  /** A TCP stream's bytes, taken a whole message at a time. */
  function frames(): { push(chunk: Buffer): void; next(): Buffer | undefined } {
    let pending: Buffer = Buffer.alloc(0);
    return {
      push: (chunk) => {
        pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      },
      next: () => {
        if (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0)) return undefined;
        const end = 2 + pending.readUInt16BE(0);
        const msg = pending.subarray(2, end);
        pending = pending.subarray(end);
        return msg;
      },
    };
  }

  /** A TCP stream's data handler that hands on each whole message. */
  function unframer(onMessage: (msg: Buffer) => void): (chunk: Buffer) => void {
    const stream = frames();
    return (chunk) => {
      stream.push(chunk);
      for (let msg = stream.next(); msg; msg = stream.next()) onMessage(msg);
    };
  }

  function isReplyTo(reply: Buffer, id: number): boolean {
    return reply.length >= 12 && reply.readUInt16BE(0) === id && (reply.readUInt16BE(2) & 0x8000) !== 0;
  }

  /** One query to one upstream server over TCP; undefined when it does not answer in time. */
  function exchangeTcp(query: Buffer, server: string): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const conn = tcp.connect({ port: 53, host: server });
      const done = (reply?: Buffer): void => {
        clearTimeout(timer);
        conn.destroy();
        resolve(reply);
      };
      const timer = setTimeout(() => done(), UPSTREAM_TIMEOUT_MS);
      conn.on('error', () => done());
      conn.on('close', () => done());
      conn.on('data', unframer((reply) => done(isReplyTo(reply, query.readUInt16BE(0)) ? reply : undefined)));
      conn.write(framed(query));
    });
  }

  /** One query to one upstream server over UDP; undefined when it does not answer in time. */
  function exchangeUdp(query: Buffer, server: string): Promise<Buffer | undefined> {
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
      sock.on('message', (reply) => isReplyTo(reply, id) && done(reply));
      sock.connect(53, server, () => sock.send(query, (e) => e && done()));
    });
  }

  /**
   * docker's order: the next server after no answer, SERVFAIL or REFUSED; any other reply is
   * the answer (a truncated one too: the client then asks again over TCP, and so do we).
   */
  async function forward(query: Buffer, servers: string[], proto: Proto): Promise<Buffer | undefined> {
    for (const server of servers) {
      const reply = await (proto === 'tcp' ? exchangeTcp : exchangeUdp)(query, server);
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

  function answer(msg: Buffer, net: Net, from: string, proto: Proto): Buffer | Promise<Buffer> | undefined {
    if (msg.length < 12) return undefined;
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    if (flags & 0x8000) return undefined;
    const opcode = (flags >> 11) & 0xf;
    const header = (rcode: number, qd: number, an: number, truncated = false): Buffer => {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(id, 0);
      h.writeUInt16BE(0x8000 | (opcode << 11) | 0x0400 | (truncated ? 0x0200 : 0) | (flags & 0x0100) | 0x0080 | rcode, 2);
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
    const limit = proto === 'tcp' ? TCP_SIZE : Math.max(UDP_SIZE, ednsSize(msg, off + 4));
    /** Our own answer, cut to the records that fit as docker's truncateResp does (TC only over UDP). */
    const reply = (rrs: Buffer[]): Buffer => {
      let fit = rrs.length;
      let size = rrs.reduce((sum, rr) => sum + rr.length, 12 + question.length);
      while (size > limit && fit > 0) size -= rrs[--fit]?.length ?? 0;
      return Buffer.concat([header(RCODE.ok, 1, fit, fit < rrs.length && proto === 'udp'), question, ...rrs.slice(0, fit)]);
    };
    /** An answer record for the question's name (written as a pointer to it). */
    const record = (type: number, data: Buffer): Buffer => {
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(TTL, 6);
      rr.writeUInt16BE(data.length, 10);
      return Buffer.concat([rr, data]);
    };
    const self = askerOf(net, from);
    // On the default bridge the server is a kept resolver's alone.
    if (net.isDefault && !self?.keptResolver) return Buffer.concat([header(RCODE.refused, 1, 0), question]);
    const reverse = qtype === QTYPE.ptr ? reverseName(labels, net, self) : undefined;
    if (reverse) return reply([record(QTYPE.ptr, reverse)]);
    const eps = lookup(labels, net, self, qtype === QTYPE.aaaa);
    if (!eps) {
      const servers = route(self, qtype, labels);
      if (typeof servers === 'number') return Buffer.concat([header(servers, 1, 0), question]);
      if (inFlight >= MAX_IN_FLIGHT) return Buffer.concat([header(RCODE.servFail, 1, 0), question]);
      inFlight++;
      return forward(msg, servers, proto)
        .then((r) => r ?? Buffer.concat([header(RCODE.servFail, 1, 0), question]))
        .finally(() => inFlight--);
    }
    const v4 = qtype === QTYPE.a || qtype === QTYPE.any ? shuffled([...new Set(eps.map((ep) => ep.ip))]) : [];
    const v6 = qtype === QTYPE.aaaa || qtype === QTYPE.any ? shuffled([...new Set(eps.flatMap((ep) => (ep.ip6 ? [ep.ip6] : [])))]) : [];
    return reply([
      ...v4.map((ip) => record(QTYPE.a, Buffer.from(ip.split('.').map(Number)))),
      ...v6.map((ip) => record(QTYPE.aaaa, ip6Bytes(ip))),
    ]);
  }

  /** libnetwork's shuffleAddr: a name several containers hold (a service's tasks) starts with another of them each time. */
  function shuffled(addresses: string[]): string[] {
    for (let i = addresses.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [addresses[i], addresses[j]] = [addresses[j] as string, addresses[i] as string];
    }
    return addresses;
  }

  /** The answer to a message that came to a gateway's listener; undefined for none. */
  function respond(gw: string, msg: Buffer, from: string, proto: Proto): Promise<Buffer | undefined> {
    refresh();
    const net = view.byGateway.get(gw);
    return Promise.resolve(net ? answer(msg, net, from, proto) : undefined);
  }

  /**
   * One client's TCP connection: queries answered as they come (out of order when one is
   * forwarded, as RFC 7766 allows), a few at a time; closed when no whole question has come
   * for an idle while with none outstanding (bytes of a partial one do not count, so a client
   * cannot hold it by dribbling), or when the client ends its side and has all its answers.
   */
  function serveTcp(gw: string, l: Listener, conn: import('node:net').Socket): void {
    refresh();
    const net = view.byGateway.get(gw);
    const from = conn.remoteAddress ?? '';
    if (listeners.get(gw) !== l || !net) return void conn.destroy();
    let held = 0;
    for (const other of l.conns.keys()) if (other.remoteAddress === from) held++;
    if (held >= TCP_CONNS_PER_CLIENT) return void conn.destroy();
    l.conns.set(conn, askerOf(net, from)?.containerId);
    const stream = frames();
    let outstanding = 0;
    let ended = false;
    let idle: NodeJS.Timeout | undefined;
    const watchIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => (outstanding > 0 ? watchIdle() : conn.destroy()), TCP_IDLE_MS);
    };
    /**
     * Takes the questions it may: while a client has its share outstanding, or does not read
     * its answers, the rest stay unread in the socket (TCP then slows the client), so no
     * client can grow the server's memory or take its time from the others.
     */
    const pump = (): void => {
      while (outstanding < TCP_OUTSTANDING && !conn.writableNeedDrain && !conn.destroyed) {
        const msg = stream.next();
        if (!msg) break;
        outstanding++;
        watchIdle();
        void respond(gw, msg, from, 'tcp').then((r) => {
          outstanding--;
          if (r && !conn.destroyed) conn.write(framed(r));
          watchIdle();
          pump();
        });
      }
      if (outstanding >= TCP_OUTSTANDING || conn.writableNeedDrain) conn.pause();
      else if (ended && outstanding === 0) conn.end();
      else conn.resume();
    };
    watchIdle();
    conn.on('error', () => conn.destroy());
    conn.on('close', () => {
      clearTimeout(idle);
      l.conns.delete(conn);
    });
    conn.on('drain', pump);
    conn.on('end', () => {
      ended = true;
      pump();
    });
    conn.on('data', (chunk: Buffer) => {
      stream.push(chunk);
      pump();
    });
  }

  function listen(gw: string): void {
    const l: Listener = { udp: dgram.createSocket('udp4'), tcp: tcp.createServer({ allowHalfOpen: true }), conns: new Map() };
    listeners.set(gw, l);
    // Either failing closes both: the manager's probe then sees no answer and reloads the server to try again.
    const fail = (proto: Proto) => (e: Error): void => {
      log(`${proto} listener on ${gw}:53 failed: ${e.message}`);
      if (listeners.get(gw) === l) unlisten(gw);
    };
    l.udp.on('error', fail('udp'));
    l.tcp.on('error', fail('tcp'));
    // Past the cap Node closes a new connection as it comes.
    l.tcp.maxConnections = TCP_CONNS;
    l.tcp.on('connection', (conn) => serveTcp(gw, l, conn));
    l.udp.on('message', (msg, rinfo) => {
      // A forwarded reply comes later; the listener may have closed meanwhile (its network removed).
      // A failed send (an answer past 65507 bytes, an asker gone) is that asker's loss alone: the
      // callback keeps it from ever being the socket's 'error', which closes the listener for all
      // (Node 20 drops such errors when there is no callback, but documents them as 'error').
      // Not logged, so an asker cannot fill the log with them.
      void respond(gw, msg, rinfo.address, 'udp').then((r) => r && listeners.get(gw) === l && l.udp.send(r, rinfo.port, rinfo.address, () => undefined));
    });
    // TCP first: the manager's readiness probe is a UDP query, so an answer there means both listen.
    l.tcp.listen(53, gw, () => listeners.get(gw) === l && l.udp.bind(53, gw));
  }

  fs.writeFileSync(pidFile, String(process.pid));
  process.on('SIGHUP', load);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  setInterval(refresh, 1000);
  load();
}
