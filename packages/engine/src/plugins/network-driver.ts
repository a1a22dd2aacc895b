import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CtrError, internal, isCtrError, isInvalidArgument, isNotFound } from '@ctr/errors';
import type { DriverInterface, DriverJoin, DriverNetworkRequest, DriverPool, DriverRoute, NetworkDriver } from '@ctr/network';
import { endpointNotesDir } from '../container-network';
import type { EngineContext } from '../context';
import { answerErr, type PluginClient } from './client';
import { settlePluginNote } from './volume-mounts';

/** Docker's capability name for network plugins (libnetwork's NetworkPluginEndpointType). */
export const NETWORK_DRIVER = 'NetworkDriver';

/** libnetwork's option keys in a CreateNetwork request. */
const GENERIC = 'com.docker.network.generic';
const ENABLE_IPV4 = 'com.docker.network.enable_ipv4';
const ENABLE_IPV6 = 'com.docker.network.enable_ipv6';
const INTERNAL = 'com.docker.network.internal';

/** The answers of the protocol (moby's libnetwork/drivers/remote/api), as far as ctr reads them. */
interface WireInterface {
  Address?: string;
  AddressIPv6?: string;
  MacAddress?: string;
}
interface WireJoin {
  InterfaceName?: { SrcName?: string; DstPrefix?: string } | null;
  Gateway?: string;
  GatewayIPv6?: string;
  StaticRoutes?: Array<{ Destination?: string; RouteType?: number; NextHop?: string }> | null;
  DisableGatewayService?: boolean;
}

function wirePool(pool: DriverPool): Record<string, unknown> {
  return { AddressSpace: pool.addressSpace, Pool: pool.pool, Gateway: pool.gateway, AuxAddresses: pool.auxAddresses };
}

/**
 * What a plugin's endpoint is owed at its release, noted under the run root from its
 * CreateEndpoint to its DeleteEndpoint: whichever process sees the container exit can make the
 * calls then (conmon's exit command has none of the caller's environment to find the plugin by;
 * see volume-mounts.ts' notes, settled the same way).
 */
interface EndpointNote {
  driver: string;
  address: string;
  networkId: string;
  endpointId: string;
}

function endpointNote(runRoot: string, endpointId: string): string {
  return path.join(endpointNotesDir(runRoot), `${endpointId}.json`);
}

/** A method the plugin does not have: what its 404 becomes (client.ts words it `Method: …`, details.status 404). */
function notImplemented(error: unknown): boolean {
  return isCtrError(error) && error.details?.status === 404;
}

function routes(join: WireJoin): DriverRoute[] {
  return (join.StaticRoutes ?? []).map((r) => ({
    destination: r.Destination ?? '',
    routeType: r.RouteType === 1 ? 1 : 0,
    ...(r.NextHop ? { nextHop: r.NextHop } : {}),
  }));
}

/** One network plugin's NetworkDriver protocol (moby's libnetwork/drivers/remote), for @ctr/network's driver extension point. */
export class RemoteNetworkDriver implements NetworkDriver {
  constructor(
    readonly name: string,
    private readonly client: PluginClient,
    /** The engine's run root, where each endpoint's note is kept. */
    private readonly runRoot: string,
  ) {}

  /** libnetwork's remote driver call: an `Err` in a 200 answer is `remote: <Err>`; a status error is the client's. */
  private async call<T>(method: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const answer = await this.client.answer<T>(`${NETWORK_DRIVER}.${method}`, body, signal);
    const err = answerErr(answer);
    if (err !== undefined) throw internal(`remote: ${err}`);
    return answer;
  }

  /** GetCapabilities, checked as libnetwork checks it when it registers the driver. */
  async capabilities(signal?: AbortSignal): Promise<{ scope: 'local' | 'global'; connectivityScope: 'local' | 'global' }> {
    const answer = await this.call<{ Scope?: string; ConnectivityScope?: string }>('GetCapabilities', {}, signal);
    const scope = answer.Scope;
    if (scope !== 'local' && scope !== 'global') throw internal(`invalid capability: expecting 'local' or 'global', got ${scope ?? ''}`);
    const connectivity = answer.ConnectivityScope || scope;
    if (connectivity !== 'local' && connectivity !== 'global') throw internal(`invalid capability: expecting 'local' or 'global', got ${scope}`);
    return { scope, connectivityScope: connectivity };
  }

  async createNetwork(request: DriverNetworkRequest): Promise<void> {
    const options: Record<string, unknown> = { [ENABLE_IPV4]: true, [ENABLE_IPV6]: request.ipv6, [GENERIC]: request.options };
    if (request.internal) options[INTERNAL] = true;
    await this.call(
      'CreateNetwork',
      { NetworkID: request.networkId, Options: options, IPv4Data: request.ipv4Data.map(wirePool), IPv6Data: request.ipv6Data.map(wirePool) },
      request.signal,
    );
  }

  async deleteNetwork(networkId: string, signal?: AbortSignal): Promise<void> {
    await this.call('DeleteNetwork', { NetworkID: networkId }, signal);
  }

  async createEndpoint(networkId: string, endpointId: string, iface: DriverInterface, options: Record<string, unknown>, signal?: AbortSignal): Promise<DriverInterface> {
    const body = {
      NetworkID: networkId,
      EndpointID: endpointId,
      Interface: { Address: iface.address ?? '', AddressIPv6: iface.addressIPv6 ?? '', MacAddress: iface.macAddress ?? '' },
      Options: options,
    };
    const answer = (await this.call<{ Interface?: WireInterface | null }>('CreateEndpoint', body, signal)).Interface ?? {};
    const note: EndpointNote = { driver: this.name, address: this.client.address, networkId, endpointId };
    try {
      await fs.mkdir(endpointNotesDir(this.runRoot), { recursive: true });
      await fs.writeFile(endpointNote(this.runRoot, endpointId), JSON.stringify(note));
    } catch (error) {
      // Without its note no release could find the plugin again: the endpoint goes now.
      await this.deleteEndpoint(networkId, endpointId).catch(() => undefined);
      throw error;
    }
    return {
      ...(answer.Address ? { address: answer.Address } : {}),
      ...(answer.AddressIPv6 ? { addressIPv6: answer.AddressIPv6 } : {}),
      ...(answer.MacAddress ? { macAddress: answer.MacAddress } : {}),
    };
  }

  /** Its note goes whatever the plugin answers: libnetwork only logs a release that fails. */
  async deleteEndpoint(networkId: string, endpointId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.call('DeleteEndpoint', { NetworkID: networkId, EndpointID: endpointId }, signal);
    } finally {
      await fs.rm(endpointNote(this.runRoot, endpointId), { force: true });
    }
  }

  async join(networkId: string, endpointId: string, sandboxKey: string, options: Record<string, unknown>, signal?: AbortSignal): Promise<DriverJoin> {
    const answer = await this.call<WireJoin>('Join', { NetworkID: networkId, EndpointID: endpointId, SandboxKey: sandboxKey, Options: options }, signal);
    const name = answer.InterfaceName;
    if (!name?.SrcName) {
      // libnetwork has no interface to move in then; ctr has no other way to give the container one.
      await this.leave(networkId, endpointId).catch(() => undefined);
      throw internal(`network plugin ${this.name} joined endpoint ${endpointId} without an interface (InterfaceName.SrcName)`, {
        hint: 'the plugin must create a host interface (e.g. a veth end) and name it in its Join answer',
      });
    }
    return {
      srcName: name.SrcName,
      dstPrefix: name.DstPrefix || 'eth',
      ...(answer.Gateway ? { gateway: answer.Gateway } : {}),
      ...(answer.GatewayIPv6 ? { gateway6: answer.GatewayIPv6 } : {}),
      ...(answer.StaticRoutes?.length ? { staticRoutes: routes(answer) } : {}),
      ...(answer.DisableGatewayService ? { disableGatewayService: true } : {}),
    };
  }

  async leave(networkId: string, endpointId: string, signal?: AbortSignal): Promise<void> {
    await this.call('Leave', { NetworkID: networkId, EndpointID: endpointId }, signal);
  }

  /** Not every plugin has it: a 404 is no error (libnetwork: "not mandatory yet"). */
  async programExternalConnectivity(networkId: string, endpointId: string, options: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    await this.call('ProgramExternalConnectivity', { NetworkID: networkId, EndpointID: endpointId, Options: options }, signal).catch((error: unknown) => {
      if (!notImplemented(error)) throw error;
    });
  }

  async revokeExternalConnectivity(networkId: string, endpointId: string, signal?: AbortSignal): Promise<void> {
    await this.call('RevokeExternalConnectivity', { NetworkID: networkId, EndpointID: endpointId }, signal).catch((error: unknown) => {
      if (!notImplemented(error)) throw error;
    });
  }
}

/**
 * The network plugin `name` (a legacy plugin's name, or a managed one's `name:latest`), its
 * capabilities checked as libnetwork checks them when it registers the driver. Not found is
 * dockerd's `could not find plugin X in v1 plugin registry: plugin not found`.
 */
export async function networkDriver(ctx: EngineContext, name: string, signal?: AbortSignal): Promise<NetworkDriver> {
  const plugins = ctx.plugins();
  const endpoint = await plugins.get(name, NETWORK_DRIVER, signal).catch(async (error: unknown) => {
    if (isNotFound(error)) throw new CtrError('NotFound', `could not find plugin ${name} in v1 plugin registry: plugin not found`, { cause: error });
    if (!isInvalidArgument(error)) throw error;
    // Found, but no network driver: moby's words differ between its managed and legacy plugins.
    const managed = (await plugins.sources[0]?.find(name, NETWORK_DRIVER, signal).catch(() => undefined))?.managed === true;
    throw new CtrError('InvalidArgument', managed ? `plugin does not provide ${NETWORK_DRIVER} capability` : 'legacy plugin: Plugin does not implement the requested driver', { cause: error });
  });
  const driver = new RemoteNetworkDriver(endpoint.name, plugins.client(endpoint), ctx.runRoot);
  await driver.capabilities(signal);
  return driver;
}

/**
 * After a container's network is released: the plugin endpoints among `endpointIds` whose
 * release found no driver (the releasing process could not find the plugin by its name) get
 * their RevokeExternalConnectivity, Leave and DeleteEndpoint at the address their note names,
 * once, as libnetwork releases them. Never fails.
 */
export async function releaseNotedEndpoints(runRoot: string, endpointIds: readonly string[]): Promise<void> {
  for (const endpointId of endpointIds) {
    await settlePluginNote<EndpointNote>(
      endpointNote(runRoot, endpointId),
      async (note, client) => {
        const driver = new RemoteNetworkDriver(note.driver, client, runRoot);
        await driver.revokeExternalConnectivity(note.networkId, note.endpointId).catch(() => undefined);
        await driver.leave(note.networkId, note.endpointId).catch(() => undefined);
        await driver.deleteEndpoint(note.networkId, note.endpointId);
      },
      { keepUnanswered: false },
    ).catch(() => undefined);
  }
}
