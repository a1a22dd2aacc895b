import { invalidArgument } from '@ctr/errors';
import { versionBefore } from '../api-version';
import { sendEmpty, sendJson } from '../call';
import { endpointOptions } from '../container-config';
import { Fields } from '../fields';
import { readJsonObject } from '../request-body';
import { route, type Route } from '../router';
import type { Services } from '../services';
import { networkFor } from '../version-shapes';
import { networkFields } from './swagger-fields';

export function volumeRoutes({ engine }: Services): Route[] {
  return [
    route('GET', '/volumes', async (call) => {
      sendJson(call, 200, { Volumes: await engine.volumes({ filters: call.query.filters() }), Warnings: [] });
    }),
    route('POST', '/volumes/create', async (call) => {
      const body = new Fields(await readJsonObject(call.req), '');
      const driver = body.string('Driver');
      const name = body.string('Name');
      const labels = body.stringMap('Labels');
      const options = body.stringMap('DriverOpts');
      const volume = await engine.createVolume({ ...(driver ? { driver } : {}), ...(name ? { name } : {}), ...(labels ? { labels } : {}), ...(options ? { options } : {}) });
      sendJson(call, 201, volume);
    }),
    route('POST', '/volumes/prune', async (call) => {
      sendJson(call, 200, await engine.pruneVolumes({ filters: call.query.filters() }));
    }),
    // moby's `{name:.*}`: a plugin's volume may have slashes in its name (`user@host:/path`).
    route('GET', '/volumes/*name', async (call) => sendJson(call, 200, await engine.inspectVolume(call.params[0] as string))),
    route('DELETE', '/volumes/*name', async (call) => {
      await engine.removeVolume(call.params[0] as string, { force: call.query.bool('force') });
      sendEmpty(call, 204);
    }),
  ];
}

export function networkRoutes({ engine, swarm }: Services): Route[] {
  return [
    route('POST', '/networks/prune', async (call) => sendJson(call, 200, await engine.pruneNetworks({ filters: call.query.filters() }))),
    route('GET', '/networks', async (call) => {
      const networks = await engine.networks({ filters: call.query.filters() });
      sendJson(call, 200, networks.map((network) => networkFields(networkFor(call.version, network), versionBefore(call.version, '1.28'))));
    }),
    route('POST', '/networks/create', async (call) => {
      const body = new Fields(await readJsonObject(call.req), '');
      const name = body.string('Name');
      if (!name) throw invalidArgument('a network name is required: Name');
      const driver = body.string('Driver');
      // dockerd takes one IPAM config per address family; an IPv6 one is told by its subnet.
      const ipamBody = body.object('IPAM');
      const configs = ipamBody?.objects('Config') ?? [];
      const ipam = configs.find((c) => !c.string('Subnet')?.includes(':'));
      const ipam6 = configs.find((c) => c.string('Subnet')?.includes(':'));
      const subnet = ipam?.string('Subnet');
      const gateway = ipam?.string('Gateway');
      const ipRange = ipam?.string('IPRange');
      const subnet6 = ipam6?.string('Subnet');
      const gateway6 = ipam6?.string('Gateway');
      const ipRange6 = ipam6?.string('IPRange');
      const labels = body.stringMap('Labels');
      const options = body.stringMap('Options');
      // One map of reserved addresses, whichever family's config names them (the manager sorts them again).
      const auxAddresses = { ...(ipam?.stringMap('AuxiliaryAddresses') ?? {}), ...(ipam6?.stringMap('AuxiliaryAddresses') ?? {}) };
      const ipamDriver = ipamBody?.string('Driver');
      const ipamOptions = ipamBody?.stringMap('Options');
      const scope = body.string('Scope');
      const configFrom = body.object('ConfigFrom')?.string('Network');
      const network = await swarm.createNetwork({
        name,
        ...(driver ? { driver } : {}),
        ...(subnet ? { subnet } : {}),
        ...(gateway ? { gateway } : {}),
        ...(ipRange ? { ipRange } : {}),
        ...(body.bool('EnableIPv6') ? { ipv6: true } : {}),
        ...(subnet6 ? { subnet6 } : {}),
        ...(gateway6 ? { gateway6 } : {}),
        ...(ipRange6 ? { ipRange6 } : {}),
        ...(labels ? { labels } : {}),
        ...(options ? { options } : {}),
        ...(Object.keys(auxAddresses).length > 0 ? { auxAddresses } : {}),
        ...(ipamDriver ? { ipamDriver } : {}),
        ...(ipamOptions && Object.keys(ipamOptions).length > 0 ? { ipamOptions } : {}),
        ...(scope ? { scope } : {}),
        ...(configFrom ? { configFrom } : {}),
        ...(body.bool('Attachable') ? { attachable: true } : {}),
        ...(body.bool('Ingress') ? { ingress: true } : {}),
        ...(body.bool('ConfigOnly') ? { configOnly: true } : {}),
        ...(body.bool('EnableIPv4') === false ? { ipv4: false } : {}),
        internal: body.bool('Internal') ?? false,
      });
      sendJson(call, 201, { Id: network.Id, Warning: '' });
    }),
    route('GET', '/networks/:id', async (call) => sendJson(call, 200, networkFields(networkFor(call.version, await engine.inspectNetwork(call.params[0] as string)), true))),
    route('DELETE', '/networks/:id', async (call) => {
      await swarm.removeNetwork(call.params[0] as string);
      sendEmpty(call, 204);
    }),
    route('POST', '/networks/:id/connect', async (call) => {
      const body = new Fields(await readJsonObject(call.req), '');
      const container = body.string('Container');
      if (!container) throw invalidArgument('a container is required: Container');
      await engine.connect(call.params[0] as string, container, endpointOptions(body.object('EndpointConfig')));
      sendEmpty(call, 200);
    }),
    route('POST', '/networks/:id/disconnect', async (call) => {
      const body = new Fields(await readJsonObject(call.req), '');
      const container = body.string('Container');
      if (!container) throw invalidArgument('a container is required: Container');
      await engine.disconnect(call.params[0] as string, container);
      sendEmpty(call, 200);
    }),
  ];
}
