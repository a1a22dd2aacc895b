/**
 * The public shapes of @ctr/network. Field names of inspect output follow Docker's
 * (`docker network inspect`, `docker inspect … .NetworkSettings`) so the API server can
 * return them as they are.
 */

import type { IpamDriverLookup, NetworkDriverLookup } from './driver';

export type Protocol = 'tcp' | 'udp';

/** One published port: `-p 127.0.0.1:8080:80/tcp`. hostPort 0 means "any free port". */
export interface PortMapping {
  /**
   * The host address as given; '' when none was (`-p 8080:80`): published on 0.0.0.0 and [::]
   * (hostBindings). Records from before hold '0.0.0.0' for none: IPv4 only, as they were then.
   */
  hostIp: string;
  hostPort: number;
  /**
   * The last port of a host range asked for (`-p 9200-9210:80`: hostPort 9200, hostPortEnd
   * 9210), of which the first free one is chosen at each allocation. Only in requests: the
   * mapping allocated has the chosen hostPort and no hostPortEnd.
   */
  hostPortEnd?: number;
  containerPort: number;
  protocol: Protocol;
}

/** How a container's network is made: Docker's `--network` value, split. */
export type NetworkMode =
  | { kind: 'none' }
  | { kind: 'host' }
  | { kind: 'container'; containerId: string }
  | { kind: 'bridge' };

export interface NetworkCreateOptions {
  name: string;
  /** `bridge` (default) or a network plugin's name (`NetworkManagerOptions.drivers`); Docker's other built-in ones are Unsupported. */
  driver?: string;
  /** CIDR, e.g. `10.213.4.0/24`; chosen from the address pool when absent. */
  subnet?: string;
  /** Defaults to the first address of the subnet. */
  gateway?: string;
  /** Containers get addresses from this CIDR only (inside the subnet). */
  ipRange?: string;
  /** `--ipv6`: containers get an IPv6 address too, from `subnet6` (or a /64 of the root's ULA prefix). */
  ipv6?: boolean;
  /** The IPv6 subnet (`--subnet fd…::/64` with `--ipv6`). */
  subnet6?: string;
  /** Defaults to the first address after the IPv6 subnet's. */
  gateway6?: string;
  /** The IPv6 `--ip-range`: containers get IPv6 addresses from this CIDR only (inside `subnet6`). */
  ipRange6?: string;
  /** No route out: no masquerade, traffic leaving the bridge is dropped. */
  internal?: boolean;
  labels?: Record<string, string>;
  /** Linux bridge name; `ctr-<id>` when absent. */
  bridgeName?: string;
  mtu?: number;
  /**
   * Docker's driver options (`docker network create -o`), as inspect shows them again:
   * `com.docker.network.bridge.name` and `com.docker.network.driver.mtu` (the two above,
   * which win when both are given); any other is refused rather than silently ignored.
   */
  options?: Record<string, string>;
  /** `--aux-address name=ip`: addresses of either subnet the IPAM never gives a container. */
  auxAddresses?: Record<string, string>;
  /** `--ipam-driver`: `default`, or an IPAM plugin's name (looked up through `NetworkManagerOptions.ipamDrivers`). */
  ipamDriver?: string;
  /** `--ipam-opt`: kept and shown (the default IPAM driver reads none of them; an IPAM plugin's RequestPool gets them). */
  ipamOptions?: Record<string, string>;
  /** `--attachable`: kept and shown; every ctr network takes containers by `network connect`. */
  attachable?: boolean;
  /** `--scope`: `local`, the only scope without a swarm. */
  scope?: string;
  /** `--ipv4=false`: an IPv6-only network, which ctr's bridge driver does not make. */
  ipv4?: boolean;
  /** `--ingress`: swarm's routing mesh, refused as dockerd refuses it outside a swarm. */
  ingress?: boolean;
  /**
   * Set by @ctr/swarm alone, on a node in a swarm: the network is swarm-scoped (driver
   * `overlay`, Scope `swarm`, bridge-backed on this one node), and `--ingress` is accepted.
   */
  swarm?: boolean;
  /** Where the subnet comes from when none is given, in turn (the swarm's DefaultAddrPool); the manager's pool otherwise. */
  addressPools?: Array<{ base: string; size: number }>;
  /**
   * The network's ID, for a network that exists elsewhere under it (a swarm worker makes the
   * manager's network) or whose ID another component gives (swarmkit's, of a swarm network):
   * 64 hex digits, or a swarm network's 25 base-36 digits too; refused when a network has it
   * already. Default: a new one of 64 hex digits.
   */
  id?: string;
  /** A swarm overlay network spanning nodes: its VXLAN device is made with the bridge (see `setOverlay`). Swarm networks only. */
  overlay?: OverlayOptions;
  /** `--config-only`: a configuration other networks are made from (`configFrom`); no bridge, no containers. */
  configOnly?: boolean;
  /** `--config-from`: the config-only network (name or ID) whose IPAM and driver options this one takes. */
  configFrom?: string;
  signal?: AbortSignal;
}

/** A swarm network's VXLAN settings on this node. */
export interface OverlayOptions {
  /** The VXLAN network identifier (swarm's from 4097). */
  vni: number;
  /** The UDP port (the swarm's DataPathPort); default 4789. */
  port?: number;
  /** This node's data-path address, the tunnel's source (an address of this network namespace). */
  local: string;
  /** The other nodes' data-path addresses: where frames for unknown MACs (and broadcasts) go. */
  peers: string[];
}

/** An address of the network on another node (a task there, its gateway), and the names the embedded DNS answers with it. */
export interface RemoteEndpoint {
  /** The caller's key for it (a task's ID): what a later `setRemoteEndpoints` keeps, changes or drops. */
  id: string;
  ip: string;
  /** Names and aliases (`web`, `tasks.web`); none for an address that only must not be handed out here. */
  names: string[];
}

/**
 * A swarm service's virtual IP on the network: the address its names resolve to, which every
 * container on the network reaches the service's running tasks (`backends`) through.
 */
export interface VirtualIp {
  /** The caller's key for it (a service's ID): what a later `setVirtualIps` keeps, changes or drops. */
  id: string;
  ip: string;
  /** The names the embedded DNS answers with it, before any endpoint's (`web` and its aliases); none on ingress. */
  names: string[];
  /** The addresses a connection to it is spread over (none: it is refused). */
  backends: string[];
}

/** Which networks to join, as `--network NAME --network-alias A --ip X`. */
export interface EndpointRequest {
  /** Network name or ID; `bridge` is the default network. */
  name: string;
  aliases?: string[];
  /** A static IPv4 address (`--ip`); refused unless free and inside the network's range. */
  ip?: string;
  /** A static IPv6 address (`--ip6`); refused unless the network has IPv6 and the address is free and in its subnet. */
  ip6?: string;
  /** The interface's MAC address (`--mac-address`); derived from the address when absent. */
  mac?: string;
  /** `--link-local-ip`: more addresses of the interface, each of 169.254.0.0/16 or fe80::/10. */
  linkLocalIps?: string[];
  /**
   * Docker's endpoint links (`EndpointConfig.Links`, `name:alias`): the alias names the
   * container `name` on this network for this endpoint's queries alone.
   */
  links?: EndpointLink[];
  /** A swarm task's endpoint: it may join a swarm-scoped network that is not attachable (the ingress one too). */
  task?: boolean;
}

/** One endpoint link: the linked container (its name, an alias or its ID on the network) and the alias it gets. */
export interface EndpointLink {
  name: string;
  alias: string;
}

/**
 * A container's `--dns`, `--dns-search` and `--dns-option`; each replaces the host's when
 * given. On a user network the servers are where the embedded DNS forwards the names it does
 * not know (the container's resolv.conf names only 127.0.0.11); without them it forwards to
 * the host's.
 */
export interface DnsSettings {
  servers?: string[];
  search?: string[];
  options?: string[];
}

export interface AttachOptions {
  /** `none`, `host`, `container:<id>`, `bridge`, or a user network name (defaults to `bridge`). */
  mode?: string | NetworkMode;
  /** Container name, resolvable on user-defined networks. */
  name?: string;
  hostname?: string;
  /** Networks to join when mode is bridge/user; the first is where ports are published. */
  networks?: EndpointRequest[];
  /** `-p` values, as strings Docker accepts or parsed mappings. */
  ports?: Array<string | PortMapping>;
  /** Image `ExposedPorts` keys (`80/tcp`), published to free ports by `publishAll`. */
  exposedPorts?: string[];
  /** `-P` */
  publishAll?: boolean;
  dns?: DnsSettings;
  signal?: AbortSignal;
}

/** `connect`'s options. */
export interface ConnectOptions {
  signal?: AbortSignal;
  /**
   * Whether the container runs (dockerd's State.Running), which a host container's sandbox
   * cannot tell (no start allocates it); by default, whether the sandbox is allocated.
   */
  running?: boolean;
  /**
   * Called, under the manager's lock, with the embedded DNS's resolv.conf when the endpoint
   * made now (the container runs) is on a network the embedded DNS serves: dockerd rewrites
   * the running container's file then, as libnetwork's resolver starts. The manager does not
   * know where the file is; the caller writes it (or leaves one the user changed).
   */
  onResolver?: (resolvConf: string) => Promise<void>;
}

/** `NetworkSettings.Networks[name]` */
export interface EndpointSettings {
  /** The addresses asked for (`--ip`, `--ip6`, `--link-local-ip`); null when none was. */
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  /** Its links as `name:alias`; null without any, as dockerd shows them. */
  Links: string[] | null;
  Aliases: string[];
  /**
   * The names the embedded DNS answers with its address on a user network, as dockerd's
   * (API 1.44): its name, aliases, short ID and hostname; null on the default bridge, which
   * has no name resolution.
   */
  DNSNames: string[] | null;
  MacAddress: string;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
}

/** `NetworkSettings.Ports`: `{"80/tcp": [{HostIp, HostPort}]}`, null for exposed-only. */
export type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

/** `docker inspect`'s NetworkSettings, as far as networking goes. */
export interface NetworkSettings {
  SandboxKey: string;
  Ports: PortMap;
  /** Top-level fields Docker fills from the default `bridge` network. */
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  MacAddress: string;
  Networks: Record<string, EndpointSettings>;
}

export interface AttachResult {
  /** The network namespace for the runtime to join; absent in host mode. */
  netnsPath?: string;
  /** Content for the container's /etc/resolv.conf. */
  resolvConf: string;
  /** Content for the container's /etc/hostname. */
  hostname: string;
  /** The container whose namespace this one joins (`container:<id>`): its hostname and resolv.conf are these. */
  sharedWith?: string;
  /**
   * Set instead of `netnsPath` when that namespace is not this manager's (the other container
   * is on `none`): the container whose process the runtime joins at each start.
   */
  joinsProcessOf?: string;
  settings: NetworkSettings;
}

/** What `allocate` returns: what attach does, and whether anything was made now (false: it was allocated already). */
export interface AllocateResult extends AttachResult {
  made: boolean;
}

/** `docker network inspect` output. */
export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  /** `swarm` for a swarm's networks (overlay), `local` for every other. */
  Scope: 'local' | 'swarm';
  /** `null` for host's none and for config-only networks, as dockerd's; a network plugin's name for its networks. */
  Driver: string;
  /** Whether it gives IPv4 addresses (API 1.47): every network of ctr's does, as dockerd's do by default. */
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: {
    /** `default`, or an IPAM plugin's name. */
    Driver: string;
    Options: Record<string, string>;
    Config: Array<{ Subnet: string; Gateway: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> }>;
  };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  /** The config-only network this one was made from (`--config-from`); empty when none. */
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface ListNetworksOptions {
  /** `--filter label=k[=v]` style, all must match. */
  labels?: Record<string, string | undefined>;
  /** Substring of the name, like `--filter name=`. */
  name?: string;
}

export interface PruneOptions {
  labels?: Record<string, string | undefined>;
  /** Only the networks this accepts, given as `inspectNetwork` shows them (the engine's filters). */
  accept?: (network: NetworkInspect) => boolean;
}

export interface GcReport {
  /** Everything removed, described, e.g. `netns /run/ctr/netns/abc`, `link veth1a2b`. */
  removed: string[];
}

export interface NetworkManagerOptions {
  /** State root; records live under `<root>/networks/`. */
  root: string;
  /** Run directory; namespaces are bind-mounted under `<runRoot>/netns/`. */
  runRoot: string;
  /** The default network (Docker's docker0): bridge `ctr0`, subnet 10.210.0.0/16. */
  defaultBridge?: { bridgeName?: string; subnet?: string };
  /** Where subnets of user networks come from when none is given: /24s of 10.211.0.0/16. */
  addressPool?: { base: string; size: number };
  /** Prefix of generated bridge names (`ctr` → `ctr-<11 hex>`); at most 4 characters. */
  bridgePrefix?: string;
  /**
   * The host's resolver configuration (default `$CTR_RESOLV_CONF` or `/etc/resolv.conf`): containers' resolv.conf
   * is made from it, and the embedded DNS forwards to its servers for containers without `--dns`.
   */
  hostResolvConf?: string;
  /**
   * Where drivers that are not built in come from (`docker network create -d PLUGIN`): looked up
   * when such a network is created or used, never otherwise. Without it, such a driver is not found.
   */
  drivers?: NetworkDriverLookup;
  /** Where IPAM drivers other than `default` come from (`--ipam-driver PLUGIN`), as `drivers`. */
  ipamDrivers?: IpamDriverLookup;
}
