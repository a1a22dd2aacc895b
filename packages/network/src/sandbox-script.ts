import { isIPv6 } from 'node:net';
import { linkLocalCidr } from './ipam';
import { macFor, parseCidr } from './ipv4';
import { parseCidr6 } from './ipv6';
import type { EndpointState, NetworkState, VirtualIpState } from './state';

/**
 * Shell scripts that build a container's network sandbox. Each operation is one `sh`
 * process (spawning is the dominant cost, see bench/network.js): inside the namespace it
 * runs `ip -batch`, and reaches back to the host namespace through
 * `nsenter --net=/proc/<our pid>/ns/net` for the host end of each veth. Every value put
 * in a script is generated or validated (addresses, link names) or quoted (paths).
 */

export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function prefixLength(net: NetworkState): number {
  return parseCidr(net.subnet).prefix;
}

/**
 * An IPv6 address line: `nodad`, as moby sets IFA_F_NODAD, so the address is usable at once
 * rather than tentative for a second of duplicate detection (IPAM already made it unique).
 */
function addr6Line(ip6: string, ipv6: { subnet: string }, dev: string): string {
  return `addr add ${ip6}/${parseCidr6(ipv6.subnet).prefix} dev ${dev} nodad`;
}

/**
 * A veth pair per endpoint: inside end named eth<N> with the lease(s), host end on the bridge.
 * A network plugin's endpoint instead has the interface its driver made (remote-networks.ts):
 * moved in by the shell inside (`$$`, from the host's namespace, before `ip -batch` runs), then
 * renamed, given its MAC if any, its lease(s) and the driver's routes.
 */
function endpointLines(ep: EndpointState, net: NetworkState, hostPid: number, alias: string): { move: string[]; inside: string[]; host: string[] } {
  const joined = ep.remote;
  return {
    move: joined ? [`nsenter --net=/proc/${hostPid}/ns/net ip link set ${joined.srcName} netns $$`] : [],
    inside: [
      joined
        ? `link set ${joined.srcName} name ${ep.ifName}${ep.mac ? ` address ${ep.mac}` : ''}`
        : `link add ${ep.ifName} address ${ep.mac} mtu ${net.mtu} type veth peer name ${ep.hostVeth} netns ${hostPid}`,
      `addr add ${ep.ip}/${prefixLength(net)} brd + dev ${ep.ifName}`,
      ...(ep.ip6 && net.ipv6 ? [addr6Line(ep.ip6, net.ipv6, ep.ifName)] : []),
      ...(ep.linkLocalIps ?? []).map((ip) => `addr add ${linkLocalCidr(ip)} dev ${ep.ifName}${isIPv6(ip) ? ' nodad' : ''}`),
      `link set ${ep.ifName} up`,
      ...(joined?.staticRoutes ?? []).map((r) => `route replace ${r.destination} ${r.routeType === 0 && r.nextHop ? `via ${r.nextHop} ` : ''}dev ${ep.ifName}`),
    ],
    host: joined ? [] : [`link set ${ep.hostVeth} alias ${alias}`, `link set ${ep.hostVeth} master ${net.bridge} mtu ${net.mtu} up`],
  };
}

/** The IPv4 gateway of an endpoint: its network's, or what a plugin's Join gave (none: no default route through it). */
export function gatewayOf(j: { ep: EndpointState; net: NetworkState }): string | undefined {
  return j.net.driver === undefined ? j.net.gateway : j.ep.remote?.gateway;
}

/** The IPv6 gateway of an endpoint with an IPv6 address, as gatewayOf. */
export function gateway6Of(j: { ep: EndpointState; net: NetworkState }): string | undefined {
  if (!j.ep.ip6) return undefined;
  return j.net.driver === undefined ? j.net.ipv6?.gateway : j.ep.remote?.gateway6;
}

/**
 * Sets an interface's (or `default`, the one new interfaces copy) disable_ipv6, as dockerd turns
 * IPv6 off on a container's interfaces on networks without it: no link-local address, so no
 * IPv6 traffic from them. A host without IPv6 has nothing to turn off.
 */
function sysctl6(dev: string, value: 0 | 1): string {
  const dir = `/proc/sys/net/ipv6/conf/${dev}`;
  return `[ ! -d ${dir} ] || echo ${value} > ${dir}/disable_ipv6`;
}

/** Whether an interface keeps IPv6 on: it has an IPv6 lease, or an IPv6 `--link-local-ip` asked for. */
function hasIPv6(ep: EndpointState): boolean {
  return ep.ip6 !== undefined || (ep.linkLocalIps ?? []).some((ip) => isIPv6(ip));
}

export interface SandboxPlan {
  endpoints: Array<{ ep: EndpointState; net: NetworkState }>;
  /** The network whose gateway is the default route: the first that is not internal and has one (a plugin's Join may give none). */
  route?: { ep: EndpointState; net: NetworkState };
  /** Where published ports go: the first bridge network that is not internal (a plugin's network has its driver's ports). */
  ports?: { ep: EndpointState; net: NetworkState };
  /** The network whose IPv6 gateway is the IPv6 default route: the first with IPv6 that is not internal (chosen apart, as dockerd does per family). */
  route6?: { ep: EndpointState; net: NetworkState };
  /** Where 127.0.0.11:53 goes: the first user network's gateway, from that endpoint's address. */
  dns?: { ep: EndpointState; net: NetworkState };
  /** The swarm services' virtual IPs on its networks, each turned into its backends here. */
  virtualIps?: VirtualIpState[];
}

/**
 * A service's virtual IP as docker's IPVS serves it, in the sandbox's own tables (its
 * namespace's: no IPVS needed): a connection from the sandbox to the address goes through the
 * VIP's chain in the nat table's OUTPUT, which DNATs it to one of the backends at random — of k
 * rules the i-th takes 1/(k-i) of what reaches it, so each backend gets 1/k — keeping the
 * destination port; conntrack keeps the connection on its backend and gives the replies the
 * VIP's address back. A packet still bound for the VIP after that (there is no backend) is
 * refused in the filter table: a TCP connect gets a reset (connection refused), any other an
 * ICMP port unreachable, rather than going unanswered.
 */
function virtualIpRules(vips: readonly VirtualIpState[]): { chains: string[]; nat: string[]; filter: string[] } {
  const out = { chains: [] as string[], nat: [] as string[], filter: [] as string[] };
  for (const vip of vips) {
    // An address fits an iptables chain name (28 characters at most), and no two networks of a sandbox share one.
    const chain = `CTR-VIP-${vip.ip}`;
    out.chains.push(`:${chain} - [0:0]`);
    out.nat.push(`-A OUTPUT -d ${vip.ip}/32 -j ${chain}`);
    vip.backends.forEach((backend, i) => {
      const left = vip.backends.length - i;
      const pick = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(10)} ` : '';
      out.nat.push(`-A ${chain} ${pick}-j DNAT --to-destination ${backend}`);
    });
    out.filter.push(`-A OUTPUT -d ${vip.ip}/32 -p tcp -j REJECT --reject-with tcp-reset`, `-A OUTPUT -d ${vip.ip}/32 -j REJECT`);
  }
  return out;
}

/**
 * The sandbox's iptables tables, each written whole (iptables-restore: atomic per table): nat
 * (the DNS redirect, the virtual IPs), raw, and filter (the virtual IPs' refusals) — filter
 * whenever an existing sandbox is rewritten, so no refusal outlives its VIP, and in a new one
 * only when it has VIPs.
 */
function tableLines(plan: SandboxPlan, fresh: boolean): string[] {
  const vips = virtualIpRules(plan.virtualIps ?? []);
  const rules = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...vips.chains];
  if (plan.dns) {
    const { ep, net } = plan.dns;
    // TCP too: clients ask again over TCP when a UDP answer comes truncated.
    for (const proto of ['udp', 'tcp']) {
      rules.push(
        `-A OUTPUT -d 127.0.0.11/32 -p ${proto} -m ${proto} --dport 53 -j DNAT --to-destination ${net.gateway}:53`,
        `-A POSTROUTING -s 127.0.0.0/8 -d ${net.gateway}/32 -p ${proto} -m ${proto} --dport 53 -j SNAT --to-source ${ep.ip}`,
      );
    }
  }
  rules.push(...vips.nat, 'COMMIT');
  // route_localnet lets the DNATed packet keep its 127.0.0.1 source until SNAT rewrites it;
  // it would also let neighbours reach the container's 127.0.0.1 services (CVE-2020-8558),
  // so the raw table drops loopback destinations arriving on any other interface.
  rules.push('*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]');
  if (plan.dns) rules.push('-A PREROUTING ! -i lo -d 127.0.0.0/8 -j DROP');
  rules.push('COMMIT');
  if (vips.filter.length > 0 || !fresh) rules.push('*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...vips.filter, 'COMMIT');
  return [
    `echo ${plan.dns ? 1 : 0} > /proc/sys/net/ipv4/conf/all/route_localnet`,
    `iptables-restore <<'CTR_EOF'\n${rules.join('\n')}\nCTR_EOF`,
  ];
}

export interface ScriptOptions {
  netnsPath: string;
  /** Endpoints to create now. */
  added: Array<{ ep: EndpointState; net: NetworkState }>;
  /** A process in the host namespace, where the host ends of the veths go. */
  hostPid: number;
  /** Make the namespace (unshare) rather than enter it (nsenter); brings lo up. */
  fresh: boolean;
  /** Rewrite the namespace's tables: the DNS redirect, the virtual IPs. */
  dns: boolean;
  /** Alias for a host veth, naming its owner so gc can find orphans. */
  aliasOf: (ep: EndpointState) => string;
}

/**
 * One shell script, run in the host namespace, that brings a sandbox to its plan: one
 * `ip -batch` inside the namespace (creating it if fresh) for the container ends, address,
 * and default route, followed there by its tables (the DNS redirect, the virtual IPs) when
 * asked; then one on the host for the veths' bridge ports. A route via a removed interface
 * disappears with it, so only "replace".
 */
export function sandboxScript(plan: SandboxPlan, o: ScriptOptions): string {
  const ns = shQuote(o.netnsPath);
  const inside: string[] = o.fresh ? ['link set lo up'] : [];
  const host: string[] = [];
  const moves: string[] = [];
  for (const { ep, net } of o.added) {
    const lines = endpointLines(ep, net, o.hostPid, o.aliasOf(ep));
    moves.push(...lines.move);
    inside.push(...lines.inside);
    host.push(...lines.host);
  }
  const gateway = plan.route && gatewayOf(plan.route);
  if (plan.route && gateway) inside.push(`route replace default via ${gateway} dev ${plan.route.ep.ifName}`);
  const gateway6 = plan.route6 && gateway6Of(plan.route6);
  if (plan.route6 && gateway6) inside.push(`route replace ::/0 via ${gateway6} dev ${plan.route6.ep.ifName}`);
  const enter = `${o.fresh ? 'unshare' : 'nsenter'} --net=${ns}`;
  const heredoc = `<<'CTR_EOF'\n${inside.join('\n')}\nCTR_EOF`;
  const batch = inside.length > 0 ? [`ip -batch - ${heredoc}`] : [];
  // IPv6 off for the interfaces made next (before they come up, so not one packet), unless one
  // of them has IPv6: then it is on for them all and off afterwards for the others.
  const anyV6 = o.added.some((j) => hasIPv6(j.ep));
  const before = o.added.length === 0 ? [] : [sysctl6('default', anyV6 ? 0 : 1), ...moves];
  const after = anyV6 ? o.added.filter((j) => !hasIPv6(j.ep)).map((j) => sysctl6(j.ep.ifName, 1)) : [];
  const script: string[] = [];
  // With the DNS redirect the inside part needs a shell; without it, ip alone is one process less
  // (the shell that writes the sysctl execs ip: an exec more, no process more).
  if (o.dns) script.push(`${enter} sh -ec ${shQuote([...before, ...batch, ...after, ...tableLines(plan, o.fresh)].join('\n'))}`);
  else if (before.length > 0) script.push(`${enter} sh -ec ${shQuote([...before, 'exec ip -batch -'].join('\n'))} ${heredoc}`);
  else if (batch.length > 0) script.push(`${enter} ${batch[0]}`);
  if (host.length > 0) script.push(`ip -batch - <<'CTR_EOF'\n${host.join('\n')}\nCTR_EOF`);
  return script.join('\n');
}

/** Deletes host veth ends (their peers go with them), then the namespace's bind mount. */
export function teardownScript(hostVeths: string[], netnsPath?: string): string {
  const lines = hostVeths.map((v) => `ip link del ${v} 2>/dev/null || true`);
  if (netnsPath) lines.push(`umount ${shQuote(netnsPath)} 2>/dev/null || true`, `rm -f ${shQuote(netnsPath)}`);
  return lines.length > 0 ? lines.join('\n') : 'true';
}

/**
 * The bridge gets a fixed MAC: left alone, a bridge takes the lowest MAC of its ports, so
 * it changes as containers join and neighbours' ARP entries for the gateway go stale.
 */
export function bridgeUpLines(net: NetworkState, alias: string): string[] {
  return [
    `link add name ${net.bridge} address ${macFor(net.gateway)} mtu ${net.mtu} type bridge`,
    `link set ${net.bridge} alias ${alias}`,
    `addr add ${net.gateway}/${prefixLength(net)} brd + dev ${net.bridge}`,
    ...(net.ipv6 ? [addr6Line(net.ipv6.gateway, net.ipv6, net.bridge)] : []),
    `link set ${net.bridge} up`,
  ];
}

