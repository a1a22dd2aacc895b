import { invalidArgument } from '@ctr/errors';

/** A binding as Docker's `HostConfig.PortBindings` holds it: the host side as the user gave it. */
export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

function range(text: string): [number, number] | undefined {
  const m = /^(\d+)-(\d+)$/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * `-p` values as Docker's `HostConfig.PortBindings`: what was asked for, not what was
 * given — an unset host port stays `""` (the daemon picks one at each start, shown in
 * `NetworkSettings.Ports`), an unset address `""`. Ranges become one key per port, as
 * docker's CLI sends them. `-P` and EXPOSE add nothing here.
 */
export function portBindingsOf(publish: readonly string[]): Record<string, PortBinding[]> {
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of publish) {
    const parts = spec.split(':');
    const [containerPorts = '', given = 'tcp'] = (parts.pop() as string).split('/');
    const protocol = given.toLowerCase();
    const hostPorts = parts.pop() ?? '';
    const hostIp = parts.join(':').replace(/^\[|\]$/g, '');
    const containerRange = range(containerPorts);
    if (!containerRange) {
      (bindings[`${containerPorts}/${protocol}`] ??= []).push({ HostIp: hostIp, HostPort: hostPorts });
      continue;
    }
    const hostRange = range(hostPorts);
    const [start, end] = containerRange;
    if (hostRange && hostRange[1] - hostRange[0] !== end - start) {
      throw invalidArgument(`Invalid ranges specified for container and host Ports: ${containerPorts} and ${hostPorts}`);
    }
    for (let port = start; port <= end; port++) {
      const hostPort = hostRange ? String(hostRange[0] + port - start) : hostPorts;
      (bindings[`${port}/${protocol}`] ??= []).push({ HostIp: hostIp, HostPort: hostPort });
    }
  }
  return bindings;
}
