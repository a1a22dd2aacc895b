import { invalidArgument, isConflict } from '@ctr/errors';
import { allocateHostPorts, sctpRefused } from '@ctr/network';
import type { ClusterTx, SwarmContext } from './context';
import { rpcError } from './store';
import type { EndpointSpec, PortConfig, Service } from './types';

/** swarmkit's dynamic port range: where a published port of 0 is taken from. */
export const DYNAMIC_PORT_RANGE = { start: 30000, end: 32767 };

type Mode = NonNullable<PortConfig['PublishMode']>;

const key = (protocol: string, port: number): string => `${protocol}/${port}`;
const modeOf = (p: PortConfig): Mode => p.PublishMode ?? 'ingress';

/** swarmkit's validateEndpointSpec: dnsrr cannot go with the routing mesh; a published port once per protocol. */
function validate(spec: EndpointSpec): PortConfig[] {
  const seen = new Set<string>();
  return (spec.Ports ?? []).map((given) => {
    const port: PortConfig = { ...given, Protocol: given.Protocol ?? 'tcp', PublishMode: modeOf(given) };
    if (port.Protocol === 'sctp') throw sctpRefused(`${port.TargetPort}/sctp`);
    if (spec.Mode === 'dnsrr' && port.PublishMode === 'ingress') throw invalidArgument("EndpointSpec: port published with ingress mode can't be used with dnsrr mode");
    const published = port.PublishedPort ?? 0;
    if (published !== 0) {
      if (seen.has(key(port.Protocol, published))) throw invalidArgument('EndpointSpec: duplicate published ports provided');
      seen.add(key(port.Protocol, published));
    }
    return port;
  });
}

/** swarmkit's refusal of a taken port, as dockerd passes it on (`rpc error: code = InvalidArgument desc = …`). */
const portInUse = (desc: string): Error => rpcError('InvalidArgument', 'InvalidArgument', desc, 'publish another port, or remove that service first');

/** swarmkit's checkPortConflicts: another service's port (as asked, or as allocated) a new one collides with, in its words. */
function checkConflicts(ports: PortConfig[], others: Service[]): void {
  const mine = new Map(ports.filter((p) => (p.PublishedPort ?? 0) !== 0).map((p) => [key(p.Protocol, p.PublishedPort ?? 0), modeOf(p)]));
  for (const service of others) {
    for (const theirs of [...(service.Spec.EndpointSpec?.Ports ?? []), ...(service.Endpoint?.Ports ?? [])]) {
      const published = theirs.PublishedPort ?? 0;
      const wanted = mine.get(key(theirs.Protocol ?? 'tcp', published));
      if (published === 0 || wanted === undefined) continue;
      const where = `port '${published}' is already in use by service '${service.Spec.Name}' (${service.ID})`;
      // Host-mode ports of several services may share a port (each task binds it on its node).
      if (modeOf(theirs) === 'ingress') throw portInUse(`${where} as an ingress port`);
      if (wanted === 'ingress') throw portInUse(`${where} as a host-published port`);
    }
  }
}

/** Whether no process on the host holds the port and no container publishes it (the engine's own check, Docker's words when not). */
async function hostRefusal(port: PortConfig, published: number): Promise<Error | undefined> {
  const protocol = port.Protocol === 'udp' ? 'udp' : 'tcp';
  try {
    await allocateHostPorts([{ hostIp: '0.0.0.0', hostPort: published, containerPort: port.TargetPort, protocol }]);
    return undefined;
  } catch (error) {
    if (isConflict(error)) return error as Error;
    throw error;
  }
}

/** The port a port config had in the service's last allocation (swarmkit keeps a dynamic one across updates). */
function previously(port: PortConfig, previous: PortConfig[]): number | undefined {
  return previous.find((p) => modeOf(p) === modeOf(port) && p.TargetPort === port.TargetPort && (p.Protocol ?? 'tcp') === port.Protocol && (p.Name ?? '') === (port.Name ?? ''))?.PublishedPort;
}

/**
 * A service's ports as its Endpoint shows them, allocated in the store's transaction `tx` (so
 * that two creates never take the same port): a routing-mesh port of 0 keeps the one the
 * service had (`previous`, its Endpoint.Ports before an update) or takes the first one of
 * 30000-32767 no other service has and no process on the host holds; a port another service
 * publishes is refused in swarmkit's words, one a process or a container holds on the host in
 * the engine's (`Bind for 0.0.0.0:8080 failed: port is already allocated`), probed here rather
 * than found later by the routing mesh. Host-mode ports are the tasks' own: left as given.
 */
export async function allocatePorts(_ctx: SwarmContext, tx: ClusterTx, spec: EndpointSpec, serviceId: string, previous: PortConfig[] = []): Promise<PortConfig[]> {
  const ports = validate(spec);
  const others = tx.list('services').filter((s) => s.ID !== serviceId);
  checkConflicts(ports, others);
  const taken = new Set(
    [...others.flatMap((s) => [...(s.Spec.EndpointSpec?.Ports ?? []), ...(s.Endpoint?.Ports ?? [])]), ...ports].map((p) => key(p.Protocol ?? 'tcp', p.PublishedPort ?? 0)),
  );
  const held = new Set(previous.filter((p) => modeOf(p) === 'ingress').map((p) => key(p.Protocol ?? 'tcp', p.PublishedPort ?? 0)));
  const out: PortConfig[] = [];
  for (const port of ports) {
    if (port.PublishMode === 'host') {
      out.push(port);
      continue;
    }
    const published = port.PublishedPort ?? 0;
    if (published !== 0) {
      // Its own routing-mesh port (an update) is held by the mesh's proxy already.
      const refusal = held.has(key(port.Protocol, published)) ? undefined : await hostRefusal(port, published);
      if (refusal) throw refusal;
      out.push(port);
      continue;
    }
    const kept = previously(port, previous);
    const chosen = kept !== undefined && kept !== 0 && !taken.has(key(port.Protocol, kept)) ? kept : await dynamicPort(port, taken);
    taken.add(key(port.Protocol, chosen));
    out.push({ ...port, PublishedPort: chosen });
  }
  return out;
}

async function dynamicPort(port: PortConfig, taken: Set<string>): Promise<number> {
  for (let candidate = DYNAMIC_PORT_RANGE.start; candidate <= DYNAMIC_PORT_RANGE.end; candidate++) {
    if (taken.has(key(port.Protocol, candidate))) continue;
    if (!(await hostRefusal(port, candidate))) return candidate;
  }
  throw invalidArgument(`could not allocate a published port for ${port.TargetPort}/${port.Protocol}: the dynamic range ${DYNAMIC_PORT_RANGE.start}-${DYNAMIC_PORT_RANGE.end} is exhausted`, {
    hint: 'publish a fixed port, or remove services that publish ports',
  });
}
