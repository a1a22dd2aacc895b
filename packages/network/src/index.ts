/**
 * @ctr/network — Docker's networking for containers run by ctr: network namespaces the
 * runtime joins by path, the default `bridge` network and user-defined bridge networks
 * with IPAM, published ports, name resolution at 127.0.0.11, connect/disconnect, and a
 * `gc()` that removes what a crash left behind.
 */
export { NetworkManager, bridgeNameFor, driverOptions } from './network-manager';
export { parsePortSpec, parseExposedPort, portKey, sctpRefused } from './port-spec';
export { auxOfFamily } from './create-options';
export { allocatePorts as allocateHostPorts } from './port-allocator';
export { isAllocationFailure } from './allocation-failure';
export type { DriverInterface, DriverJoin, DriverNetworkRequest, DriverPool, DriverRoute, IpamDriver, IpamDriverLookup, IpamPool, NetworkDriver, NetworkDriverLookup } from './driver';
export { contains, intToIp, ipToInt, parseCidr, parseMac, usableHosts, type Cidr } from './ipv4';
export { OVERLAY_MTU, VXLAN_PORT, vxlanName } from './overlay';
export { VXLAN_ID_OPTION } from './settings';
export { EMBEDDED_DNS, validDnsSettings } from './resolv';
export type {
  AllocateResult,
  AttachOptions,
  AttachResult,
  ConnectOptions,
  DnsSettings,
  EndpointLink,
  EndpointRequest,
  EndpointSettings,
  GcReport,
  ListNetworksOptions,
  NetworkCreateOptions,
  NetworkInspect,
  NetworkManagerOptions,
  NetworkMode,
  NetworkSettings,
  OverlayOptions,
  PortMap,
  PortMapping,
  Protocol,
  PruneOptions,
  RemoteEndpoint,
  VirtualIp,
} from './types';
