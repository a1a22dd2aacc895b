import { internal, invalidArgument, notFound } from '@ctr/errors';
import { isIP } from 'node:net';
import type { DriverInterface, DriverJoin, DriverPool, IpamDriver, IpamDriverLookup, NetworkDriver, NetworkDriverLookup } from './driver';
import { runScript } from './exec';
import { shQuote } from './sandbox-script';
import type { EndpointState, NetworkState, SandboxState } from './state';

type Join = { ep: EndpointState; net: NetworkState };

const LINK_RE = /^[a-zA-Z0-9_.-]{1,15}$/;
/** libnetwork's RequestAddress option naming a network's gateway, and the pool data a driver gives one in. */
const REQUEST_ADDRESS_TYPE = 'RequestAddressType';
const GATEWAY = 'com.docker.network.gateway';
/** libnetwork's option keys of a container's ports. */
const PORTMAP = 'com.docker.network.portmap';
const EXPOSED = 'com.docker.network.endpoint.exposedports';
const PROTOCOL_NUMBERS = { tcp: 6, udp: 17 } as const;

/** Whether a network is a plugin's (its endpoints are the driver's interfaces, not ctr's veths). */
export function isRemote(net: NetworkState): boolean {
  return net.driver !== undefined;
}

/** `<ip>/<prefix>` of an address in a CIDR's subnet. */
function withPrefix(ip: string, subnet: string): string {
  return `${ip}/${subnet.split('/')[1] ?? ''}`;
}

function aux(net: NetworkState, family: 4 | 6, subnet: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, ip] of Object.entries(net.auxAddresses ?? {})) if (isIP(ip) === family) out[name] = withPrefix(ip, subnet);
  return out;
}

function pools(net: NetworkState): { ipv4Data: DriverPool[]; ipv6Data: DriverPool[] } {
  const pool = (subnet: string, gateway: string, family: 4 | 6): DriverPool => ({ addressSpace: 'LocalDefault', pool: subnet, gateway: withPrefix(gateway, subnet), auxAddresses: aux(net, family, subnet) });
  return { ipv4Data: [pool(net.subnet, net.gateway, 4)], ipv6Data: net.ipv6 ? [pool(net.ipv6.subnet, net.ipv6.gateway, 6)] : [] };
}

/** A Join's answer checked as libnetwork checks it: names the kernel takes, addresses that parse. */
function checkedJoin(driver: string, join: DriverJoin): DriverJoin {
  if (!LINK_RE.test(join.srcName)) throw internal(`network plugin ${driver} gave an invalid interface name ${JSON.stringify(join.srcName)}`);
  if (!/^[a-zA-Z_-]{1,12}$/.test(join.dstPrefix)) throw internal(`network plugin ${driver} gave an invalid interface prefix ${JSON.stringify(join.dstPrefix)}`);
  if (join.gateway !== undefined && isIP(join.gateway) !== 4) throw internal(`unable to parse Gateway "${join.gateway}"`);
  if (join.gateway6 !== undefined && isIP(join.gateway6) !== 6) throw internal(`unable to parse GatewayIPv6 "${join.gateway6}"`);
  for (const route of join.staticRoutes ?? []) {
    const [address = '', prefix] = route.destination.split('/');
    if (isIP(address) === 0 || !/^\d{1,3}$/.test(prefix ?? '')) throw internal(`invalid CIDR address: ${route.destination}`);
    if (route.nextHop !== undefined && isIP(route.nextHop) === 0) throw internal(`failed to parse nexthop IP ${route.nextHop}`);
  }
  return join;
}

/**
 * The manager's side of plugin networks: their drivers (looked up when first needed), the
 * network's create and delete, and each endpoint's CreateEndpoint and Join before its interface
 * is moved into the namespace, its Leave and DeleteEndpoint after it is moved out. Releases
 * never fail on a driver (a plugin that is gone must not keep a container from stopping or
 * going), as libnetwork only logs them.
 */
export class RemoteNetworks {
  private readonly drivers = new Map<string, Promise<NetworkDriver>>();
  private readonly ipams = new Map<string, Promise<IpamDriver>>();

  constructor(
    private readonly lookup: NetworkDriverLookup | undefined,
    private readonly ipamLookup?: IpamDriverLookup,
  ) {}

  /** The driver `name`, in dockerd's words when there is none. */
  driver(name: string, signal?: AbortSignal): Promise<NetworkDriver> {
    return found(this.drivers, this.lookup, name, signal);
  }

  /** The IPAM driver `name` (`--ipam-driver`), in dockerd's words when there is none. */
  ipamDriver(name: string, signal?: AbortSignal): Promise<IpamDriver> {
    return found(this.ipams, this.ipamLookup, name, signal);
  }

  /**
   * A new network's pool from its IPAM driver, as libnetwork's ipamAllocate: RequestPool in the
   * driver's local address space with `--subnet` (`''`: the driver's choice), `--ip-range` and
   * `--ipam-opt`, then its gateway — `--gateway` asked for, else the one the pool's data names,
   * else one the driver gives for the gateway's RequestAddressType. A gateway refused gives the
   * pool back.
   */
  async requestPool(name: string, request: { subnet?: string; ipRange?: string; gateway?: string; options?: Record<string, string> }, signal?: AbortSignal): Promise<{ ipam: { driver: string; poolId: string }; subnet: string; gateway: string }> {
    const ipam = await this.ipamDriver(name, signal);
    const addressSpace = await ipam.localAddressSpace(signal);
    const pool = await ipam.requestPool({ addressSpace, pool: request.subnet ?? '', subPool: request.ipRange ?? '', options: { ...(request.options ?? {}) }, v6: false }, signal);
    try {
      if (isIP(pool.pool.split('/')[0] ?? '') !== 4) throw internal(`IPAM driver ${name} gave an invalid pool ${JSON.stringify(pool.pool)}`);
      const given = request.gateway === undefined ? pool.data[GATEWAY] : undefined;
      const gateway = given ?? (await ipam.requestAddress(pool.poolId, request.gateway ?? '', { [REQUEST_ADDRESS_TYPE]: GATEWAY }, signal));
      return { ipam: { driver: name, poolId: pool.poolId }, subnet: pool.pool, gateway: addressOf(name, gateway) };
    } catch (error) {
      await ipam.releasePool(pool.poolId).catch(() => undefined);
      throw error;
    }
  }

  /** A network's pool back to its IPAM driver, its gateway first; never fails (libnetwork only logs it). */
  async releasePool(net: Pick<NetworkState, 'ipam' | 'gateway'>): Promise<void> {
    if (!net.ipam) return;
    const ipam = await this.ipamDriver(net.ipam.driver).catch(() => undefined);
    await ipam?.releaseAddress(net.ipam.poolId, net.gateway).catch(() => undefined);
    await ipam?.releasePool(net.ipam.poolId).catch(() => undefined);
  }

  /** An endpoint's address from its network's IPAM driver: `requested` (`--ip`) or any. */
  async requestAddress(net: NetworkState, requested: string | undefined, signal?: AbortSignal): Promise<string> {
    const { driver, poolId } = net.ipam ?? { driver: '', poolId: '' };
    return addressOf(driver, await (await this.ipamDriver(driver, signal)).requestAddress(poolId, requested ?? '', {}, signal));
  }

  /** An endpoint's address back to its network's IPAM driver (nothing for the local IPAM's); never fails. */
  async releaseAddress(net: NetworkState, ip: string): Promise<void> {
    if (!net.ipam) return;
    const ipam = await this.ipamDriver(net.ipam.driver).catch(() => undefined);
    await ipam?.releaseAddress(net.ipam.poolId, ip).catch(() => undefined);
  }

  /** CreateNetwork with the IPAM's pools and the driver options, as libnetwork gives them. */
  async create(net: NetworkState, signal?: AbortSignal): Promise<void> {
    const driver = await this.driver(net.driver ?? '', signal);
    await driver.createNetwork({ networkId: net.id, options: { ...(net.options ?? {}) }, labels: net.labels, internal: net.internal, ipv6: net.ipv6 !== undefined, ...pools(net), ...(signal ? { signal } : {}) });
  }

  async delete(net: NetworkState, signal?: AbortSignal): Promise<void> {
    await (await this.driver(net.driver ?? '', signal)).deleteNetwork(net.id, signal);
  }

  /**
   * CreateEndpoint and Join of each plugin endpoint not joined yet; what the driver answers goes
   * into the endpoint (its MAC when none was asked for, the interface to move in, routes). A Join
   * that fails deletes its endpoint again (libnetwork's rollback); endpoints joined before it are
   * the caller's to release. `joins` are all the sandbox's endpoints (their interface names are
   * taken). Each gets ProgramExternalConnectivity with the container's ports, the driver's to
   * publish (ctr publishes ports on bridge networks alone).
   */
  async join(sandbox: SandboxState, joins: Join[], signal?: AbortSignal): Promise<boolean> {
    let joined = false;
    for (const { ep, net } of joins) {
      if (!isRemote(net) || ep.remote) continue;
      const driver = await this.driver(net.driver ?? '', signal);
      const asked: DriverInterface = {
        address: withPrefix(ep.ip, net.subnet),
        ...(ep.ip6 && net.ipv6 ? { addressIPv6: withPrefix(ep.ip6, net.ipv6.subnet) } : {}),
        ...(ep.mac ? { macAddress: ep.mac } : {}),
      };
      const given = await driver.createEndpoint(net.id, ep.endpointId, asked, {}, signal);
      try {
        this.adopt(ep, asked, given);
        const answer = checkedJoin(driver.name, await driver.join(net.id, ep.endpointId, sandbox.netnsPath ?? '', {}, signal));
        ep.ifName = nameInside(answer.dstPrefix, ep, joins);
        ep.remote = answer;
      } catch (error) {
        await driver.deleteEndpoint(net.id, ep.endpointId).catch(() => undefined);
        throw error;
      }
      await this.program(driver, sandbox, ep, net, signal).catch(async (error: unknown) => {
        await this.leaveOne(driver, ep, net);
        delete ep.remote;
        throw error;
      });
      joined = true;
    }
    return joined;
  }

  /**
   * Moves each joined plugin interface back to the host under its own name (while the namespace
   * is still there), then Leave and DeleteEndpoint, as libnetwork's sandbox release does, so the
   * plugin finds the interface it made when it removes it.
   */
  async leave(joins: Join[], netnsPath: string | undefined): Promise<void> {
    // Only joined ones: an endpoint whose Join failed was deleted by `join` already.
    const remote = joins.filter((j) => isRemote(j.net) && j.ep.remote);
    if (remote.length === 0) return;
    const back = remote.flatMap(({ ep }) => (ep.remote ? [`link set ${ep.ifName} down`, `link set ${ep.ifName} name ${ep.remote.srcName}`, `link set ${ep.remote.srcName} netns ${process.pid}`] : []));
    if (netnsPath) await runScript(`nsenter --net=${shQuote(netnsPath)} ip -force -batch - <<'CTR_EOF' 2>/dev/null || true\n${back.join('\n')}\nCTR_EOF`).catch(() => undefined);
    for (const { ep, net } of remote) {
      const driver = await this.driver(net.driver ?? '').catch(() => undefined);
      if (driver) await this.leaveOne(driver, ep, net);
      delete ep.remote;
    }
  }

  private async leaveOne(driver: NetworkDriver, ep: EndpointState, net: NetworkState): Promise<void> {
    await driver.revokeExternalConnectivity(net.id, ep.endpointId).catch(() => undefined);
    await driver.leave(net.id, ep.endpointId).catch(() => undefined);
    await driver.deleteEndpoint(net.id, ep.endpointId).catch(() => undefined);
  }

  /** The driver's answer to CreateEndpoint: it may fill what was not asked, never change what was (libnetwork's SetMacAddress/SetIPAddress). */
  private adopt(ep: EndpointState, asked: DriverInterface, given: DriverInterface): void {
    if (given.macAddress) {
      if (asked.macAddress) throw invalidArgument('driver modified interface MAC address: endpoint interface MAC address present');
      ep.mac = given.macAddress.toLowerCase();
    }
    const same = (a: string | undefined, b: string | undefined): boolean => a === undefined || b === undefined || a === b;
    if (!same(given.address, asked.address) || !same(given.addressIPv6, asked.addressIPv6)) {
      throw invalidArgument('driver modified interface address: endpoint interface IP present');
    }
  }

  /** ProgramExternalConnectivity with the container's ports (libnetwork's portmap and exposed ports); none to give, no call. */
  private async program(driver: NetworkDriver, sandbox: SandboxState, ep: EndpointState, net: NetworkState, signal?: AbortSignal): Promise<void> {
    const ports = sandbox.portRequests ?? [];
    if (net.internal || (ports.length === 0 && sandbox.exposedPorts.length === 0)) return;
    const options = {
      [PORTMAP]: ports.map((p) => ({ Proto: PROTOCOL_NUMBERS[p.protocol], IP: ep.ip, Port: p.containerPort, HostIP: p.hostIp, HostPort: p.hostPort, HostPortEnd: p.hostPortEnd ?? p.hostPort })),
      [EXPOSED]: sandbox.exposedPorts.map((key) => {
        const [port = '0', proto = 'tcp'] = key.split('/');
        return { Proto: PROTOCOL_NUMBERS[proto === 'udp' ? 'udp' : 'tcp'], Port: Number(port) };
      }),
    };
    await driver.programExternalConnectivity(net.id, ep.endpointId, options, signal);
  }
}

/**
 * What `lookup` finds for `name`, asked once per manager: a failed lookup is asked again next
 * time (the plugin may have been started since). dockerd's words when there is no lookup.
 */
function found<T>(cache: Map<string, Promise<T>>, lookup: ((name: string, signal?: AbortSignal) => Promise<T>) | undefined, name: string, signal?: AbortSignal): Promise<T> {
  if (!lookup) return Promise.reject(notFound(`could not find plugin ${name} in v1 plugin registry: plugin not found`));
  let hit = cache.get(name);
  if (!hit) {
    hit = lookup(name, signal);
    hit.catch(() => cache.delete(name));
    cache.set(name, hit);
  }
  return hit;
}

/** The IPv4 address of an IPAM driver's answer (CIDR, as libnetwork's; a bare address is taken too). */
function addressOf(driver: string, answer: string): string {
  const ip = answer.split('/')[0] ?? '';
  if (isIP(ip) !== 4) throw internal(`IPAM driver ${driver} gave an invalid address ${JSON.stringify(answer)}`);
  return ip;
}

/**
 * The name a joined interface gets inside: the one the allocation chose when the driver's prefix
 * is `eth` (unique among the sandbox's), else the first `<prefix><N>` no other interface has
 * (libnetwork's DstPrefix numbering).
 */
function nameInside(prefix: string, self: EndpointState, all: Join[]): string {
  if (self.ifName.startsWith(prefix) && /^\d+$/.test(self.ifName.slice(prefix.length))) return self.ifName;
  const taken = new Set(all.filter((j) => j.ep !== self).map((j) => j.ep.ifName));
  let n = 0;
  while (taken.has(`${prefix}${n}`)) n++;
  return `${prefix}${n}`;
}
