import { invalidArgument } from '@ctr/errors';
import { isIPv4 } from 'node:net';
import { run } from './exec';
import type { NetworkState, OverlayState } from './state';
import type { OverlayOptions } from './types';

/**
 * A swarm overlay network on one node: the network's bridge (as any user network's) with a
 * VXLAN device enslaved to it, as libnetwork's overlay driver makes one per network in its
 * sandbox. Frames for MACs the bridge does not know go out of the VXLAN device to every peer
 * (a flood entry, the all-zeros MAC, per peer: `bridge fdb append`); `nolearning` because the
 * peers are told, not guessed — a frame from a node that is no longer a peer is still accepted,
 * but nothing is sent to it.
 */

/** IANA's VXLAN port, swarmkit's default DataPathPort. */
export const VXLAN_PORT = 4789;
/** VXLAN's encapsulation over IPv4 (outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14), which libnetwork takes off the MTU. */
const VXLAN_OVERHEAD = 50;
/** A 24-bit VXLAN network identifier. */
const MAX_VNI = 2 ** 24 - 1;
const FLOOD_MAC = '00:00:00:00:00:00';

/** An overlay network's MTU when none is given: the underlay's 1500 less the encapsulation, as libnetwork's overlay. */
export const OVERLAY_MTU = 1500 - VXLAN_OVERHEAD;

/** libnetwork's name for a network's VXLAN device (`vx-<vni, 6 hex>-<network ID, 5>`): 15 characters, as a link name may have. */
export function vxlanName(vni: number, networkId: string): string {
  return `vx-${vni.toString(16).padStart(6, '0')}-${networkId.slice(0, 5)}`;
}

/** Checks what a caller gives and makes the record's form of it (peers sorted, without the node's own address). */
export function overlayState(networkId: string, options: OverlayOptions): OverlayState {
  const { vni, local } = options;
  const port = options.port ?? VXLAN_PORT;
  if (!Number.isInteger(vni) || vni < 1 || vni > MAX_VNI) throw invalidArgument(`Invalid VXLAN ID ${vni}`, { hint: `between 1 and ${MAX_VNI}` });
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument(`Invalid VXLAN port ${port}`);
  for (const address of [local, ...options.peers]) {
    if (!isIPv4(address)) throw invalidArgument(`Invalid data path address "${address}"`, { hint: 'overlay networks carry their traffic between IPv4 addresses' });
  }
  const peers = [...new Set(options.peers)].filter((p) => p !== local).sort();
  return { vni, port, local, peers, device: vxlanName(vni, networkId) };
}

/** `ip -batch` lines making the network's VXLAN device, enslaved to its bridge and up; its peers are set apart (setPeers). */
export function vxlanUpLines(net: NetworkState, overlay: OverlayState, alias: string): string[] {
  return [
    `link add name ${overlay.device} mtu ${net.mtu} type vxlan id ${overlay.vni} local ${overlay.local} dstport ${overlay.port} nolearning`,
    `link set ${overlay.device} alias ${alias}`,
    `link set ${overlay.device} master ${net.bridge}`,
    `link set ${overlay.device} up`,
  ];
}

/** The flood destinations the device has now. */
async function floodPeers(device: string): Promise<string[]> {
  const entries = JSON.parse((await run('bridge', ['-j', 'fdb', 'show', 'dev', device])) || '[]') as Array<{ mac: string; dst?: string }>;
  return entries.filter((e) => e.mac === FLOOD_MAC && e.dst !== undefined).map((e) => e.dst as string);
}

/** Makes the device's flood entries the peers: the missing ones appended, the others deleted. */
export async function setPeers(overlay: OverlayState): Promise<void> {
  const present = await floodPeers(overlay.device);
  const lines = [
    ...present.filter((p) => !overlay.peers.includes(p)).map((p) => `fdb del ${FLOOD_MAC} dev ${overlay.device} dst ${p}`),
    ...overlay.peers.filter((p) => !present.includes(p)).map((p) => `fdb append ${FLOOD_MAC} dev ${overlay.device} dst ${p}`),
  ];
  if (lines.length > 0) await run('bridge', ['-batch', '-'], { input: lines.join('\n') });
}

/** Removes a network's VXLAN device (its flood entries go with it); one already gone is no error. */
export async function removeVxlan(overlay: OverlayState): Promise<void> {
  await run('ip', ['link', 'del', overlay.device]).catch(() => undefined);
}

/** Whether two overlay settings need the device made again (its VNI, port or local address changed), rather than its peers set. */
export function sameDevice(a: OverlayState, b: OverlayState): boolean {
  return a.device === b.device && a.vni === b.vni && a.port === b.port && a.local === b.local;
}
