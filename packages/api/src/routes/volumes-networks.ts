import { invalidArgument } from '@ctr/errors';
import { sendEmpty, sendJson } from '../call';
import { Fields } from '../fields';
import { readJsonObject } from '../request-body';
import { route, type Route } from '../router';
import type { Services } from '../services';

function labelsMatch(labels: Record<string, string>, wanted: string[] | undefined): boolean {
  return (wanted ?? []).every((w) => {
    const eq = w.indexOf('=');
    return eq === -1 ? w in labels : labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

export function volumeRoutes({ engine }: Services): Route[] {
  return [
    route('GET', '/volumes', async (call) => {
      const filters = call.query.filters();
      const volumes = (await engine.volumes()).filter(
        (v) => labelsMatch(v.Labels, filters.label) && (filters.name ?? []).every((n) => v.Name.includes(n)),
      );
      sendJson(call, 200, { Volumes: volumes, Warnings: [] });
    }),
    route('POST', '/volumes/create', async (call) => {
      const body = new Fields(await readJsonObject(call.req), '');
      const driver = body.string('Driver');
      if (driver && driver !== 'local') throw invalidArgument(`volume driver ${JSON.stringify(driver)} is not available: only "local" is`);
      const name = body.string('Name');
      const labels = body.stringMap('Labels');
      const volume = await engine.createVolume({ ...(name ? { name } : {}), ...(labels ? { labels } : {}) });
      sendJson(call, 201, volume);
    }),
    route('POST', '/volumes/prune', async (call) => {
      sendJson(call, 200, await engine.pruneVolumes({ all: call.query.filters().all?.includes('true') ?? false }));
    }),
    route('GET', '/volumes/:name', async (call) => sendJson(call, 200, await engine.inspectVolume(call.params[0] as string))),
    route('DELETE', '/volumes/:name', async (call) => {
      await engine.removeVolume(call.params[0] as string, { force: call.query.bool('force') });
      sendEmpty(call, 204);
    }),
  ];
}

export function networkRoutes({ engine }: Services): Route[] {
  return [
    route('POST', '/networks/prune', async (call) => sendJson(call, 200, await engine.pruneNetworks())),
    route('GET', '/networks', async (call) => {
      const filters = call.query.filters();
      const networks = (await engine.networks()).filter(
        (n) =>
          labelsMatch(n.Labels, filters.label) &&
          (filters.name ?? []).every((v) => n.Name.includes(v)) &&
          (filters.id ?? []).every((v) => n.Id.startsWith(v)) &&
          (filters.driver ?? []).every((v) => n.Driver === v),
      );
      sendJson(call, 200, networks);
    }),
    route('POST', '/networks/create', async (call) => {
      const body = new Fields(await readJsonObject(call.req), '');
      const name = body.string('Name');
      if (!name) throw invalidArgument('a network name is required: Name');
      const driver = body.string('Driver');
      if (driver && driver !== 'bridge') throw invalidArgument(`network driver ${JSON.stringify(driver)} is not available: only "bridge" is`);
      const ipam = body.object('IPAM')?.objects('Config')?.[0];
      const subnet = ipam?.string('Subnet');
      const gateway = ipam?.string('Gateway');
      const ipRange = ipam?.string('IPRange');
      const labels = body.stringMap('Labels');
      const bridgeName = body.object('Options')?.string('com.docker.network.bridge.name');
      const network = await engine.createNetwork({
        name,
        ...(subnet ? { subnet } : {}),
        ...(gateway ? { gateway } : {}),
        ...(ipRange ? { ipRange } : {}),
        ...(labels ? { labels } : {}),
        ...(bridgeName ? { bridgeName } : {}),
        internal: body.bool('Internal') ?? false,
      });
      sendJson(call, 201, { Id: network.Id, Warning: '' });
    }),
    route('GET', '/networks/:id', async (call) => sendJson(call, 200, await engine.inspectNetwork(call.params[0] as string))),
    route('DELETE', '/networks/:id', async (call) => {
      await engine.removeNetwork(call.params[0] as string);
      sendEmpty(call, 204);
    }),
    route('POST', '/networks/:id/connect', async (call) => {
      const body = new Fields(await readJsonObject(call.req), '');
      const container = body.string('Container');
      if (!container) throw invalidArgument('a container is required: Container');
      const endpoint = body.object('EndpointConfig');
      const aliases = endpoint?.strings('Aliases');
      const ip = endpoint?.object('IPAMConfig')?.string('IPv4Address');
      await engine.connect(call.params[0] as string, container, { ...(aliases ? { aliases } : {}), ...(ip ? { ip } : {}) });
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
