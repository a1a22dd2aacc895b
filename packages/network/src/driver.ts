/**
 * The extension point for network drivers other than the built-in ones, as libnetwork's
 * driverapi: the manager keeps the IPAM (subnets, gateways, addresses: ctr's default IPAM, as
 * dockerd's for a remote driver) and the namespace, and asks the driver for the rest — the
 * network at its create and removal, and each endpoint at its allocation and release. The
 * bridge is the built-in driver (made by the manager's own scripts, batched for speed); `host`,
 * `null` and Docker's swarm and L2 drivers are known names that are not plugins. Anything else
 * is looked up through `NetworkManagerOptions.drivers` (the engine's Docker plugins): this
 * package never knows how.
 */

/** One address pool of a network, as libnetwork's IPAMData. */
export interface DriverPool {
  /** `LocalDefault` (ctr's default IPAM has only the local address space). */
  addressSpace: string;
  /** The subnet, CIDR. */
  pool: string;
  /** The gateway, CIDR (its address with the subnet's prefix length). */
  gateway: string;
  /** `--aux-address`es of this family, each as a CIDR. */
  auxAddresses: Record<string, string>;
}

/** What a driver gets at a network's create (libnetwork's CreateNetwork). */
export interface DriverNetworkRequest {
  networkId: string;
  /** The driver options (`-o`), which libnetwork hands over as `com.docker.network.generic`. */
  options: Record<string, string>;
  labels: Record<string, string>;
  internal: boolean;
  ipv6: boolean;
  ipv4Data: DriverPool[];
  ipv6Data: DriverPool[];
  signal?: AbortSignal;
}

/** An endpoint's interface: what the manager chose (CreateEndpoint's request) or what the driver added (its answer). */
export interface DriverInterface {
  /** CIDR */
  address?: string;
  /** CIDR */
  addressIPv6?: string;
  macAddress?: string;
}

/** A route the driver wants in the container (libnetwork's StaticRoute): RouteType 0 through NextHop, 1 on the interface's link. */
export interface DriverRoute {
  destination: string;
  routeType: 0 | 1;
  nextHop?: string;
}

/**
 * What a driver's Join gives: the host interface it made (`srcName`), which the manager moves
 * into the container's namespace and names `dstPrefix<N>`, and the gateways and routes there.
 */
export interface DriverJoin {
  srcName: string;
  dstPrefix: string;
  gateway?: string;
  gateway6?: string;
  staticRoutes?: DriverRoute[];
  disableGatewayService?: boolean;
}

/** A network driver the manager calls: a Docker network plugin's NetworkDriver protocol, or a test's. */
export interface NetworkDriver {
  /** Its name, as networks record it (`Driver`). */
  readonly name: string;
  createNetwork(request: DriverNetworkRequest): Promise<void>;
  deleteNetwork(networkId: string, signal?: AbortSignal): Promise<void>;
  /** Answers with what it sets of the interface (only what the request left unset: libnetwork refuses a change). */
  createEndpoint(networkId: string, endpointId: string, iface: DriverInterface, options: Record<string, unknown>, signal?: AbortSignal): Promise<DriverInterface>;
  deleteEndpoint(networkId: string, endpointId: string, signal?: AbortSignal): Promise<void>;
  join(networkId: string, endpointId: string, sandboxKey: string, options: Record<string, unknown>, signal?: AbortSignal): Promise<DriverJoin>;
  leave(networkId: string, endpointId: string, signal?: AbortSignal): Promise<void>;
  /** The container's published and exposed ports, on the endpoint that is its way out. */
  programExternalConnectivity(networkId: string, endpointId: string, options: Record<string, unknown>, signal?: AbortSignal): Promise<void>;
  revokeExternalConnectivity(networkId: string, endpointId: string, signal?: AbortSignal): Promise<void>;
}

/**
 * Finds the driver of a name that is not built in; rejects (NotFound, in dockerd's words) when
 * there is none. Called only for such networks: a manager whose networks are all bridges never
 * calls it.
 */
export type NetworkDriverLookup = (name: string, signal?: AbortSignal) => Promise<NetworkDriver>;

/** What a remote IPAM driver gave for a pool (libnetwork's ipamapi RequestPool answer). */
export interface IpamPool {
  /** The driver's name for it, which every later call of the pool gives back. */
  poolId: string;
  /** The subnet, CIDR. */
  pool: string;
  /** Its metadata: `com.docker.network.gateway` is a gateway the driver chose itself. */
  data: Record<string, string>;
}

/**
 * An IPAM driver other than the default (`network create --ipam-driver PLUGIN`), as libnetwork's
 * ipamapi: a network's pool and gateway come from it at the network's create and go back at its
 * removal; each endpoint's address comes from it at the endpoint's allocation and goes back at
 * its release.
 */
export interface IpamDriver {
  readonly name: string;
  /** GetDefaultAddressSpaces' local one: where a local network's pools are asked for. */
  localAddressSpace(signal?: AbortSignal): Promise<string>;
  requestPool(request: { addressSpace: string; pool: string; subPool: string; options: Record<string, string>; v6: boolean }, signal?: AbortSignal): Promise<IpamPool>;
  releasePool(poolId: string, signal?: AbortSignal): Promise<void>;
  /** An address of the pool, CIDR: `address` when one is asked for (`''` for any); `options` as libnetwork's (the gateway's RequestAddressType). */
  requestAddress(poolId: string, address: string, options: Record<string, string>, signal?: AbortSignal): Promise<string>;
  releaseAddress(poolId: string, address: string, signal?: AbortSignal): Promise<void>;
}

/** Finds the IPAM driver of a name other than `default`; rejects (NotFound, in dockerd's words) when there is none. */
export type IpamDriverLookup = (name: string, signal?: AbortSignal) => Promise<IpamDriver>;
