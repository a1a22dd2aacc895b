import type { ContainerInspect, Engine, ImageInspect, ImageSummary } from '@ctr/engine';
import { versionBefore, type ApiVersion } from './api-version';

type NetworkInspect = Awaited<ReturnType<Engine['inspectNetwork']>>;

/** moby's `NetworkMode.IsUserDefined` for a key of `NetworkSettings.Networks`: neither a predefined network nor another container's. */
function userDefined(network: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(network) && !network.startsWith('container:');
}

/**
 * A container's inspect as a client of `version` knows it, as moby's getContainersByName
 * shapes it: before API 1.45 an endpoint on a user network lists the container's short ID
 * and hostname among its aliases (dockerd kept them there until then). docker-compose 1.29
 * looks for the short ID, and disconnects and reconnects (losing its `mac_address:`) an
 * endpoint without it.
 */
export function containerInspectFor(version: ApiVersion, inspect: ContainerInspect): ContainerInspect {
  if (!versionBefore(version, '1.45')) return inspect;
  const extra = [inspect.Id.slice(0, 12), inspect.Config.Hostname].filter((name) => name !== '');
  const networks = Object.fromEntries(
    Object.entries(inspect.NetworkSettings.Networks).map(([name, endpoint]) => [
      name,
      userDefined(name) ? { ...endpoint, Aliases: [...new Set([...endpoint.Aliases, ...extra])] } : endpoint,
    ]),
  );
  return { ...inspect, NetworkSettings: { ...inspect.NetworkSettings, Networks: networks } };
}

/** A network's inspect (or list entry) as a client of `version` knows it: `EnableIPv4` came with API 1.47. */
export function networkFor(version: ApiVersion, network: NetworkInspect): NetworkInspect | Omit<NetworkInspect, 'EnableIPv4'> {
  if (!versionBefore(version, '1.47')) return network;
  const { EnableIPv4: _new, ...older } = network;
  return older;
}

/** `object` without the fields of `dropped`, the others in their order (dockerd's, kept by the engine). */
function without<T extends object, K extends keyof T>(object: T, dropped: readonly K[]): Omit<T, K> & Partial<Pick<T, K>> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !(dropped as readonly string[]).includes(key))) as Omit<T, K> & Partial<Pick<T, K>>;
}

/**
 * A `GET /images/json` entry as a client of `version` knows it, as moby's getImagesJSON shapes
 * it: before API 1.43 an image with no name at all is `<none>:<none>` / `<none>@<none>`; before
 * 1.44 `VirtualSize` (the engine's, the same as `Size`) is there, and from 1.44 it is gone.
 */
export function imageSummaryFor(version: ApiVersion, image: ImageSummary): Omit<ImageSummary, 'VirtualSize'> & { VirtualSize?: number } {
  if (!versionBefore(version, '1.44')) return without(image, ['VirtualSize']);
  const unnamed = versionBefore(version, '1.43') && image.RepoTags.length === 0 && image.RepoDigests.length === 0;
  return unnamed ? { ...image, RepoTags: ['<none>:<none>'], RepoDigests: ['<none>@<none>'] } : image;
}

/**
 * A `GET /system/df` image as a client of `version` knows it, as moby's getDiskUsage shapes it:
 * `VirtualSize` before API 1.44 only (the image list's `<none>` names are not the df's).
 */
export function diskUsageImageFor(version: ApiVersion, image: ImageSummary): Omit<ImageSummary, 'VirtualSize'> & { VirtualSize?: number } {
  return versionBefore(version, '1.44') ? image : without(image, ['VirtualSize']);
}

/**
 * An image's inspect as a client of `version` knows it, as moby's getImagesByName shapes it:
 * `VirtualSize` before API 1.44 only, `Descriptor` from 1.48 only.
 */
export function imageInspectFor(version: ApiVersion, image: ImageInspect): Omit<ImageInspect, 'VirtualSize' | 'Descriptor'> & Partial<Pick<ImageInspect, 'VirtualSize' | 'Descriptor'>> {
  const dropped = [...(versionBefore(version, '1.44') ? [] : ['VirtualSize' as const]), ...(versionBefore(version, '1.48') ? ['Descriptor' as const] : [])];
  return without(image, dropped);
}
