import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DriverJoin } from './driver';
import type { Forwarding } from './resolv';
import type { DnsSettings, EndpointLink, NetworkCreateOptions, PortMapping } from './types';

/** One container's place on one network: its IPAM lease and its veth. */
export interface EndpointState {
  containerId: string;
  containerName: string;
  /** The container's hostname, a name the embedded DNS answers too (absent in records from before it was kept). */
  hostname?: string;
  endpointId: string;
  ip: string;
  mac: string;
  aliases: string[];
  /** Its links (`EndpointConfig.Links`): names the embedded DNS answers for this endpoint's queries only. */
  links?: EndpointLink[];
  /** Whether the address was asked for (`--ip`), shown as IPAMConfig. */
  staticIp: boolean;
  /** Its IPv6 address, on a network with IPv6. */
  ip6?: string;
  /** Whether the IPv6 address was asked for (`--ip6`), shown as IPAMConfig. */
  staticIp6?: true;
  /** `--link-local-ip`: addresses its interface holds besides its lease(s). */
  linkLocalIps?: string[];
  /** Host end of the veth pair; deleting it deletes both ends. */
  hostVeth: string;
  /** Interface name inside the container (eth0, eth1…). */
  ifName: string;
  /** On a plugin's network, once its driver joined it: the interface it made, gateways, routes (its `hostVeth` is never made). */
  remote?: DriverJoin;
  /**
   * On the default bridge: the container's embedded DNS outlived its last user network (libnetwork
   * keeps a sandbox's resolver to the sandbox's end), so its 127.0.0.11 goes to the server at this
   * network's gateway, which forwards its queries (the default bridge has no names). Goes with the endpoint.
   */
  keptResolver?: true;
}

/** A bridge network and its allocations; the file is the IPAM state. */
export interface NetworkState {
  id: string;
  name: string;
  created: string;
  bridge: string;
  subnet: string;
  gateway: string;
  ipRange?: string;
  /** Its subnet was taken from the pool, not given: dockerd lets no container ask for an address on it (absent when given, and in older records). */
  assignedSubnet?: true;
  internal: boolean;
  /** Its IPv6 subnet, gateway and `--ip-range` (`--ipv6`); `assigned` when taken from the root's ULA pool. Absent without IPv6. */
  ipv6?: { subnet: string; gateway: string; ipRange?: string; assigned?: true };
  labels: Record<string, string>;
  mtu: number;
  /** The driver options it was created with (absent in records from before they were kept). */
  options?: Record<string, string>;
  /** `--aux-address`: reserved addresses of either family, never given to a container. */
  auxAddresses?: Record<string, string>;
  /** `--ipam-opt`, as given. */
  ipamOptions?: Record<string, string>;
  attachable?: true;
  /** A swarm's network (@ctr/swarm): shown with driver overlay and scope swarm; a container not a task joins it only when attachable. */
  scope?: 'swarm';
  /** The swarm's routing-mesh network (`ingress`): only tasks join it. */
  ingress?: true;
  /** The name of the config-only network it was made from (`--config-from`). */
  configFrom?: string;
  /** The default `bridge` network: no name resolution, cannot be removed by name. */
  isDefault: boolean;
  endpoints: Record<string, EndpointState>;
  /** A network driver plugin's network (driver.ts): the driver's name; no bridge (`bridge` empty), rules or embedded DNS of ctr's. */
  driver?: string;
  /**
   * `--ipam-driver PLUGIN` (driver.ts' IpamDriver): its name and the pool it gave; the subnet,
   * the gateway and each endpoint's address are the plugin's, not the local IPAM's.
   */
  ipam?: { driver: string; poolId: string };
  /** A swarm overlay network spanning nodes (overlay.ts): its VXLAN device on the bridge, and the other nodes it floods to. */
  overlay?: OverlayState;
  /**
   * Addresses on the network that live on other nodes, by a key of the caller's (a task's ID, a
   * node's gateway): never handed out here, and the embedded DNS answers their names as it does
   * a local endpoint's.
   */
  remoteEndpoints?: Record<string, RemoteEndpointState>;
  /**
   * The swarm services' virtual IPs on the network, by a key of the caller's (a service's ID):
   * never handed out here, answered by the embedded DNS for their names, and turned into each
   * backend by every sandbox on the network (sandbox-script.ts).
   */
  virtualIps?: Record<string, VirtualIpState>;
}

/** A network's VXLAN device and its flood peers (the other nodes' data-path addresses, sorted). */
export interface OverlayState {
  vni: number;
  port: number;
  /** This node's data-path address: the tunnel's source. */
  local: string;
  peers: string[];
  device: string;
}

/** An address of another node's on the network, and the names the embedded DNS answers with it (none for a node's gateway). */
export interface RemoteEndpointState {
  ip: string;
  names: string[];
}

/** A service's virtual IP on the network, its names and the addresses connections to it go to (sorted). */
export interface VirtualIpState {
  ip: string;
  names: string[];
  backends: string[];
}

export interface PublishedPort extends PortMapping {
  containerIp: string;
  bridge: string;
}

type SandboxMode = 'none' | 'host' | 'container' | 'bridge';

/**
 * One network a container is connected to, as asked (`--network`, `network connect`): what
 * outlives its runs. The endpoint (address, veth) exists only while the sandbox is allocated.
 */
export interface EndpointConfig {
  networkId: string;
  /** Its name when connected: what settings and messages name while the network is gone. */
  networkName: string;
  aliases: string[];
  /** `--ip`: the address every allocation asks for. */
  ip?: string;
  /** `--ip6`: the IPv6 address every allocation asks for. */
  ip6?: string;
  /** `--mac-address`. */
  mac?: string;
  /** `--link-local-ip`, canonical. */
  linkLocalIps?: string[];
  /** `EndpointConfig.Links`, given to each allocation's endpoint. */
  links?: EndpointLink[];
  /** A swarm task's connection: it may join a swarm network that is not attachable. */
  task?: true;
  /**
   * The address of the last allocation, asked for first at the next one: a restarted
   * container keeps its address while no one took it meanwhile (its links and hosts entries stay right).
   */
  lastIp?: string;
  /** The IPv6 address of the last allocation, asked for first at the next one, as lastIp. */
  lastIp6?: string;
}

/**
 * A container's network sandbox: what it is connected to (from its create to its removal)
 * and, while allocated (from its start to its stop), its namespace, endpoints and ports.
 */
export interface SandboxState {
  containerId: string;
  name: string;
  hostname: string;
  mode: SandboxMode;
  netnsPath?: string;
  /** False when sharing another container's namespace (container:<id>) or the host's. */
  ownsNetns: boolean;
  /**
   * A host container disconnected from `host` while stopped, as dockerd lets it: it still runs
   * in the host's namespace, but is on no network until connected to `host` again.
   */
  offHost?: true;
  sharedWith?: string;
  /**
   * Shares a namespace this manager did not make: that of `sharedWith`, a container on `none`
   * (one without a sandbox here) or one sharing such. The runtime joins it through that
   * container's process at each start.
   */
  joinsProcess?: true;
  /**
   * The networks it is connected to, in order. Absent in records from before allocation
   * followed the container's runs: those were allocated at create, and `networkIds` with
   * their endpoints say the same.
   */
  wanted?: EndpointConfig[];
  /** Whether its namespace, endpoints and published ports exist. Absent in records from before: they did. */
  allocated?: boolean;
  /** The networks it has endpoints on now (join order); empty while not allocated. */
  networkIds: string[];
  /** Ports published now: DNAT to the routing endpoint. Empty while no network can carry them. */
  ports: PublishedPort[];
  /**
   * This allocation's port bindings (`-p`, host ports chosen), kept while it lasts so that a
   * disconnect and reconnect of a running container publishes them again on the same host
   * ports. Absent in records written before it existed: `ports` holds them then.
   */
  portBindings?: PortMapping[];
  /**
   * The port bindings as asked (`-p`, `-P`; host port 0: any free one), published afresh at
   * each allocation. Absent in records from before: `portBindings` are the ones asked for.
   */
  portRequests?: PortMapping[];
  /** The pid of the port proxy serving its IPv6 host bindings (port-proxy.ts), while it runs. */
  proxyPid?: number;
  exposedPorts: string[];
  /**
   * The container's DNS settings as given, and what the embedded DNS server (which reads
   * this record) does with the names it does not know: the forwarding part is made at each
   * allocation, from the host's resolv.conf of that moment and the networks the container
   * is on. Absent in records from before it existed: nothing is forwarded for those.
   */
  dns?: { settings: DnsSettings } & Partial<Forwarding>;
}

/**
 * A config-only network (`docker network create --config-only`): the create options other
 * networks take with `--config-from`, and nothing made.
 */
export interface ConfigNetworkState
  extends Pick<NetworkCreateOptions, 'subnet' | 'gateway' | 'ipRange' | 'ipv6' | 'subnet6' | 'gateway6' | 'ipRange6' | 'auxAddresses' | 'ipamOptions'> {
  id: string;
  name: string;
  created: string;
  options: Record<string, string>;
  labels: Record<string, string>;
}

/** Whether a sandbox's namespace, endpoints and ports exist (records from before the flag: they do). */
export function isAllocated(sandbox: SandboxState): boolean {
  return sandbox.allocated ?? true;
}

/** Where everything lives for one root. */
export class StatePaths {
  readonly dir: string;
  readonly nets: string;
  readonly sandboxes: string;
  /** Config-only networks (`--config-only`): apart from `nets`, which the DNS server serves and gc makes bridges for. */
  readonly configs: string;
  readonly lock: string;
  /** Touched on every change so the DNS server knows to reload. */
  readonly generation: string;
  readonly netnsDir: string;
  readonly runDir: string;
  /** Short tag naming this root in iptables comments and link aliases, so gc is exact. */
  readonly root: string;
  readonly runRoot: string;
  private registered = false;
  private rootTag: string | undefined;
  private createdAt: Promise<string> | undefined;

  constructor(rootDir: string, runRootDir: string) {
    const root = path.resolve(rootDir);
    const runRoot = path.resolve(runRootDir);
    this.dir = path.join(root, 'networks');
    this.nets = path.join(this.dir, 'nets');
    this.sandboxes = path.join(this.dir, 'sandboxes');
    this.configs = path.join(this.dir, 'configs');
    this.lock = path.join(this.dir, '.lock');
    this.generation = path.join(this.dir, 'generation');
    this.netnsDir = path.join(runRoot, 'netns');
    this.runDir = path.join(runRoot, 'network');
    this.root = root;
    this.runRoot = runRoot;
  }

  /** Names this root's rules and links; worked out when first wanted (a `none` container never asks, and hashing loads node:crypto). */
  get tag(): string {
    this.rootTag ??= createHash('sha256').update(this.root).digest('hex').slice(0, 8);
    return this.rootTag;
  }

  /**
   * When this root's networks came to be: what the predefined networks show as Created, as
   * dockerd's network store keeps the time it made them. Recorded by the first process that
   * asks (`seed`'s time), in `<root>/networks/created`; written aside and linked into place, as
   * link never replaces, so of two processes asking at once both read the one that won.
   */
  created(seed: () => string): Promise<string> {
    // A failure (a full disk) is not remembered: the next listing tries again.
    this.createdAt ??= recordOnce(path.join(this.dir, 'created'), seed).catch((error: unknown) => {
      this.createdAt = undefined;
      throw error;
    });
    return this.createdAt;
  }

  netFile(id: string): string {
    return path.join(this.nets, `${id}.json`);
  }

  configFile(id: string): string {
    return path.join(this.configs, `${id}.json`);
  }

  sandboxFile(containerId: string): string {
    return path.join(this.sandboxes, `${containerId}.json`);
  }

  netnsPath(containerId: string): string {
    return path.join(this.netnsDir, containerId);
  }

  async ensure(): Promise<void> {
    await Promise.all([this.nets, this.sandboxes, this.netnsDir, this.runDir].map((d) => fs.mkdir(d, { recursive: true })));
    if (this.registered) return;
    await fs.mkdir(ROOT_REGISTRY, { recursive: true });
    const entry: RootEntry = { tag: this.tag, root: this.root, runRoot: this.runRoot };
    await writeJson(path.join(ROOT_REGISTRY, `${this.tag}.json`), entry, false);
    this.registered = true;
  }

  /** Leaves the registry: called when this root has nothing left on the host. */
  async unregister(): Promise<void> {
    await fs.rm(path.join(ROOT_REGISTRY, `${this.tag}.json`), { force: true });
    this.registered = false;
  }
}

async function recordOnce(file: string, value: () => string): Promise<string> {
  const kept = await fs.readFile(file, 'utf8').catch(ignoreMissing);
  if (kept) return kept;
  const aside = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFileDurably(aside, value());
  try {
    await fs.link(aside, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await fs.rm(aside, { force: true });
  }
  return fs.readFile(file, 'utf8');
}

function ignoreMissing(e: NodeJS.ErrnoException): undefined {
  if (e.code === 'ENOENT') return undefined;
  throw e;
}

/**
 * Every root that made something on this host, so the gc of any root can clean up after
 * one whose directory was deleted without its own gc (its links and rules are tagged
 * with its tag, which nothing else would ever remove).
 */
export interface RootEntry {
  tag: string;
  root: string;
  runRoot: string;
}

/**
 * What every ctr root on the host shares (the root registry, the host-wide locks). Not in
 * the temporary directory: every process must find it, whatever its TMPDIR. Under /run, as
 * what it describes (links, rules, namespaces) dies with the machine.
 */
export const HOST_DIR = '/run/ctr-network';

export const ROOT_REGISTRY = path.join(HOST_DIR, 'roots');

/**
 * Writes JSON atomically: temp file, fsync, rename — a crash leaves the old or the new file.
 * `durable: false` skips the fsync, for records that describe what dies with the machine
 * anyway (sandboxes: after a power loss their namespaces are gone and gc reconciles); such
 * files are read with `tolerant` so a torn one counts as absent.
 */
export async function writeJson(file: string, value: unknown, durable = true): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFileDurably(tmp, JSON.stringify(value, null, 2), durable);
  await fs.rename(tmp, file);
}

async function writeFileDurably(file: string, text: string, durable = true): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(text);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function readJson<T>(file: string, tolerant = false): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (tolerant && e instanceof SyntaxError) return undefined;
    throw e;
  }
}

export async function readAllJson<T>(dir: string, tolerant = false): Promise<T[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: T[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const value = await readJson<T>(path.join(dir, name), tolerant);
    if (value !== undefined) out.push(value);
  }
  return out;
}
