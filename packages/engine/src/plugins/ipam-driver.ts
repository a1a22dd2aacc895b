import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CtrError, internal, isInvalidArgument, isNotFound } from '@ctr/errors';
import type { IpamDriver, IpamPool } from '@ctr/network';
import type { EngineContext } from '../context';
import { answerErr, PluginClient } from './client';
import type { PluginEndpoint } from './source';

/** Docker's capability name for IPAM plugins (libnetwork's ipamapi PluginEndpointType). */
export const IPAM_DRIVER = 'IpamDriver';

/** A method the plugin does not have: its 404 (client.ts keeps the status in details). */
function notImplemented(error: unknown): boolean {
  return error instanceof CtrError && error.details?.status === 404;
}

/** One IPAM plugin's protocol (moby's libnetwork/ipams/remote), for @ctr/network's IpamDriver. */
export class RemoteIpamDriver implements IpamDriver {
  constructor(
    readonly name: string,
    private readonly client: PluginClient,
  ) {}

  /** libnetwork's remote IPAM call: an `Err` in a 200 answer is `remote: <Err>`; a status error is the client's. */
  private async call<T>(method: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const answer = await this.client.answer<T>(`${IPAM_DRIVER}.${method}`, body, signal);
    const err = answerErr(answer);
    if (err !== undefined) throw internal(`remote: ${err}`);
    return answer;
  }

  /** GetCapabilities, asked as libnetwork asks it when it registers the driver; a plugin without it (404) has none. */
  async capabilities(signal?: AbortSignal): Promise<void> {
    await this.call('GetCapabilities', {}, signal).catch((error: unknown) => {
      if (!notImplemented(error)) throw error;
    });
  }

  async localAddressSpace(signal?: AbortSignal): Promise<string> {
    return (await this.call<{ LocalDefaultAddressSpace?: string }>('GetDefaultAddressSpaces', {}, signal)).LocalDefaultAddressSpace ?? '';
  }

  async requestPool(request: { addressSpace: string; pool: string; subPool: string; options: Record<string, string>; v6: boolean }, signal?: AbortSignal): Promise<IpamPool> {
    const body = { AddressSpace: request.addressSpace, Pool: request.pool, SubPool: request.subPool, Options: request.options, V6: request.v6 };
    const answer = await this.call<{ PoolID?: string; Pool?: string; Data?: Record<string, string> | null }>('RequestPool', body, signal);
    return { poolId: answer.PoolID ?? '', pool: answer.Pool ?? '', data: answer.Data ?? {} };
  }

  async releasePool(poolId: string, signal?: AbortSignal): Promise<void> {
    await this.call('ReleasePool', { PoolID: poolId }, signal);
  }

  async requestAddress(poolId: string, address: string, options: Record<string, string>, signal?: AbortSignal): Promise<string> {
    return (await this.call<{ Address?: string }>('RequestAddress', { PoolID: poolId, Address: address, Options: options }, signal)).Address ?? '';
  }

  async releaseAddress(poolId: string, address: string, signal?: AbortSignal): Promise<void> {
    await this.call('ReleaseAddress', { PoolID: poolId, Address: address }, signal);
  }
}

/**
 * Where IPAM plugin `name` was last reached, under the run root: a process that cannot find it
 * by name (conmon's exit command has none of the caller's plugin settings) gives the addresses
 * of a container's exit back there.
 */
function addressNote(runRoot: string, name: string): string {
  return path.join(runRoot, 'ipam-plugins', `${encodeURIComponent(name)}.json`);
}

/**
 * The IPAM plugin `name` (a legacy plugin's name, or a managed one's `name:latest`), its
 * capabilities asked as libnetwork asks them. Not found is dockerd's `could not find plugin X in
 * v1 plugin registry: plugin not found` — unless the plugin was reached before from this run
 * root: then at the address noted then.
 */
export async function ipamDriver(ctx: EngineContext, name: string, signal?: AbortSignal): Promise<IpamDriver> {
  const plugins = ctx.plugins();
  const note = addressNote(ctx.runRoot, name);
  let endpoint: PluginEndpoint;
  try {
    endpoint = await plugins.get(name, IPAM_DRIVER, signal);
  } catch (error) {
    if (isInvalidArgument(error)) throw new CtrError('InvalidArgument', 'legacy plugin: Plugin does not implement the requested driver', { cause: error });
    if (!isNotFound(error)) throw error;
    const noted = await fs.readFile(note, 'utf8').then((text) => (JSON.parse(text) as { address?: string }).address, () => undefined);
    if (noted === undefined) throw new CtrError('NotFound', `could not find plugin ${name} in v1 plugin registry: plugin not found`, { cause: error });
    return new RemoteIpamDriver(name, new PluginClient(noted));
  }
  const driver = new RemoteIpamDriver(endpoint.name, plugins.client(endpoint));
  await driver.capabilities(signal);
  await fs.mkdir(path.dirname(note), { recursive: true });
  await fs.writeFile(note, JSON.stringify({ address: endpoint.address }));
  return driver;
}
