import { alreadyExists, conflict, CtrError, invalidArgument, notFound, throwIfAborted } from '@ctr/errors';
import { nowRfc3339Nano } from '@ctr/image';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import os from 'node:os';
import { ensureDnsDaemon, stopDnsDaemon } from './dns-control';
import { run, runScript } from './exec';
import { addRules, BOTH_FAMILIES, listTags, removeTagged, setSysctl } from './firewall';
import { allocateAddress, allocateSubnet, checkLinkLocalIps, checkRequestedAddress } from './ipam';
import { contains, intToIp, ipToInt, macFor, overlaps, parseCidr, parseMac, type Cidr } from './ipv4';
import { allocateAddress6, allocateSubnet6, bigToIp6, canonicalIp6, checkRange6, formatCidr6, checkRequestedAddress6, hostAddress6, ip6ToBig, overlaps6, parseCidr6, subnetOf6, ulaPool, type Cidr6 } from './ipv6';
import { withFileLock, withHostLock } from './lock';
import { hostBindings, isIPv6Binding, parseExposedPort, parsePortSpec, validatePortMapping } from './port-spec';
import { allocatePorts, hostListensOnIPv6 } from './port-allocator';
import { forwarding, judgeUpstreams, parseResolvConf, resolvConf, validDnsSettings, type HostResolv, type UpstreamScope } from './resolv';
import { networkRules, portFamilies, portRules, tags } from './rules';
import { allocationFailure } from './allocation-failure';
import { connectivityFailure } from './connectivity';
import { connectRefusal, disconnectRefusal, endpointExists, notConnected, type HostOrNone } from './mode-conflicts';
import { checkAuxAddresses, checkCreateFlags, configRecord, findConfig, fromConfig, inspectConfigOnly } from './create-options';
import { listPortProxies, startPortProxy, stopOrphanPortProxies, stopPortProxy } from './port-proxy';
import { bridgeUpLines, gateway6Of, gatewayOf, sandboxScript, teardownScript, type SandboxPlan } from './sandbox-script';
import { isRemote, RemoteNetworks } from './remote-networks';
import { OVERLAY_MTU, overlayState, removeVxlan, sameDevice, setPeers, vxlanUpLines } from './overlay';
import { inspectBridge, inspectPredefined, networkSettings, predefinedNetworkSettings } from './settings';
import {
  isAllocated,
  readAllJson,
  readJson,
  StatePaths,
  writeJson,
  type ConfigNetworkState,
  type EndpointConfig,
  type EndpointState,
  type NetworkState,
  type PublishedPort,
  type RootEntry,
  type SandboxState,
  ROOT_REGISTRY,
} from './state';
import type {
  AllocateResult,
  AttachOptions,
  AttachResult,
  ConnectOptions,
  DnsSettings,
  EndpointRequest,
  GcReport,
  ListNetworksOptions,
  NetworkCreateOptions,
  NetworkInspect,
  NetworkManagerOptions,
  NetworkMode,
  NetworkSettings,
  OverlayOptions,
  PortMapping,
  PruneOptions,
  RemoteEndpoint,
  VirtualIp,
} from './types';

const DEFAULT_BRIDGE = { bridgeName: 'ctr0', subnet: '10.210.0.0/16' };
const DEFAULT_POOL = { base: '10.211.0.0/16', size: 24 };
const DEFAULT_MTU = 1500;
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const LINK_RE = /^[a-zA-Z0-9_-]{1,15}$/;
const PREDEFINED = new Set(['bridge', 'host', 'none']);

type Join = { ep: EndpointState; net: NetworkState };

function validLink(name: string, what: string): string {
  if (!LINK_RE.test(name)) {
    throw invalidArgument(`Invalid ${what} "${name}"`, { hint: 'use 1-15 letters, digits, "-" or "_"' });
  }
  return name;
}

/** Container names, hostnames and aliases go into hosts files and DNS answers. */
function validDnsName(value: string, what: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(value)) {
    throw invalidArgument(`Invalid ${what} "${value}"`, { hint: 'use letters, digits, "_", "." or "-", starting with a letter or digit' });
  }
  return value;
}

/** The Linux bridge of a user network not given a name: the prefix and as much of the ID as fits in 15 characters. */
export function bridgeNameFor(bridgePrefix: string, networkId: string): string {
  return `${bridgePrefix}-${networkId.slice(0, 14 - bridgePrefix.length)}`;
}

/** A network's ID: 64 hex digits, as dockerd's libnetwork makes one. */
const NETWORK_ID = /^[0-9a-f]{64}$/;
/** A swarm network's: swarmkit's (identity.NewID, 25 base-36 digits), or one of 64 hex digits from an older ctr's manager. */
const SWARM_NETWORK_ID = /^(?:[0-9a-f]{64}|[0-9a-z]{25})$/;

const BRIDGE_NAME = 'com.docker.network.bridge.name';
const MTU = 'com.docker.network.driver.mtu';

/** Docker's built-in network drivers besides bridge: known, and not ctr's. */
const KNOWN_DRIVERS = new Set(['host', 'null', 'overlay', 'macvlan', 'ipvlan']);

/** A new network's driver options (`-o`), with `bridgeName` and `mtu` folded in as theirs. */
export function driverOptions(options: Pick<NetworkCreateOptions, 'options' | 'bridgeName' | 'mtu'>): Record<string, string> {
  const given: Record<string, string> = { ...(options.options ?? {}) };
  if (options.bridgeName !== undefined) given[BRIDGE_NAME] = options.bridgeName;
  if (options.mtu !== undefined) given[MTU] = String(options.mtu);
  return given;
}

/** Refused when ctr's bridge driver would not honour one (docker's ignores what it does not know). */
function supportedDriverOptions(options: NetworkCreateOptions): Record<string, string> {
  const given = driverOptions(options);
  for (const key of Object.keys(given)) {
    if (key !== BRIDGE_NAME && key !== MTU) {
      throw invalidArgument(`network option ${JSON.stringify(key)} is not supported`, { hint: `ctr's bridge driver takes ${BRIDGE_NAME} and ${MTU}` });
    }
  }
  return given;
}

function validMtu(text: string): number {
  const mtu = Number(text);
  if (!/^\d+$/.test(text) || mtu < 68 || mtu > 65535) throw invalidArgument(`Invalid MTU ${JSON.stringify(text)}`, { hint: 'between 68 and 65535' });
  return mtu;
}

/** An address given for a swarm network (another node's, a virtual IP's), refused when the network's subnet does not hold it. */
function inSubnet(net: NetworkState, ip: string): string {
  if (!isIPv4(ip) || !contains(parseCidr(net.subnet), ipToInt(ip))) throw invalidArgument(`no configured subnet contains the IP address ${ip}`, { hint: `network ${net.name} has subnet ${net.subnet}` });
  return ip;
}

function validContainerId(id: string): void {
  if (!CONTAINER_ID_RE.test(id)) throw invalidArgument(`Invalid container ID "${id}"`);
}

function parseMode(mode: AttachOptions['mode']): NetworkMode | { kind: 'user'; name: string } {
  if (mode === undefined || mode === '' || mode === 'default') return { kind: 'bridge' };
  if (typeof mode !== 'string') return mode;
  if (mode === 'none' || mode === 'host' || mode === 'bridge') return { kind: mode };
  if (mode.startsWith('container:')) {
    const containerId = mode.slice('container:'.length);
    if (!containerId) throw invalidArgument('--network container: needs a container ID');
    return { kind: 'container', containerId };
  }
  return { kind: 'user', name: mode };
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function labelsMatch(labels: Record<string, string>, want?: Record<string, string | undefined>): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => k in labels && (v === undefined || labels[k] === v));
}

async function mountPoints(): Promise<Set<string>> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return new Set(
    text
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((p): p is string => !!p)
      .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))),
  );
}

async function hostLinks(): Promise<Array<{ ifname: string; ifalias?: string }>> {
  return JSON.parse(await run('ip', ['-j', 'link', 'show'])) as Array<{ ifname: string; ifalias?: string }>;
}

/** Subnets configured on the host, so automatic subnets never shadow a real route. */
async function hostSubnets(): Promise<Cidr[]> {
  const addrs = JSON.parse(await run('ip', ['-j', '-4', 'addr', 'show'])) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  return addrs.flatMap((l) =>
    (l.addr_info ?? []).map((a) => {
      const size = 2 ** (32 - a.prefixlen);
      return { base: Math.floor(ipToInt(a.local) / size) * size, prefix: a.prefixlen };
    }),
  );
}

/** IPv6 subnets configured on the host (link-local ones aside), so a ULA /64 never shadows a real one. */
async function hostSubnets6(): Promise<Cidr6[]> {
  const addrs = JSON.parse(await run('ip', ['-j', '-6', 'addr', 'show'])) as Array<{ addr_info?: Array<{ local: string; prefixlen: number; scope?: string }> }>;
  return addrs.flatMap((l) => (l.addr_info ?? []).filter((a) => a.scope !== 'link' && a.scope !== 'host').map((a) => subnetOf6(a.local, a.prefixlen)));
}

/**
 * Networks and container network sandboxes on one host, Docker's way: the default
 * `bridge` network, user-defined bridge networks with IPAM and name resolution, and
 * `none` / `host` / `container:<id>` modes.
 *
 * State lives under `<root>/networks/` (one JSON file per network holding its leases, one
 * per sandbox); every change happens under a file lock, so several processes may use the
 * same root. Network namespaces are bind-mounted at `<runRoot>/netns/<containerId>` for
 * the runtime to join by path. Everything is made with iproute2 and iptables (see the
 * README for why not CNI), and every made thing is named so `gc()` can find leftovers.
 */
export class NetworkManager {
  private readonly paths: StatePaths;
  private readonly defaults: { bridgeName: string; subnet: string };
  /** Which default-bridge settings the caller chose (those are never replaced on a clash). */
  private readonly configured: { bridgeName: boolean; subnet: boolean };
  private readonly pool: { cidr: Cidr; size: number };
  private readonly bridgePrefix: string;
  private readonly hostResolvConf: string;
  /** Networks of driver plugins (their drivers looked up when first needed). */
  private readonly remote: RemoteNetworks;

  constructor(options: NetworkManagerOptions) {
    this.remote = new RemoteNetworks(options.drivers, options.ipamDrivers);
    this.paths = new StatePaths(options.root, options.runRoot);
    this.defaults = {
      bridgeName: validLink(options.defaultBridge?.bridgeName ?? DEFAULT_BRIDGE.bridgeName, 'bridge name'),
      subnet: options.defaultBridge?.subnet ?? DEFAULT_BRIDGE.subnet,
    };
    this.configured = { bridgeName: !!options.defaultBridge?.bridgeName, subnet: !!options.defaultBridge?.subnet };
    parseCidr(this.defaults.subnet);
    const pool = options.addressPool ?? DEFAULT_POOL;
    this.pool = { cidr: parseCidr(pool.base), size: pool.size };
    if (pool.size < this.pool.cidr.prefix || pool.size > 30) {
      throw invalidArgument(`Invalid address pool size /${pool.size} for ${pool.base}`);
    }
    this.bridgePrefix = options.bridgePrefix ?? 'ctr';
    this.hostResolvConf = options.hostResolvConf ?? (process.env.CTR_RESOLV_CONF || '/etc/resolv.conf');
    if (!/^[a-z0-9]{1,4}$/.test(this.bridgePrefix)) throw invalidArgument(`Invalid bridge prefix "${this.bridgePrefix}"`);
  }

  // ---- networks ---------------------------------------------------------------------------

  /** `docker network create`. */
  async createNetwork(options: NetworkCreateOptions): Promise<NetworkInspect> {
    const { name } = options;
    if (!NAME_RE.test(name)) {
      throw invalidArgument(`Invalid network name "${name}"`, { hint: 'names start with a letter or digit; then letters, digits, "_", "." or "-"' });
    }
    // A swarm's overlay network is a bridge on this one node (checkCreateFlags refuses it outside a swarm).
    if (options.driver !== undefined && options.driver !== 'bridge' && options.driver !== 'overlay') {
      // A plugin's, looked up as dockerd looks for a driver it does not have built in.
      if (!KNOWN_DRIVERS.has(options.driver)) await this.remote.driver(options.driver, options.signal);
      else throw new CtrError('Unsupported', `Network driver "${options.driver}" is not supported`, { hint: 'use the bridge driver' });
    }
    const ipamDriver = options.ipamDriver !== undefined && options.ipamDriver !== '' && options.ipamDriver !== 'default' ? options.ipamDriver : undefined;
    if (ipamDriver !== undefined) {
      await this.remote.ipamDriver(ipamDriver, options.signal);
      if (options.ipv6) throw new CtrError('Unsupported', `IPv6 is not supported with IPAM driver ${ipamDriver}`, { hint: 'ctr asks IPAM plugins for IPv4 pools alone: leave --ipv6 out' });
    }
    checkCreateFlags(options);
    if (options.id !== undefined && !(options.swarm ? SWARM_NETWORK_ID : NETWORK_ID).test(options.id)) {
      throw invalidArgument(`Invalid network ID "${options.id}"`, { hint: options.swarm ? "64 lower-case hex digits, or swarmkit's 25 base-36 digits" : '64 lower-case hex digits' });
    }
    if (options.overlay !== undefined && !options.swarm) throw invalidArgument('only a swarm network spans nodes', { hint: 'create it in a swarm with -d overlay' });
    if (PREDEFINED.has(name)) throw alreadyExists(`network with name ${name} already exists`, { hint: `${name} is a pre-defined network` });
    return this.locked(async () => {
      const nets = await this.loadNets();
      const configs = await this.loadConfigs();
      if ([...nets.values(), ...configs].some((n) => n.name === name)) throw alreadyExists(`network with name ${name} already exists`);
      if (options.id !== undefined && [...nets.values(), ...configs].some((n) => n.id === options.id)) throw alreadyExists(`network with id ${options.id} already exists`);
      const id = options.id ?? randomHex(32);
      if (options.configOnly) {
        const config = configRecord(id, options);
        await fs.mkdir(this.paths.configs, { recursive: true });
        await writeJson(this.paths.configFile(id), config);
        return inspectConfigOnly(config);
      }
      const effective = options.configFrom !== undefined ? fromConfig(options, configs) : options;
      // An IPAM plugin's pool and gateway stand for the ones asked for; `--ip` still needs a `--subnet` given.
      const pool = ipamDriver !== undefined ? await this.remote.requestPool(ipamDriver, { ...effective, ...(effective.ipamOptions ? { options: effective.ipamOptions } : {}) }, options.signal) : undefined;
      const asked = pool ? { ...effective, subnet: pool.subnet, gateway: pool.gateway } : effective;
      // The subnet and bridge name are free host-wide only until the bridge exists.
      const net = await withHostLock('addresses', () => this.newBridgeNetwork(id, asked, nets), options.signal).catch(async (error: unknown) => {
        if (pool) await this.remote.releasePool({ ipam: pool.ipam, gateway: pool.gateway });
        throw error;
      });
      if (pool) Object.assign(net, { ipam: pool.ipam }, effective.subnet === undefined ? { assignedSubnet: true } : {});
      try {
        await writeJson(this.paths.netFile(id), net);
        await this.rescopeAll(new Map([...nets, [id, net]]));
        await this.touchGeneration();
        if (!isRemote(net)) await ensureDnsDaemon(this.paths, [net.gateway], true);
      } catch (e) {
        await fs.rm(this.paths.netFile(id), { force: true });
        await this.destroyBridge(net);
        await this.stopDnsIfIdle(new Map([...nets].filter(([k]) => k !== id)));
        throw e;
      }
      return inspectBridge(net);
    }, options.signal);
  }

  /** Chooses a user network's subnet and bridge, and makes the bridge. */
  private async newBridgeNetwork(id: string, options: NetworkCreateOptions, nets: Map<string, NetworkState>): Promise<NetworkState> {
    const { name } = options;
    const subnet = await this.chooseSubnet(nets, options.subnet, options.addressPools);
    const cidr = parseCidr(subnet);
    const gateway = options.gateway ?? this.firstHost(cidr);
    const gw = ipToInt(gateway);
    if (!contains(cidr, gw) || gw === cidr.base || gw === cidr.base + 2 ** (32 - cidr.prefix) - 1) {
      throw invalidArgument(`Gateway ${gateway} is not a host address of subnet ${subnet}`);
    }
    if (options.ipRange !== undefined) {
      const range = parseCidr(options.ipRange);
      if (range.prefix < cidr.prefix || !contains(cidr, range.base)) {
        throw invalidArgument(`IP range ${options.ipRange} is not inside subnet ${subnet}`);
      }
    }
    const ipv6 = await this.chooseIpv6(nets, options);
    const auxAddresses = checkAuxAddresses(options.auxAddresses, subnet, ipv6?.subnet);
    // A plugin's network has its driver's options, whatever they are, and no bridge of ctr's.
    const driver = options.driver !== undefined && !KNOWN_DRIVERS.has(options.driver) && options.driver !== 'bridge' ? options.driver : undefined;
    const given = driver ? driverOptions(options) : supportedDriverOptions(options);
    const bridge = driver ? '' : validLink(given[BRIDGE_NAME] ?? bridgeNameFor(this.bridgePrefix, id), 'bridge name');
    if (!driver && (await hostLinks()).some((l) => l.ifname === bridge)) {
      throw conflict(`A network interface named ${bridge} already exists on the host`, { hint: 'choose another bridge name' });
    }
    const net: NetworkState = {
      id,
      name,
      created: nowRfc3339Nano(true),
      bridge,
      subnet,
      gateway,
      ...(options.ipRange !== undefined ? { ipRange: options.ipRange } : {}),
      ...(options.subnet === undefined ? { assignedSubnet: true as const } : {}),
      internal: options.internal ?? false,
      ...(ipv6 ? { ipv6 } : {}),
      labels: { ...(options.labels ?? {}) },
      // A swarm network's frames may cross nodes inside VXLAN, as libnetwork's overlay sizes them.
      mtu: given[MTU] === undefined ? (options.swarm ? OVERLAY_MTU : DEFAULT_MTU) : validMtu(given[MTU]),
      options: given,
      ...(auxAddresses ? { auxAddresses } : {}),
      ...(options.ipamOptions && Object.keys(options.ipamOptions).length > 0 ? { ipamOptions: { ...options.ipamOptions } } : {}),
      ...(options.attachable ? { attachable: true as const } : {}),
      ...(options.swarm ? { scope: 'swarm' as const } : {}),
      ...(options.swarm && options.ingress ? { ingress: true as const } : {}),
      ...(options.configFrom !== undefined ? { configFrom: options.configFrom } : {}),
      isDefault: false,
      endpoints: {},
      ...(driver ? { driver } : {}),
      ...(options.overlay ? { overlay: overlayState(id, options.overlay) } : {}),
    };
    throwIfAborted(options.signal, 'creating the network');
    await (driver ? this.remote.create(net, options.signal) : this.makeBridge(net));
    return net;
  }

  /**
   * `docker network ls`: bridge, host, none, then user networks. The default bridge is made
   * if no container has needed it yet, as dockerd has docker0 from its start: what is shown
   * of it (bridge name, subnet, gateway) is what its first container then joins.
   */
  async listNetworks(options: ListNetworksOptions = {}): Promise<NetworkInspect[]> {
    await this.paths.ensure();
    const nets = await this.loadNets();
    const created = await this.predefinedCreated(nets);
    // A list is a read: when the bridge cannot be made now (its configured name taken, no
    // CAP_NET_ADMIN), it shows what would be made, and the first container's join says why not.
    const bridge =
      [...nets.values()].find((n) => n.isDefault) ??
      (await this.locked(async () => this.ensureDefault(await this.loadNets())).catch(() => this.defaultState(created)));
    const all = [
      inspectBridge(bridge),
      ...this.predefined(created),
      ...[...nets.values()].filter((n) => !n.isDefault).map(inspectBridge),
      ...(await this.loadConfigs()).map(inspectConfigOnly),
    ];
    return all.filter((n) => (options.name === undefined || n.Name.includes(options.name)) && labelsMatch(n.Labels, options.labels));
  }

  /** `docker network inspect NAME|ID`. */
  async inspectNetwork(nameOrId: string): Promise<NetworkInspect> {
    const all = await this.listNetworks();
    const exact = all.filter((n) => n.Name === nameOrId || n.Id === nameOrId);
    const found = exact.length > 0 ? exact : all.filter((n) => nameOrId.length > 0 && n.Id.startsWith(nameOrId));
    if (found.length > 1) throw invalidArgument(`network ${nameOrId} is ambiguous (${found.length} matches found based on ID prefix)`);
    const hit = found[0];
    if (!hit) throw notFound(`network ${nameOrId} not found`, { details: { looked: this.paths.nets } });
    return hit;
  }

  /** `docker network rm`: refused while containers are attached, and for pre-defined networks. */
  async removeNetwork(nameOrId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.locked(async () => {
      const nets = await this.loadNets();
      const predefined = this.hostOrNone(nameOrId);
      const net = this.findNet(nets, nameOrId);
      if (predefined || net?.isDefault || nameOrId === 'bridge') {
        throw new CtrError('Denied', `${predefined ?? 'bridge'} is a pre-defined network and cannot be removed`);
      }
      if (!net) return this.removeConfig(nets, nameOrId);
      const attached = Object.values(net.endpoints);
      if (attached.length > 0) {
        // libnetwork's ActiveEndpointsError (moby 28): each endpoint by its name and short ID, Go's %q.
        const endpoints = attached.map((e) => `name:${JSON.stringify(e.containerName || e.containerId)} id:${JSON.stringify(e.endpointId.slice(0, 12))}`);
        throw conflict(`error while removing network: network ${net.name} has active endpoints (${endpoints.join(', ')})`, {
          hint: `disconnect ${attached.map((e) => e.containerName || e.containerId.slice(0, 12)).join(', ')} first`,
        });
      }
      await this.deleteNetwork(net, nets);
    }, options.signal);
  }

  /** `docker network prune`: removes user networks nothing is attached to. */
  async prune(options: PruneOptions = {}): Promise<{ NetworksDeleted: string[] }> {
    return this.locked(async () => {
      const nets = await this.loadNets();
      const deleted: string[] = [];
      for (const net of [...nets.values()]) {
        if (net.isDefault || Object.keys(net.endpoints).length > 0 || !labelsMatch(net.labels, options.labels)) continue;
        if (options.accept && !options.accept(inspectBridge(net))) continue;
        await this.deleteNetwork(net, nets);
        deleted.push(net.name);
      }
      return { NetworksDeleted: deleted };
    });
  }

  /**
   * A swarm network's VXLAN settings on this node: its device made (or made again when the VNI,
   * port or local address changed) and its flood peers made the ones given; `undefined` removes
   * the device, leaving the network a bridge on this node alone.
   */
  async setOverlay(nameOrId: string, overlay: OverlayOptions | undefined, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.locked(async () => {
      const net = this.swarmNet(await this.loadNets(), nameOrId);
      const wanted = overlay ? overlayState(net.id, overlay) : undefined;
      if (JSON.stringify(wanted) === JSON.stringify(net.overlay)) return;
      const before = net.overlay;
      if (before && !(wanted && sameDevice(before, wanted))) await removeVxlan(before);
      if (wanted) {
        if (before && sameDevice(before, wanted)) await setPeers(wanted);
        else await this.makeVxlan(net, wanted);
        net.overlay = wanted;
      } else delete net.overlay;
      await writeJson(this.paths.netFile(net.id), net);
    }, options.signal);
  }

  /**
   * Replaces a swarm network's addresses on other nodes: they are never handed out here, and the
   * embedded DNS answers their names (a service's, `tasks.<service>`) with them beside the local
   * endpoints' — service discovery across nodes.
   */
  async setRemoteEndpoints(nameOrId: string, endpoints: readonly RemoteEndpoint[], options: { signal?: AbortSignal } = {}): Promise<void> {
    for (const ep of endpoints) for (const n of ep.names) validDnsName(n, 'network alias');
    await this.locked(async () => {
      const net = this.swarmNet(await this.loadNets(), nameOrId);
      const wanted: NonNullable<NetworkState['remoteEndpoints']> = {};
      for (const ep of [...endpoints].sort((a, b) => a.id.localeCompare(b.id))) wanted[ep.id] = { ip: inSubnet(net, ep.ip), names: [...ep.names] };
      if (JSON.stringify(wanted) === JSON.stringify(net.remoteEndpoints ?? {})) return;
      if (Object.keys(wanted).length > 0) net.remoteEndpoints = wanted;
      else delete net.remoteEndpoints;
      await writeJson(this.paths.netFile(net.id), net);
      await this.touchGeneration();
    }, options.signal);
  }

  /**
   * Replaces a swarm network's virtual IPs (its services', as the swarm's allocator gave them):
   * never handed out here, answered by the embedded DNS for their names before any endpoint
   * holding the same name, and in every running sandbox on the network (and each one made later)
   * turned into their backends by its own nat table, rewritten at once (sandbox-script.ts). The
   * sandboxes are rewritten before the record, so a failure leaves the old set to be replaced
   * again by the next call.
   */
  async setVirtualIps(nameOrId: string, vips: readonly VirtualIp[], options: { signal?: AbortSignal } = {}): Promise<void> {
    for (const vip of vips) for (const n of vip.names) validDnsName(n, 'network alias');
    await this.locked(async () => {
      const nets = await this.loadNets();
      const net = this.swarmNet(nets, nameOrId);
      const wanted: NonNullable<NetworkState['virtualIps']> = {};
      for (const vip of [...vips].sort((a, b) => a.id.localeCompare(b.id))) {
        wanted[vip.id] = { ip: inSubnet(net, vip.ip), names: [...vip.names], backends: vip.backends.map((ip) => inSubnet(net, ip)).sort() };
      }
      if (JSON.stringify(wanted) === JSON.stringify(net.virtualIps ?? {})) return;
      if (Object.keys(wanted).length > 0) net.virtualIps = wanted;
      else delete net.virtualIps;
      const mounts = await mountPoints();
      for (const containerId of Object.keys(net.endpoints)) {
        const sandbox = await readJson<SandboxState>(this.paths.sandboxFile(containerId), true);
        if (!sandbox || !isAllocated(sandbox) || !sandbox.netnsPath || !mounts.has(sandbox.netnsPath)) continue;
        await runScript(this.script(sandbox, nets, [], false), { signal: options.signal });
      }
      await writeJson(this.paths.netFile(net.id), net);
      await this.touchGeneration();
    }, options.signal);
  }

  // ---- containers -------------------------------------------------------------------------

  /**
   * `docker create`: records a container's network — its mode, the networks it joins (with
   * aliases, `--ip`, `--mac-address`), its ports and DNS settings — and makes nothing: its
   * namespace, addresses and published ports are made by `allocate` at each start and removed
   * by `release` at each stop, as dockerd's allocateNetwork and releaseNetwork do. Returns what
   * the runtime needs at create: the path its namespace will have, and resolv.conf, hosts
   * (no address yet) and hostname.
   */
  async configure(containerId: string, options: AttachOptions = {}): Promise<AttachResult> {
    const request = await this.attachRequest(containerId, options);
    return this.locked(async () => {
      const nets = await this.loadNets();
      const sandbox = await this.record(request, nets);
      return this.result(sandbox, nets, request.hostResolv);
    }, options.signal);
  }

  /**
   * `configure` and `allocate` at once: the network of a container about to start (`docker
   * run`), or of a build step. A failure leaves nothing, not even the record; one of the
   * allocation, which `configure` alone would not meet, is an `allocationFailure`.
   */
  async attach(containerId: string, options: AttachOptions = {}): Promise<AttachResult> {
    const request = await this.attachRequest(containerId, options);
    return this.locked(async () => {
      const nets = await this.loadNets();
      // Written by the allocation, before it makes anything.
      const sandbox = await this.record(request, nets, false);
      try {
        await this.allocateSandbox(sandbox, nets, request.hostResolv, options.signal);
      } catch (e) {
        await this.teardown(sandbox, nets).catch(() => undefined);
        throw allocationFailure(e);
      }
      return this.result(sandbox, nets, request.hostResolv);
    }, options.signal);
  }

  /**
   * At a container's start: makes what `configure` and `connect` recorded — its namespace, an
   * endpoint (address, veth, name in the embedded DNS) on each network and its published
   * ports. A container sharing another's namespace (`container:<id>`) needs that one's
   * allocated (`cannot join network of a non running container`). Already allocated, nothing is
   * made (`made` false); allocated before the machine lost its namespaces, it is made again.
   * A failure releases what was made and keeps the record.
   */
  async allocate(containerId: string, options: { signal?: AbortSignal } = {}): Promise<AllocateResult> {
    const hostResolv = await this.hostResolv();
    return this.locked(async () => {
      const sandbox = await this.findSandbox(containerId);
      const nets = await this.loadNets();
      const made = await this.allocateSandbox(sandbox, nets, hostResolv, options.signal);
      return { ...(await this.result(sandbox, nets, hostResolv)), made };
    }, options.signal);
  }

  /**
   * At a container's stop or exit: removes its namespace, endpoints (their addresses become
   * free, their names leave the DNS) and published ports; what it is connected to stays for
   * its next start. Releasing what is not allocated does nothing.
   */
  async release(containerId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validContainerId(containerId);
    // Most calls find nothing to do (a stop seen by several observers): no lock for those.
    const seen = await readJson<SandboxState>(this.paths.sandboxFile(containerId), true);
    if (!seen || !isAllocated(seen)) return;
    await this.locked(async () => {
      const sandbox = await readJson<SandboxState>(this.paths.sandboxFile(containerId), true);
      if (sandbox && isAllocated(sandbox)) await this.releaseSandbox(sandbox, await this.loadNets());
    }, options.signal);
  }

  /**
   * `docker network connect`: a running container gets the endpoint at once, a stopped one at
   * its next start; a stopped container sharing another's namespace is only recorded on the
   * network, as dockerd records it, and never joins it (see connectRefusal). See ConnectOptions
   * for `running` and `onResolver`.
   */
  async connect(containerId: string, given: EndpointRequest, options: ConnectOptions = {}): Promise<NetworkSettings> {
    for (const a of given.aliases ?? []) validDnsName(a, 'network alias');
    const request = given.mac === undefined ? given : { ...given, mac: parseMac(given.mac) };
    const hostResolv = options.onResolver ? await this.hostResolv() : undefined;
    return this.locked(async () => {
      const sandbox = await this.sandboxOf(containerId);
      const running = options.running ?? runsBySandbox(sandbox);
      const refusal = connectRefusal(sandbox?.mode ?? 'none', this.hostOrNone(request.name), running);
      if (refusal) throw refusal;
      // One on none to none: dockerd's duplicate connect, which changes nothing.
      if (!sandbox || sandbox.mode === 'none') return this.predefinedSettings('none');
      if (sandbox.mode === 'host') return this.connectHost(sandbox, running);
      const nets = await this.loadNets();
      const wanted = this.wantedOf(sandbox, nets);
      const config = this.endpointConfig(nets, request);
      // A sharing container's namespace is another's: its connections are never made.
      const joinsNow = sandbox.ownsNetns && isAllocated(sandbox);
      if (wanted.some((w) => w.networkId === config.networkId)) {
        // dockerd: a stopped container's second connect to a network changes nothing.
        if (!joinsNow) return networkSettings(sandbox, nets, this.predefinedIds());
        throw endpointExists(sandbox.name || sandbox.containerId, config.networkName);
      }
      wanted.push(config);
      if (!joinsNow) {
        await this.saveSandbox(sandbox);
        return networkSettings(sandbox, nets, this.predefinedIds());
      }
      const join = await this.join(sandbox, nets, config);
      this.rescope(sandbox, nets);
      await this.saveJoins([join]);
      await this.saveSandbox(sandbox);
      try {
        if (await this.remote.join(sandbox, this.plan(sandbox, nets).endpoints, options.signal)) await this.saveJoins([join]);
        await runScript(this.script(sandbox, nets, [join], false), { signal: options.signal });
        // libnetwork's sbJoin: the endpoint that carries the ports now programs them, failing in its words.
        await this.repointPorts(sandbox, nets).catch((e: unknown) => {
          throw connectivityFailure(this.plan(sandbox, nets).ports?.ep ?? join.ep, e, 'connect');
        });
        await this.saveSandbox(sandbox);
        await this.touchGeneration();
        await ensureDnsDaemon(this.paths, this.dnsGateways(sandbox, nets));
      } catch (e) {
        sandbox.wanted = wanted.filter((w) => w !== config);
        await this.dropEndpoints(sandbox, nets, [join.net.id]);
        throw e;
      }
      // libnetwork's sbJoin: an endpoint that needs the embedded DNS starts the sandbox's resolver, which rewrites its resolv.conf (rebuildDNS).
      if (hostResolv && options.onResolver && hasEmbeddedDns(join.net)) await options.onResolver(resolvConf('embedded', hostResolv, sandbox.dns?.settings ?? {}));
      return networkSettings(sandbox, nets, this.predefinedIds());
    }, options.signal);
  }

  /**
   * `docker network disconnect`: removes the endpoint (its address is free again) and the
   * connection. A stopped host container leaves `host` (it still runs in the host's namespace);
   * a running one, or one in another mode than bridge, keeps what it has (see disconnectRefusal).
   * `running` as for `connect`.
   */
  async disconnect(containerId: string, network: string, options: { signal?: AbortSignal; running?: boolean } = {}): Promise<NetworkSettings> {
    return this.locked(async () => {
      const sandbox = await this.sandboxOf(containerId);
      const running = options.running ?? runsBySandbox(sandbox);
      const refusal = disconnectRefusal(containerId, sandbox?.mode ?? 'none', network, this.hostOrNone(network), running);
      if (refusal) throw refusal;
      // none from a container on it: dockerd's disconnect leaves it without a network, as it was.
      if (!sandbox || sandbox.mode === 'none') return this.predefinedSettings('none');
      if (sandbox.mode === 'host') {
        if (sandbox.offHost) throw notConnected(containerId, network);
        sandbox.offHost = true;
        await this.saveSandbox(sandbox);
        return networkSettings(sandbox, new Map(), this.predefinedIds());
      }
      // A running sharing container has no endpoint of its own to take off: dockerd finds none.
      if (!sandbox.ownsNetns && running) throw notConnected(containerId, network);
      const nets = await this.loadNets();
      const net = this.findNet(nets, network);
      const wanted = this.wantedOf(sandbox, nets);
      // A network removed while the container was stopped is still named by its connection.
      const config = wanted.find((w) => (net ? w.networkId === net.id : w.networkName === network));
      if (!config) throw notConnected(containerId, network);
      sandbox.wanted = wanted.filter((w) => w !== config);
      if (sandbox.networkIds.includes(config.networkId)) await this.dropEndpoints(sandbox, nets, [config.networkId], { keepResolver: true });
      else await this.saveSandbox(sandbox);
      return networkSettings(sandbox, nets, this.predefinedIds());
    }, options.signal);
  }

  /** `docker rename`: the embedded DNS answers the new name (and no longer the old one) on every network. */
  async rename(containerId: string, name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validContainerId(containerId);
    const newName = validDnsName(name.replace(/^\//, ''), 'container name');
    await this.locked(async () => {
      const sandbox = await readJson<SandboxState>(this.paths.sandboxFile(containerId), true);
      if (!sandbox) return;
      sandbox.name = newName;
      const nets = await this.loadNets();
      for (const { ep, net } of this.plan(sandbox, nets).endpoints) {
        ep.containerName = newName;
        await writeJson(this.paths.netFile(net.id), net);
      }
      await this.saveSandbox(sandbox);
      await this.touchGeneration();
    }, options.signal);
  }

  /** Removes everything a container's network was made of, and its record. Detaching twice is not an error. */
  async detach(containerId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    validContainerId(containerId);
    await this.locked(async () => {
      const sandbox = await readJson<SandboxState>(this.paths.sandboxFile(containerId), true);
      if (!sandbox) return;
      const nets = await this.loadNets();
      await this.teardown(sandbox, nets);
    }, options.signal);
  }

  /**
   * The default `bridge` network's gateway: the host's address there, which `--add-host
   * NAME:host-gateway` names (dockerd's default host-gateway-ip is docker0's). The network
   * is made if no container has needed it yet, as dockerd has docker0 from its start.
   */
  async defaultGateway(options: { signal?: AbortSignal } = {}): Promise<string> {
    return this.locked(async () => (await this.ensureDefault(await this.loadNets())).gateway, options.signal);
  }

  /**
   * The container's NetworkSettings as `docker inspect` shows them: while it is not allocated,
   * each network it is connected to with no address or endpoint (dockerd's after a stop).
   */
  /** What inspect shows for a container on `host` or `none`, which has no sandbox: that network, no address. */
  predefinedSettings(mode: 'host' | 'none'): NetworkSettings {
    return predefinedNetworkSettings(mode, this.predefinedIds()[mode]);
  }

  async settings(containerId: string): Promise<NetworkSettings> {
    await this.paths.ensure();
    const sandbox = await this.findSandbox(containerId);
    // A host container's are no network's state: no need to read them.
    if (sandbox.mode === 'host') return networkSettings(sandbox, new Map(), this.predefinedIds());
    const nets = await this.loadNets();
    this.wantedOf(sandbox, nets);
    return networkSettings(sandbox, nets, this.predefinedIds());
  }

  /**
   * Finds and removes what a crash left behind: the endpoints and ports of sandboxes whose
   * namespace is gone (released; what they are connected to stays for their next start), leases
   * of containers without a sandbox, namespaces, links and iptables rules nothing owns;
   * recreates bridges of recorded networks (after a reboot); removes the default bridge
   * while nothing uses it; starts or stops the DNS server as the networks need.
   */
  async gc(options: { signal?: AbortSignal } = {}): Promise<GcReport> {
    return this.locked(async () => {
      const removed: string[] = [];
      const nets = await this.loadNets();
      const mounts = await mountPoints();
      const sandboxes = new Map<string, SandboxState>();
      for (const sb of await readAllJson<SandboxState>(this.paths.sandboxes, true)) {
        if (isAllocated(sb) && sb.ownsNetns && sb.netnsPath && !mounts.has(sb.netnsPath)) {
          await this.releaseSandbox(sb, nets);
          removed.push(`sandbox ${sb.containerId}`);
        }
        sandboxes.set(sb.containerId, sb);
      }
      for (const net of nets.values()) {
        for (const ep of Object.values(net.endpoints)) {
          if (sandboxes.get(ep.containerId)?.networkIds.includes(net.id)) continue;
          delete net.endpoints[ep.containerId];
          await writeJson(this.paths.netFile(net.id), net);
          removed.push(`lease ${ep.ip} on ${net.name}`);
        }
      }
      for (const file of await fs.readdir(this.paths.sandboxes)) {
        if (sandboxes.has(file.replace(/\.json$/, ''))) continue;
        await fs.rm(`${this.paths.sandboxes}/${file}`, { force: true });
        removed.push(`unreadable record ${file}`);
      }
      const netnsFiles = await fs.readdir(this.paths.netnsDir).catch(() => [] as string[]);
      for (const file of netnsFiles) {
        const owner = sandboxes.get(file);
        if (owner?.ownsNetns && isAllocated(owner)) continue;
        await runScript(teardownScript([], this.paths.netnsPath(file)));
        removed.push(`netns ${this.paths.netnsPath(file)}`);
      }
      const defaultNet = [...nets.values()].find((n) => n.isDefault);
      if (defaultNet && Object.keys(defaultNet.endpoints).length === 0) {
        await this.deleteNetwork(defaultNet, nets);
        removed.push(`network ${defaultNet.name}`);
      }
      const links = await hostLinks();
      const veths = new Set([...nets.values()].flatMap((n) => Object.values(n.endpoints).map((e) => e.hostVeth)));
      const bridges = new Set([...nets.values()].flatMap((n) => [n.bridge, ...(n.overlay ? [n.overlay.device] : [])]));
      for (const link of links) {
        if (!link.ifalias?.startsWith(tags.root(this.paths.tag))) continue;
        if (veths.has(link.ifname) || bridges.has(link.ifname)) continue;
        await run('ip', ['link', 'del', link.ifname]).catch(() => undefined);
        removed.push(`link ${link.ifname}`);
      }
      for (const net of nets.values()) {
        if (isRemote(net)) continue;
        if (!links.some((l) => l.ifname === net.bridge)) {
          await this.makeBridge(net);
          removed.push(`(recreated bridge ${net.bridge} of ${net.name})`);
        } else if (net.overlay && !links.some((l) => l.ifname === net.overlay?.device)) {
          await this.makeVxlan(net, net.overlay);
          removed.push(`(recreated VXLAN device ${net.overlay.device} of ${net.name})`);
        }
      }
      const wantedTags = new Set([
        ...[...nets.values()].map((n) => tags.network(this.paths.tag, n.id)),
        ...[...sandboxes.values()].filter((s) => s.ports.length > 0).map((s) => tags.ports(this.paths.tag, s.containerId)),
      ]);
      for (const proxy of await listPortProxies(this.paths)) {
        if (sandboxes.get(proxy.containerId)?.proxyPid === proxy.pid) continue;
        await stopPortProxy(this.paths, proxy.pid);
        removed.push(`port proxy ${proxy.pid} of ${proxy.containerId}`);
      }
      for (const tag of await listTags(tags.root(this.paths.tag))) {
        if (wantedTags.has(tag)) continue;
        const n = await removeTagged(tag, BOTH_FAMILIES);
        removed.push(`${n} iptables rules ${tag}`);
      }
      removed.push(...(await this.gcDeletedRoots()));
      throwIfAborted(options.signal, 'network gc');
      await this.touchGeneration();
      const gateways = [...nets.values()].filter(answersDns).map((n) => n.gateway);
      if (gateways.length > 0) await ensureDnsDaemon(this.paths, gateways, true);
      else if (await stopDnsDaemon(this.paths)) removed.push('dns server');
      if (nets.size === 0 && sandboxes.size === 0) await this.paths.unregister();
      return { removed };
    }, options.signal);
  }

  // ---- internals ----------------------------------------------------------------------------

  /**
   * Removes the namespaces, links, rules and port proxies of roots whose directory no longer
   * exists, and the links and rules of roots not in the registry at all (its entry lost, or made before
   * the registry moved to /run), which nothing else would ever remove.
   */
  private async gcDeletedRoots(): Promise<string[]> {
    const removed: string[] = await stopOrphanPortProxies();
    // Links and rules first, the registry after: a root registers before it makes either, so
    // one listed here whose root is missing from the registry read next has no live root.
    const links = await hostLinks();
    const ruleTags = await listTags(tags.any);
    const entries = await readAllJson<RootEntry>(ROOT_REGISTRY, true);
    const unknown = (tagged: string | undefined): boolean => {
      const rootTag = /^ctr:([0-9a-f]{8}):/.exec(tagged ?? '')?.[1];
      return rootTag !== undefined && !entries.some((entry) => entry.tag === rootTag);
    };
    for (const link of links.filter((l) => unknown(l.ifalias))) {
      await run('ip', ['link', 'del', link.ifname]).catch(() => undefined);
      removed.push(`link ${link.ifname} of an unknown root`);
    }
    for (const tag of [...ruleTags].filter(unknown)) removed.push(`${await removeTagged(tag, BOTH_FAMILIES)} iptables rules ${tag} of an unknown root`);
    for (const entry of entries) {
      if (entry.tag === this.paths.tag) continue;
      if (await fs.stat(`${entry.root}/networks`).then(() => true, () => false)) continue;
      const prefix = tags.root(entry.tag);
      const netnsDir = `${entry.runRoot}/netns`;
      for (const file of await fs.readdir(netnsDir).catch(() => [] as string[])) {
        await runScript(teardownScript([], `${netnsDir}/${file}`));
      }
      for (const link of links) {
        if (link.ifalias?.startsWith(prefix)) await run('ip', ['link', 'del', link.ifname]).catch(() => undefined);
      }
      for (const tag of await listTags(prefix)) await removeTagged(tag, BOTH_FAMILIES);
      await fs.rm(`${ROOT_REGISTRY}/${entry.tag}.json`, { force: true });
      removed.push(`leftovers of deleted root ${entry.root}`);
    }
    return removed;
  }

  private async locked<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.paths.ensure();
    return withFileLock(this.paths.lock, fn, signal);
  }

  /**
   * Whether a network not found is a config-only one: read synchronously, on that error path
   * alone, so a container's create reads nothing more.
   */
  private isConfigOnly(nameOrId: string): boolean {
    const files = (() => {
      try {
        return readdirSync(this.paths.configs);
      } catch {
        return [];
      }
    })();
    const configs = files.filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(`${this.paths.configs}/${f}`, 'utf8')) as ConfigNetworkState);
    return findConfig(configs, nameOrId) !== undefined;
  }

  private async loadConfigs(): Promise<ConfigNetworkState[]> {
    return readAllJson<ConfigNetworkState>(this.paths.configs);
  }

  /** Removes a config-only network; refused while a network made from it exists, as dockerd refuses. */
  private async removeConfig(nets: Map<string, NetworkState>, nameOrId: string): Promise<void> {
    const config = findConfig(await this.loadConfigs(), nameOrId);
    if (!config) throw notFound(`network ${nameOrId} not found`);
    const user = [...nets.values()].find((n) => n.configFrom === config.name);
    if (user) throw new CtrError('Denied', `configuration network "${config.name}" is in use`, { hint: `remove network ${user.name} first` });
    await fs.rm(this.paths.configFile(config.id), { force: true });
  }

  private async loadNets(): Promise<Map<string, NetworkState>> {
    return new Map((await readAllJson<NetworkState>(this.paths.nets)).map((n) => [n.id, n]));
  }

  /** Tells the DNS server to reload; a signal, not data, so no fsync. */
  private async touchGeneration(): Promise<void> {
    const tmp = `${this.paths.generation}.${process.pid}.tmp`;
    await fs.writeFile(tmp, `${Date.now()}-${randomHex(4)}`);
    await fs.rename(tmp, this.paths.generation);
  }

  /** `host` or `none` when `nameOrId` is that pre-defined network's name or ID. */
  private hostOrNone(nameOrId: string): HostOrNone {
    const ids = this.predefinedIds();
    return (['host', 'none'] as const).find((name) => name === nameOrId || ids[name] === nameOrId);
  }

  private predefinedIds(): Record<'host' | 'none' | 'bridge', string> {
    const id = (name: string): string => createHash('sha256').update(`${this.paths.tag}:${name}`).digest('hex');
    return { host: id('host'), none: id('none'), bridge: id('bridge') };
  }

  /**
   * When bridge, host and none were made: when this root's networks were, as dockerd makes all
   * three at its first start on a root and keeps the time. A root from before the time was
   * recorded takes its default bridge's, the oldest it knows.
   */
  private predefinedCreated(nets: Map<string, NetworkState>): Promise<string> {
    return this.paths.created(() => [...nets.values()].find((n) => n.isDefault)?.created ?? nowRfc3339Nano(true));
  }

  private predefined(created: string): NetworkInspect[] {
    const ids = this.predefinedIds();
    return [inspectPredefined('host', ids.host, created), inspectPredefined('none', ids.none, created)];
  }

  private defaultState(created: string): NetworkState {
    return {
      id: this.predefinedIds().bridge,
      name: 'bridge',
      created,
      bridge: this.defaults.bridgeName,
      subnet: this.defaults.subnet,
      gateway: this.firstHost(parseCidr(this.defaults.subnet)),
      internal: false,
      labels: {},
      mtu: DEFAULT_MTU,
      isDefault: true,
      endpoints: {},
    };
  }

  /**
   * The default network is made the first time a container joins it or it is listed (or
   * its gateway asked for), as dockerd has docker0 from its start. Several roots can live on one host (tests, several engines); when
   * the default bridge name or subnet is already taken on the host and the caller did not
   * choose them, this root gets `ctr0-<root tag>` and a subnet from the pool instead; when
   * the caller did choose them, that is a Conflict.
   */
  private async ensureDefault(nets: Map<string, NetworkState>): Promise<NetworkState> {
    const existing = [...nets.values()].find((n) => n.isDefault);
    if (existing) return existing;
    // Its bridge name and subnet are free host-wide only until the bridge exists.
    return withHostLock('addresses', () => this.newDefaultNetwork(nets));
  }

  private async newDefaultNetwork(nets: Map<string, NetworkState>): Promise<NetworkState> {
    const net = this.defaultState(await this.predefinedCreated(nets));
    if ((await hostLinks()).some((l) => l.ifname === net.bridge)) {
      if (this.configured.bridgeName) {
        throw conflict(`The default bridge ${net.bridge} already exists on the host`, {
          hint: 'another ctr root uses it; give this root its own defaultBridge.bridgeName',
        });
      }
      net.bridge = `${net.bridge.slice(0, 5)}-${this.paths.tag}`;
    }
    const inUse = [...[...nets.values()].map((n) => parseCidr(n.subnet)), ...(await hostSubnets())];
    if (inUse.some((c) => overlaps(c, parseCidr(net.subnet)))) {
      if (this.configured.subnet) {
        throw conflict(`Default bridge subnet ${net.subnet} overlaps an address already in use on this host`, {
          hint: 'give this root its own defaultBridge.subnet',
        });
      }
      net.subnet = allocateSubnet(this.pool.cidr, this.pool.size, inUse);
      net.gateway = this.firstHost(parseCidr(net.subnet));
    }
    await this.makeBridge(net);
    // Unrecorded (a full disk), the bridge would stay on the host with nothing that knows it.
    await writeJson(this.paths.netFile(net.id), net).catch(async (error: unknown) => {
      await this.destroyBridge(net);
      throw error;
    });
    nets.set(net.id, net);
    return net;
  }

  private firstHost(cidr: Cidr): string {
    return intToIp(cidr.base + 1);
  }

  /** A swarm network, by name or ID: what spans nodes. */
  private swarmNet(nets: Map<string, NetworkState>, nameOrId: string): NetworkState {
    const net = this.findNet(nets, nameOrId);
    if (!net || net.isDefault) throw notFound(`network ${nameOrId} not found`);
    if (net.scope !== 'swarm' || isRemote(net)) throw invalidArgument(`network ${net.name} is not a swarm network`, { hint: 'only overlay networks span nodes' });
    return net;
  }

  private findNet(nets: Map<string, NetworkState>, nameOrId: string): NetworkState | undefined {
    const all = [...nets.values()];
    if (nameOrId === 'bridge') return all.find((n) => n.isDefault);
    const exact = all.find((n) => (n.name === nameOrId && !n.isDefault) || n.id === nameOrId);
    if (exact) return exact;
    const prefixed = all.filter((n) => nameOrId.length > 0 && n.id.startsWith(nameOrId));
    if (prefixed.length > 1) throw invalidArgument(`network ${nameOrId} is ambiguous (${prefixed.length} matches found based on ID prefix)`);
    return prefixed[0];
  }

  /**
   * A host container's connect to `host`: back on it after a disconnect, else dockerd's
   * duplicate connect, which changes nothing for a stopped container and meets a running one's
   * endpoint there.
   */
  private async connectHost(sandbox: SandboxState, running: boolean): Promise<NetworkSettings> {
    if (sandbox.offHost) {
      delete sandbox.offHost;
      await this.saveSandbox(sandbox);
    } else if (running) {
      throw endpointExists(sandbox.name || sandbox.containerId, 'host');
    }
    return networkSettings(sandbox, new Map(), this.predefinedIds());
  }

  /** The container's sandbox; none for a container on `none` (or one this manager does not know). */
  private async sandboxOf(containerId: string): Promise<SandboxState | undefined> {
    validContainerId(containerId);
    return readJson<SandboxState>(this.paths.sandboxFile(containerId), true);
  }

  private async findSandbox(containerId: string): Promise<SandboxState> {
    const sandbox = await this.sandboxOf(containerId);
    if (!sandbox) throw notFound(`container ${containerId} has no network`, { details: { looked: this.paths.sandboxes } });
    return sandbox;
  }

  private async chooseSubnet(nets: Map<string, NetworkState>, requested?: string, pools?: NetworkCreateOptions['addressPools']): Promise<string> {
    const inUse = [...[...nets.values()].map((n) => parseCidr(n.subnet)), ...(await hostSubnets())];
    if (requested === undefined) {
      const candidates = pools?.length ? pools.map((p) => ({ cidr: parseCidr(p.base), size: p.size })) : [this.pool];
      let exhausted: unknown;
      for (const pool of candidates) {
        try {
          return allocateSubnet(pool.cidr, pool.size, inUse);
        } catch (error) {
          exhausted = error;
        }
      }
      throw exhausted;
    }
    const cidr = parseCidr(requested);
    const clash = [...nets.values()].find((n) => overlaps(parseCidr(n.subnet), cidr));
    if (clash) throw conflict(`Pool overlaps with other one on this address space`, { hint: `network ${clash.name} uses ${clash.subnet}` });
    if (inUse.some((c) => overlaps(c, cidr))) {
      throw conflict(`Subnet ${requested} overlaps an address already configured on this host`);
    }
    return requested;
  }

  /**
   * A new network's IPv6 subnet and gateway (`--ipv6`): the subnet given, refused when it
   * overlaps another network's or the host's, else the first free /64 of the root's ULA prefix;
   * the gateway given (a host address of the subnet), else the subnet's first.
   */
  private async chooseIpv6(nets: Map<string, NetworkState>, options: NetworkCreateOptions): Promise<NetworkState['ipv6']> {
    if (!options.ipv6) {
      if (options.subnet6 !== undefined || options.gateway6 !== undefined) {
        throw invalidArgument('an IPv6 subnet or gateway was given for a network without IPv6', { hint: 'add --ipv6 to create an IPv6 network' });
      }
      return undefined;
    }
    if (options.gateway6 !== undefined && options.subnet6 === undefined) {
      throw invalidArgument(`IPv6 gateway ${options.gateway6} was given without an IPv6 subnet`, { hint: 'give the IPv6 --subnet it belongs to' });
    }
    if (options.ipRange6 !== undefined && options.subnet6 === undefined) {
      throw invalidArgument(`no matching subnet for range ${options.ipRange6}`, { hint: 'give the IPv6 --subnet it belongs to' });
    }
    const ours = [...nets.values()].flatMap((n) => (n.ipv6 ? [{ net: n, cidr: parseCidr6(n.ipv6.subnet) }] : []));
    const host = await hostSubnets6();
    if (options.subnet6 === undefined) {
      const subnet = allocateSubnet6(ulaPool(this.paths.root), [...ours.map((o) => o.cidr), ...host]);
      return { subnet, gateway: bigToIp6(parseCidr6(subnet).base + 1n), assigned: true };
    }
    const cidr = parseCidr6(options.subnet6);
    const clash = ours.find((o) => overlaps6(o.cidr, cidr));
    if (clash) throw conflict('invalid pool request: Pool overlaps with other one on this address space', { hint: `network ${clash.net.name} uses ${clash.net.ipv6?.subnet ?? ''}` });
    if (host.some((c) => overlaps6(c, cidr))) throw conflict(`Subnet ${options.subnet6} overlaps an address already configured on this host`);
    const subnet = formatCidr6(cidr);
    const ipRange = options.ipRange6 === undefined ? undefined : checkRange6(cidr, options.ipRange6);
    const range = ipRange !== undefined ? { ipRange } : {};
    if (options.gateway6 === undefined) return { subnet, gateway: bigToIp6(cidr.base + 1n), ...range };
    if (!hostAddress6(cidr, ip6ToBig(options.gateway6))) throw invalidArgument(`Gateway ${options.gateway6} is not a host address of subnet ${subnet}`);
    return { subnet, gateway: canonicalIp6(options.gateway6), ...range };
  }

  private async makeBridge(net: NetworkState): Promise<void> {
    await run('ip', ['-batch', '-'], { input: bridgeUpLines(net, tags.network(this.paths.tag, net.id)).join('\n') });
    try {
      // Lets DNAT send loopback-sourced packets (ports published on 127.0.0.1) to the bridge.
      await setSysctl(['net', 'ipv4', 'conf', net.bridge, 'route_localnet'], '1');
      await addRules(tags.network(this.paths.tag, net.id), networkRules(net));
      if (!net.internal) await setSysctl(['net', 'ipv4', 'ip_forward'], '1');
      // As moby's setupIPv6Forwarding: routing out of a ULA subnet needs the host to forward IPv6.
      if (!net.internal && net.ipv6) await setSysctl(['net', 'ipv6', 'conf', 'all', 'forwarding'], '1');
      if (net.overlay) await this.makeVxlan(net, net.overlay);
    } catch (e) {
      await this.destroyBridge(net);
      throw e;
    }
  }

  /** The network's VXLAN device on its bridge, with its flood peers. */
  private async makeVxlan(net: NetworkState, overlay: NonNullable<NetworkState['overlay']>): Promise<void> {
    await run('ip', ['-batch', '-'], { input: vxlanUpLines(net, overlay, tags.network(this.paths.tag, net.id)).join('\n') }).catch(async (error: unknown) => {
      // A batch that failed part way may have made the device: nothing half-made stays.
      await removeVxlan(overlay);
      throw new CtrError('Unavailable', `cannot make the VXLAN device ${overlay.device} (VNI ${overlay.vni}, local ${overlay.local}, port ${overlay.port}) of network ${net.name}`, {
        hint: 'no other device of this node may have the VNI on that port (ip -d link show type vxlan)',
        cause: error,
      });
    });
    await setPeers(overlay);
  }

  private async destroyBridge(net: NetworkState): Promise<void> {
    if (isRemote(net)) await this.remote.delete(net);
    else {
      await removeTagged(tags.network(this.paths.tag, net.id), net.ipv6 ? BOTH_FAMILIES : undefined);
      if (net.overlay) await removeVxlan(net.overlay);
      await runScript(`ip link del ${net.bridge} 2>/dev/null || true`);
    }
    await this.remote.releasePool(net);
  }

  private async deleteNetwork(net: NetworkState, nets: Map<string, NetworkState>): Promise<void> {
    await this.destroyBridge(net);
    await fs.rm(this.paths.netFile(net.id), { force: true });
    nets.delete(net.id);
    await this.touchGeneration();
    await this.stopDnsIfIdle(nets);
  }

  private async stopDnsIfIdle(nets: Map<string, NetworkState>): Promise<void> {
    if (![...nets.values()].some(answersDns)) await stopDnsDaemon(this.paths);
  }

  /** Allocates an endpoint on a network the sandbox is connected to (in memory; callers persist it). */
  private async join(sandbox: SandboxState, nets: Map<string, NetworkState>, config: EndpointConfig): Promise<Join> {
    // By ID, else by name as dockerd finds a container's networks (one made again under its name serves).
    const net =
      config.networkId === this.predefinedIds().bridge
        ? await this.ensureDefault(nets)
        : (nets.get(config.networkId) ?? [...nets.values()].find((n) => !n.isDefault && n.name === config.networkName));
    if (!net) throw notFound(`network ${config.networkName} not found`);
    if (net.endpoints[sandbox.containerId]) throw endpointExists(sandbox.name || sandbox.containerId, net.name);
    // dockerd asks the swarm's manager at allocation (a container's start, a running one's connect).
    if (net.scope === 'swarm' && !config.task && (!net.attachable || net.ingress)) {
      throw new CtrError('Denied', `Could not attach to network ${config.networkName}: rpc error: code = PermissionDenied desc = network ${config.networkName} not manually attachable`, {
        hint: 'only a service\'s tasks join it: create the network with --attachable for standalone containers',
      });
    }
    const used = new Set(sandbox.networkIds.map((id) => nets.get(id)?.endpoints[sandbox.containerId]?.ifName));
    let index = 0;
    while (used.has(`eth${index}`)) index++;
    const ip = net.ipam ? await this.remote.requestAddress(net, config.ip) : allocateAddress(net, config.ip, config.lastIp, config.task === true);
    const ip6 = allocateAddress6(net, config.ip6, config.lastIp6);
    const ep: EndpointState = {
      containerId: sandbox.containerId,
      containerName: sandbox.name,
      hostname: sandbox.hostname,
      endpointId: randomHex(32),
      ip,
      // A plugin's endpoint has the MAC asked for, else the one its driver gives (or its interface's own).
      mac: config.mac ?? (isRemote(net) ? '' : macFor(ip)),
      aliases: [...config.aliases],
      ...(config.links ? { links: config.links } : {}),
      staticIp: config.ip !== undefined,
      ...(ip6 !== undefined ? { ip6 } : {}),
      ...(config.ip6 !== undefined ? { staticIp6: true as const } : {}),
      ...(config.linkLocalIps ? { linkLocalIps: [...config.linkLocalIps] } : {}),
      hostVeth: `veth${randomHex(6).slice(0, 11)}`,
      ifName: `eth${index}`,
    };
    config.networkId = net.id;
    net.endpoints[sandbox.containerId] = ep;
    sandbox.networkIds.push(net.id);
    return { ep, net };
  }

  /**
   * What a connection to a network records, checked as dockerd checks it at create and
   * connect: the network exists, the default bridge takes no `--ip` or alias, an `--ip` is
   * one of the network's. Whether the address is free is known only at allocation.
   */
  private endpointConfig(nets: Map<string, NetworkState>, req: EndpointRequest): EndpointConfig {
    const net = this.findNet(nets, req.name);
    const isDefault = req.name === 'bridge' || net?.isDefault === true;
    if (!net && !isDefault) {
      if (this.isConfigOnly(req.name)) throw new CtrError('Denied', 'cannot create endpoint on configuration-only network', { hint: `${req.name} is a config-only network: create a network from it (--config-from ${req.name})` });
      throw notFound(`network ${req.name} not found`);
    }
    if (isDefault && (req.ip !== undefined || req.ip6 !== undefined)) {
      throw invalidArgument('user specified IP address is supported on user defined networks only');
    }
    if (isDefault && (req.aliases?.length ?? 0) > 0) {
      throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
    }
    if (net && !isDefault && req.ip !== undefined) checkRequestedAddress(net, req.ip, req.task === true);
    const ip6 = net && !isDefault && req.ip6 !== undefined ? checkRequestedAddress6(net, req.ip6) : undefined;
    const linkLocalIps = checkLinkLocalIps(req.linkLocalIps ?? []);
    return {
      networkId: isDefault || !net ? this.predefinedIds().bridge : net.id,
      networkName: isDefault || !net ? 'bridge' : net.name,
      aliases: [...(req.aliases ?? [])],
      ...(req.ip !== undefined ? { ip: req.ip } : {}),
      ...(ip6 !== undefined ? { ip6 } : {}),
      ...(req.mac !== undefined ? { mac: req.mac } : {}),
      ...(linkLocalIps.length > 0 ? { linkLocalIps } : {}),
      ...(req.links?.length ? { links: req.links.map(({ name, alias }) => ({ name, alias })) } : {}),
      ...(req.task ? { task: true as const } : {}),
    };
  }

  /**
   * The sandbox's connections, and its port bindings as asked. A record from before they were
   * kept apart from the endpoints (allocated at create, never released) gets them from its
   * endpoints: its addresses become its `--ip`s only where they were asked for.
   */
  private wantedOf(sandbox: SandboxState, nets: Map<string, NetworkState>): EndpointConfig[] {
    if (!sandbox.wanted) {
      sandbox.wanted = this.plan(sandbox, nets).endpoints.map(({ ep, net }) => ({
        networkId: net.id,
        networkName: net.name,
        aliases: [...ep.aliases],
        ...(ep.staticIp ? { ip: ep.ip } : {}),
        ...(ep.staticIp6 && ep.ip6 ? { ip6: ep.ip6 } : {}),
        ...(ep.mac !== macFor(ep.ip) ? { mac: ep.mac } : {}),
        ...(ep.linkLocalIps ? { linkLocalIps: [...ep.linkLocalIps] } : {}),
      }));
      const bindings = sandbox.portBindings ?? sandbox.ports.map(({ containerIp: _ip, bridge: _bridge, ...mapping }) => mapping);
      if (bindings.length > 0) sandbox.portRequests ??= bindings;
    }
    return sandbox.wanted;
  }

  private requestedPorts(options: AttachOptions, exposed: string[]): PortMapping[] {
    const mappings = (options.ports ?? []).flatMap((p) => (typeof p === 'string' ? parsePortSpec(p) : [validatePortMapping(p)]));
    if (options.publishAll) {
      for (const key of exposed) {
        const p = parseExposedPort(key);
        if (!mappings.some((m) => m.containerPort === p.port && m.protocol === p.protocol)) {
          mappings.push({ hostIp: '', hostPort: 0, containerPort: p.port, protocol: p.protocol });
        }
      }
    }
    return mappings;
  }

  /**
   * Where each binding goes on the routing endpoint. As dockerd 28 with its userland proxy: a
   * mapping with no host address is on 0.0.0.0, and on [::] too (same host port) when the host
   * listens on IPv6 (`dualStack`), whether the container has an IPv6 address or not; a binding
   * on an IPv6 host address goes to the container's IPv6 address, or through the proxy to its
   * IPv4 one.
   */
  private publish(ports: PortMapping[], target: Join, dualStack: boolean): PublishedPort[] {
    const { ip, ip6 } = target.ep;
    const bridge = target.net.bridge;
    return ports
      .flatMap((p) => hostBindings(p, dualStack))
      .map((b): PublishedPort => ({ ...b, containerIp: isIPv6Binding(b) ? (ip6 ?? ip) : ip, bridge }));
  }

  /** Installs the sandbox's published ports: their DNAT rules, and the proxy of its IPv6 bindings. */
  private async openPorts(sandbox: SandboxState): Promise<void> {
    if (sandbox.ports.length === 0) return;
    await addRules(tags.ports(this.paths.tag, sandbox.containerId), portRules(sandbox.ports));
    const proxied = sandbox.ports.filter(isIPv6Binding).map((p) => ({ hostIp: p.hostIp, hostPort: p.hostPort, protocol: p.protocol, target: p.containerIp, targetPort: p.containerPort }));
    if (proxied.length > 0) sandbox.proxyPid = await startPortProxy(this.paths, sandbox.containerId, proxied);
  }

  /** Takes the sandbox's published ports down (rules and proxy); its bindings stay. */
  private async closePorts(sandbox: SandboxState): Promise<void> {
    await stopPortProxy(this.paths, sandbox.proxyPid);
    delete sandbox.proxyPid;
    if (sandbox.ports.length > 0) await removeTagged(tags.ports(this.paths.tag, sandbox.containerId), portFamilies(sandbox.ports));
    sandbox.ports = [];
  }

  /**
   * Publishes the sandbox's port bindings on its routing endpoint (the first network that
   * is not internal), moving the DNAT rules when that endpoint changed: to the remaining
   * network after a disconnect, to the new one after a connect to a sandbox that had none.
   * Ports that were published a moment ago keep their host ports; ports published afresh
   * are allocated again (a host port taken meanwhile is a Conflict).
   */
  private async repointPorts(sandbox: SandboxState, nets: Map<string, NetworkState>): Promise<void> {
    const bindings = sandbox.portBindings ?? sandbox.ports.map(({ containerIp: _ip, bridge: _bridge, ...mapping }) => mapping);
    if (bindings.length === 0) return;
    sandbox.portBindings = bindings;
    const route = this.plan(sandbox, nets).ports;
    const dualStack = await hostListensOnIPv6();
    if (route && sandbox.ports.length > 0 && JSON.stringify(this.publish(bindings, route, dualStack)) === JSON.stringify(sandbox.ports)) return;
    const wasPublished = sandbox.ports.length > 0;
    await this.closePorts(sandbox);
    if (!route) return;
    const publish = async (): Promise<void> => {
      sandbox.portBindings = wasPublished ? bindings : await allocatePorts(bindings, { dualStack });
      sandbox.ports = this.publish(sandbox.portBindings, route, dualStack);
      await this.openPorts(sandbox);
    };
    // Ports published afresh are free host-wide only until their DNAT rules are in.
    await (wasPublished ? publish() : withHostLock('addresses', publish));
  }

  private plan(sandbox: SandboxState, nets: Map<string, NetworkState>): SandboxPlan {
    const endpoints = sandbox.networkIds.flatMap((id): Join[] => {
      const net = nets.get(id);
      const ep = net?.endpoints[sandbox.containerId];
      return net && ep ? [{ ep, net }] : [];
    });
    const route = endpoints.find((j) => !j.net.internal && gatewayOf(j) !== undefined);
    const route6 = endpoints.find((j) => !j.net.internal && j.net.ipv6 && gateway6Of(j) !== undefined);
    // A plugin's network has no gateway address of ctr's on the host: no embedded DNS, no DNAT to it.
    const dns = endpoints.find((j) => hasEmbeddedDns(j.net)) ?? endpoints.find((j) => j.ep.keptResolver);
    const ports = endpoints.find((j) => !j.net.internal && !isRemote(j.net));
    const virtualIps = endpoints.flatMap((j) => Object.values(j.net.virtualIps ?? {}));
    return {
      endpoints,
      ...(route ? { route } : {}),
      ...(route6 ? { route6 } : {}),
      ...(dns ? { dns } : {}),
      ...(ports ? { ports } : {}),
      ...(virtualIps.length > 0 ? { virtualIps } : {}),
    };
  }

  private dnsGateways(sandbox: SandboxState, nets: Map<string, NetworkState>): string[] {
    return this.plan(sandbox, nets).endpoints.filter((j) => hasEmbeddedDns(j.net) || j.ep.keptResolver).map((j) => j.net.gateway);
  }

  /** What the embedded DNS could reach for this sandbox that it cannot reach itself (see upstreamRefusal). */
  private upstreamScope(sandbox: SandboxState, nets: Map<string, NetworkState>): UpstreamScope {
    const open = new Set(this.plan(sandbox, nets).endpoints.filter((j) => !j.net.internal).map((j) => j.net.id));
    return {
      closedSubnets: [...nets.values()].filter((n) => !open.has(n.id)).map((n) => n.subnet),
      hostAddresses: Object.values(os.networkInterfaces()).flatMap((addresses) => (addresses ?? []).map((a) => a.address)),
    };
  }

  /** Judges the recorded upstreams again after the sandbox's networks (or the host's) changed; the caller saves it. */
  private rescope(sandbox: SandboxState, nets: Map<string, NetworkState>): void {
    if (sandbox.dns?.upstreams) sandbox.dns.upstreams = judgeUpstreams(sandbox.dns.upstreams, this.upstreamScope(sandbox, nets));
  }

  /** A new network's subnet is closed to every running container not on it. */
  private async rescopeAll(nets: Map<string, NetworkState>): Promise<void> {
    for (const sandbox of await readAllJson<SandboxState>(this.paths.sandboxes, true)) {
      if (!isAllocated(sandbox) || !sandbox.dns?.upstreams) continue;
      const before = JSON.stringify(sandbox.dns.upstreams);
      this.rescope(sandbox, nets);
      if (JSON.stringify(sandbox.dns.upstreams) !== before) await this.saveSandbox(sandbox);
    }
  }

  /** The script that brings a sandbox to its plan (see sandboxScript). */
  private script(sandbox: SandboxState, nets: Map<string, NetworkState>, added: Join[], fresh: boolean): string {
    return sandboxScript(this.plan(sandbox, nets), {
      netnsPath: sandbox.netnsPath ?? '',
      added,
      hostPid: process.pid,
      fresh,
      dns: !fresh || added.some((j) => !j.net.isDefault),
      aliasOf: (ep) => `ctr:${this.paths.tag}:ep:${ep.containerId}`,
    });
  }

  private async saveJoins(joins: Join[]): Promise<void> {
    for (const net of new Set(joins.map((j) => j.net))) await writeJson(this.paths.netFile(net.id), net);
  }

  /**
   * Records the sandbox as allocated first (so a crash leaves something gc can find), then
   * makes the namespace, links and rules; on failure releases all of it.
   */
  private async buildSandbox(sandbox: SandboxState, nets: Map<string, NetworkState>, joins: Join[], signal?: AbortSignal): Promise<void> {
    const netnsPath = sandbox.netnsPath ?? '';
    await this.saveJoins(joins);
    await this.saveSandbox(sandbox);
    try {
      throwIfAborted(signal, 'creating the container network');
      await fs.writeFile(netnsPath, '', { flag: 'wx' });
      if (await this.remote.join(sandbox, this.plan(sandbox, nets).endpoints, signal)) await this.saveJoins(joins);
      await runScript(this.script(sandbox, nets, joins, true), { signal });
      await this.openPorts(sandbox).catch((e: unknown) => {
        const target = this.plan(sandbox, nets).ports;
        throw target ? connectivityFailure(target.ep, e, 'start') : e;
      });
      if (sandbox.proxyPid !== undefined) await this.saveSandbox(sandbox);
      if (joins.some((j) => !j.net.isDefault)) await this.touchGeneration();
      await ensureDnsDaemon(this.paths, this.dnsGateways(sandbox, nets));
    } catch (e) {
      await this.releaseSandbox(sandbox, nets).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Brings a sandbox to allocated (see `allocate`); returns whether anything was made. The
   * endpoints are chosen in memory and written with the sandbox by buildSandbox, so a refusal
   * (an address in use) leaves the records as they were.
   */
  private async allocateSandbox(sandbox: SandboxState, nets: Map<string, NetworkState>, hostResolv: HostResolv, signal?: AbortSignal): Promise<boolean> {
    if (!sandbox.ownsNetns) {
      // The other container's namespace is joined by path: it must be there.
      if (sandbox.netnsPath && !(await mountPoints()).has(sandbox.netnsPath)) {
        throw conflict(`cannot join network of a non running container: ${sandbox.sharedWith ?? ''}`);
      }
      if (isAllocated(sandbox)) return false;
      sandbox.allocated = true;
      await this.saveSandbox(sandbox);
      return true;
    }
    if (isAllocated(sandbox)) {
      if (!sandbox.netnsPath || (await mountPoints()).has(sandbox.netnsPath)) return false;
      // Allocated when the machine lost its namespaces (a reboot): made again.
      await this.releaseSandbox(sandbox, nets);
    }
    const joins: Join[] = [];
    try {
      for (const config of this.wantedOf(sandbox, nets)) joins.push(await this.join(sandbox, nets, config));
    } catch (e) {
      await this.forgetJoins(sandbox, joins);
      throw e;
    }
    sandbox.allocated = true;
    // As docker re-reads the host's resolv.conf at each start; judged against this allocation's networks.
    if (sandbox.dns) sandbox.dns = { settings: sandbox.dns.settings, ...forwarding(hostResolv, sandbox.dns.settings, this.upstreamScope(sandbox, nets)) };
    const wanted = sandbox.portRequests ?? [];
    const target = joins.find((j) => !j.net.internal && !isRemote(j.net));
    if (target && wanted.length > 0) {
      // A host port is free host-wide only until its DNAT rules are in.
      await withHostLock(
        'addresses',
        async () => {
          const dualStack = await hostListensOnIPv6();
          sandbox.portBindings = await allocatePorts(wanted, { dualStack }).catch((e: unknown) => {
            throw connectivityFailure(target.ep, e, 'start');
          });
          sandbox.ports = this.publish(sandbox.portBindings, target, dualStack);
          await this.buildSandbox(sandbox, nets, joins, signal);
        },
        signal,
      ).catch(async (error: unknown) => {
        // Ports refused before anything was made (buildSandbox releases what it made itself).
        await this.forgetJoins(sandbox, joins);
        throw error;
      });
    } else {
      // Published once a network that can carry them is connected.
      if (wanted.length > 0) sandbox.portBindings = wanted;
      await this.buildSandbox(sandbox, nets, joins, signal);
    }
    return true;
  }

  /**
   * Endpoints chosen in memory and never made (or released already): gone from their networks
   * again, an address an IPAM plugin gave back to it.
   */
  private async forgetJoins(sandbox: SandboxState, joins: Join[]): Promise<void> {
    for (const { ep, net } of joins) {
      if (net.endpoints[sandbox.containerId] !== ep) continue;
      await this.remote.releaseAddress(net, ep.ip);
      delete net.endpoints[sandbox.containerId];
    }
    sandbox.networkIds = [];
  }

  /**
   * Takes apart what allocation made: port rules, veths, namespace, leases (each endpoint's
   * address kept as the one its connection asks for first next time). Returns whether the
   * embedded DNS's names changed. The caller writes or removes the sandbox record.
   */
  private async unmake(sandbox: SandboxState, nets: Map<string, NetworkState>): Promise<boolean> {
    const wanted = this.wantedOf(sandbox, nets);
    await this.closePorts(sandbox);
    const joins = this.plan(sandbox, nets).endpoints;
    const netnsPath = sandbox.ownsNetns ? sandbox.netnsPath : undefined;
    await this.remote.leave(joins, netnsPath);
    if (joins.length > 0 || netnsPath) await runScript(teardownScript(joins.map((j) => j.ep.hostVeth), netnsPath));
    for (const { ep, net } of joins) {
      const config = wanted.find((w) => w.networkId === net.id);
      if (config) {
        config.lastIp = ep.ip;
        if (ep.ip6) config.lastIp6 = ep.ip6;
      }
      await this.remote.releaseAddress(net, ep.ip);
      delete net.endpoints[sandbox.containerId];
      await writeJson(this.paths.netFile(net.id), net);
    }
    sandbox.networkIds = [];
    delete sandbox.portBindings;
    sandbox.allocated = false;
    return joins.some((j) => !j.net.isDefault || j.ep.keptResolver);
  }

  /** Releases a sandbox (see `release`), keeping its record. */
  private async releaseSandbox(sandbox: SandboxState, nets: Map<string, NetworkState>): Promise<void> {
    const named = await this.unmake(sandbox, nets);
    await this.saveSandbox(sandbox);
    if (named) await this.touchGeneration();
  }

  /** Removes a sandbox: what allocation made, and the record. */
  private async teardown(sandbox: SandboxState, nets: Map<string, NetworkState>): Promise<void> {
    const named = await this.unmake(sandbox, nets);
    await fs.rm(this.paths.sandboxFile(sandbox.containerId), { force: true });
    if (named) await this.touchGeneration();
  }

  /**
   * Sandbox records carry what outlives the container's runs (its connections), so they are
   * written durably: a record lost to a power cut would leave the container without them.
   */
  private async saveSandbox(sandbox: SandboxState): Promise<void> {
    await writeJson(this.paths.sandboxFile(sandbox.containerId), sandbox);
  }

  /**
   * Disconnects a sandbox from networks, re-pointing its route, DNS and ports. `keepResolver`
   * (a disconnect, not an undone connect): a container whose embedded DNS loses its last
   * network keeps it on the default bridge, as libnetwork's sandbox keeps its resolver.
   */
  private async dropEndpoints(sandbox: SandboxState, nets: Map<string, NetworkState>, netIds: string[], options: { keepResolver?: boolean } = {}): Promise<void> {
    const before = this.plan(sandbox, nets);
    const dropping = before.endpoints.filter((j) => netIds.includes(j.net.id));
    await this.remote.leave(dropping, sandbox.netnsPath);
    await runScript(teardownScript(dropping.map((j) => j.ep.hostVeth)));
    for (const { ep, net } of dropping) {
      await this.remote.releaseAddress(net, ep.ip);
      delete net.endpoints[sandbox.containerId];
      await writeJson(this.paths.netFile(net.id), net);
    }
    sandbox.networkIds = sandbox.networkIds.filter((id) => !netIds.includes(id));
    const after = this.plan(sandbox, nets);
    const keeper = options.keepResolver && before.dns && !after.dns ? after.endpoints.find((j) => j.net.isDefault) : undefined;
    if (keeper) {
      keeper.ep.keptResolver = true;
      await writeJson(this.paths.netFile(keeper.net.id), keeper.net);
    }
    this.rescope(sandbox, nets);
    await this.repointPorts(sandbox, nets);
    await this.saveSandbox(sandbox);
    await this.touchGeneration();
    if (sandbox.netnsPath && (await mountPoints()).has(sandbox.netnsPath)) {
      await runScript(this.script(sandbox, nets, [], false));
    }
    // The server answers on a gateway it did not before.
    if (keeper) await ensureDnsDaemon(this.paths, [keeper.net.gateway], true);
  }

  /**
   * What configure, attach and allocate return. A container sharing another's namespace gets
   * that one's hostname and resolv.conf, as with Docker. resolv.conf names the
   * embedded DNS when a user network is connected, allocated or not (it is written at create
   * and at each start).
   */
  private async result(sandbox: SandboxState, nets: Map<string, NetworkState>, hostResolv: HostResolv): Promise<AttachResult> {
    const owner = sandbox.sharedWith ? await readJson<SandboxState>(this.paths.sandboxFile(sandbox.sharedWith), true) : undefined;
    const source = owner ?? sandbox;
    const embedded = this.wantedOf(source, nets).some((w) => w.networkId !== this.predefinedIds().bridge && nets.get(w.networkId)?.driver === undefined);
    const kind = source.mode === 'host' ? 'host' : embedded ? 'embedded' : 'copy';
    return {
      ...(sandbox.netnsPath ? { netnsPath: sandbox.netnsPath } : {}),
      ...(sandbox.sharedWith ? { sharedWith: sandbox.sharedWith } : {}),
      ...(sandbox.joinsProcess ? { joinsProcessOf: sandbox.sharedWith } : {}),
      resolvConf: resolvConf(kind, hostResolv, source.dns?.settings ?? {}),
      hostname: source.hostname,
      settings: networkSettings(sandbox, nets, this.predefinedIds()),
    };
  }

  /** The host's resolver configuration, read once per attach: its resolv.conf and the servers the embedded DNS forwards to agree. */
  private async hostResolv(): Promise<HostResolv> {
    return parseResolvConf(await fs.readFile(this.hostResolvConf, 'utf8').catch(() => ''), this.hostResolvConf);
  }

  /** An attach's or configure's options, checked and parsed before the lock is taken. */
  private async attachRequest(containerId: string, options: AttachOptions): Promise<AttachRequest> {
    validContainerId(containerId);
    const mode = parseMode(options.mode);
    if (options.name !== undefined) validDnsName(options.name.replace(/^\//, ''), 'container name');
    if (options.hostname !== undefined) validDnsName(options.hostname, 'hostname');
    for (const n of options.networks ?? []) for (const a of n.aliases ?? []) validDnsName(a, 'network alias');
    const exposedPorts = (options.exposedPorts ?? []).map((k) => {
      const p = parseExposedPort(k);
      return `${p.port}/${p.protocol}`;
    });
    const dns = validDnsSettings(options.dns ?? {});
    return {
      containerId,
      mode,
      name: options.name?.replace(/^\//, '') ?? '',
      ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
      networks: (options.networks ?? []).map((n) => (n.mac === undefined ? n : { ...n, mac: parseMac(n.mac) })),
      exposedPorts,
      ports: this.requestedPorts(options, exposedPorts),
      dns,
      hostResolv: await this.hostResolv(),
    };
  }

  /** A new container's sandbox record: its mode, connections, ports and DNS settings; nothing allocated. Written unless `save` is false. */
  private async record(request: AttachRequest, nets: Map<string, NetworkState>, save = true): Promise<SandboxState> {
    const { containerId, mode } = request;
    if (await readJson<SandboxState>(this.paths.sandboxFile(containerId), true)) {
      throw conflict(`container ${containerId} already has a network`, { hint: 'detach it first' });
    }
    const base: SandboxState = {
      containerId,
      name: request.name,
      hostname: request.hostname ?? containerId.slice(0, 12),
      mode: mode.kind === 'user' ? 'bridge' : mode.kind,
      ownsNetns: false,
      allocated: false,
      networkIds: [],
      ports: [],
      exposedPorts: [],
      // Where its queries are forwarded is decided at each allocation.
      dns: { settings: request.dns },
    };
    let sandbox: SandboxState;
    if (mode.kind === 'host') sandbox = { ...base, hostname: request.hostname ?? os.hostname() };
    else if (mode.kind === 'container') {
      // One without a sandbox here is on `none`: its namespace is the runtime's, joined through
      // its process, as dockerd joins every other container's (and so is one sharing such).
      const owner = await this.sandboxOf(mode.containerId);
      sandbox =
        owner && !owner.joinsProcess
          ? { ...base, sharedWith: owner.containerId, hostname: owner.hostname, ...(owner.netnsPath ? { netnsPath: owner.netnsPath } : {}) }
          : { ...base, sharedWith: mode.containerId, ...(owner ? { hostname: owner.hostname } : {}), joinsProcess: true };
    } else {
      const wanted: EndpointConfig[] = [];
      sandbox = { ...base, netnsPath: this.paths.netnsPath(containerId), ownsNetns: true, wanted };
      if (mode.kind !== 'none') {
        const requests = request.networks.length > 0 ? request.networks : [{ name: mode.kind === 'user' ? mode.name : 'bridge' }];
        for (const req of requests) {
          const config = this.endpointConfig(nets, req);
          if (wanted.some((w) => w.networkId === config.networkId)) {
            throw endpointExists(request.name || containerId, config.networkName);
          }
          wanted.push(config);
        }
        sandbox.exposedPorts = request.exposedPorts;
        if (request.ports.length > 0) sandbox.portRequests = request.ports;
      }
    }
    if (save) await this.saveSandbox(sandbox);
    return sandbox;
  }
}

/**
 * Whether the embedded DNS serves a network's containers (libnetwork's Endpoint.needResolver):
 * a user network of ctr's own. The default bridge has none, as docker's; a plugin's network has
 * no gateway address of ctr's on the host for it to answer at.
 */
function hasEmbeddedDns(net: NetworkState): boolean {
  return !net.isDefault && !isRemote(net);
}

/** Whether the embedded DNS answers at a network's gateway: one it serves, or the default bridge of a kept resolver (EndpointState.keptResolver). */
function answersDns(net: NetworkState): boolean {
  return hasEmbeddedDns(net) || Object.values(net.endpoints).some((ep) => ep.keptResolver);
}

/** What attachRequest makes of AttachOptions. */
interface AttachRequest {
  containerId: string;
  mode: ReturnType<typeof parseMode>;
  name: string;
  hostname?: string;
  networks: EndpointRequest[];
  exposedPorts: string[];
  ports: PortMapping[];
  dns: DnsSettings;
  hostResolv: HostResolv;
}

/**
 * Whether a container runs, as far as its sandbox tells when the caller does not say: an
 * allocated sandbox is a started container's (a host container's never is: the engine says).
 */
function runsBySandbox(sandbox: SandboxState | undefined): boolean {
  return sandbox !== undefined && isAllocated(sandbox);
}
