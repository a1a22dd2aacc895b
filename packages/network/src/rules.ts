import { Chains, type Family, type Rule } from './firewall';
import { isIPv6Binding } from './port-spec';
import type { NetworkState, PublishedPort } from './state';

/**
 * The rules a bridge network needs: isolation from other ctr networks (Docker's two-stage
 * scheme), forwarding accepts that do not depend on the FORWARD policy, masquerade for
 * egress (not for internal networks), and masquerade of loopback-sourced traffic so
 * ports published on 127.0.0.1 work through DNAT. That needs `route_localnet=1` on the
 * bridge, which would let containers reach the host's 127.0.0.1 services (CVE-2020-8558),
 * so packets arriving from the bridge for 127.0.0.0/8 are dropped before routing.
 */
export function networkRules(net: NetworkState): Rule[] {
  const br = net.bridge;
  return [
    ...bridgeRules(net, net.subnet),
    { table: 'nat', chain: Chains.postrouting, spec: `-s 127.0.0.0/8 -o ${br} -j MASQUERADE` },
    { table: 'raw', chain: Chains.prerouting, spec: `-i ${br} -d 127.0.0.0/8 -j DROP` },
    // moby's ip6tables rules are the IPv4 ones for the IPv6 subnet (no loopback DNAT: ::1 is never routed).
    ...(net.ipv6 ? bridgeRules(net, net.ipv6.subnet).map((r): Rule => ({ ...r, family: 6 })) : []),
  ];
}

/** Isolation, forwarding and masquerade of one of a bridge's subnets: the same for both families. */
function bridgeRules(net: NetworkState, subnet: string): Rule[] {
  const br = net.bridge;
  const rules: Rule[] = [
    { table: 'filter', chain: Chains.isolation1, spec: `-i ${br} ! -o ${br} -j ${Chains.isolation2}` },
    { table: 'filter', chain: Chains.isolation2, spec: `-o ${br} -j DROP` },
    { table: 'filter', chain: Chains.forward, spec: `-i ${br} -o ${br} -j ACCEPT` },
  ];
  if (net.internal) {
    rules.push(
      { table: 'filter', chain: Chains.forward, spec: `-i ${br} ! -o ${br} -j DROP` },
      { table: 'filter', chain: Chains.forward, spec: `! -i ${br} -o ${br} -j DROP` },
    );
  } else {
    rules.push(
      { table: 'filter', chain: Chains.forward, spec: `-o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT` },
      { table: 'filter', chain: Chains.forward, spec: `-i ${br} ! -o ${br} -j ACCEPT` },
      { table: 'nat', chain: Chains.postrouting, spec: `-s ${subnet} ! -o ${br} -j MASQUERADE` },
    );
  }
  return rules;
}

/**
 * DNAT from the host port (any local address of its family, or the one given) and the
 * matching accept; IPv6 bindings in ip6tables, to the container's IPv6 address. ::1 is left
 * to the port proxy, as moby leaves it to docker-proxy: the kernel drops a DNATed packet
 * from ::1 rather than route it to the bridge. A binding on IPv6 to a container without
 * IPv6 is the proxy's alone.
 */
export function portRules(ports: PublishedPort[]): Rule[] {
  return ports.flatMap((p): Rule[] => {
    const v6 = isIPv6Binding(p);
    if (v6 !== p.containerIp.includes(':') || (v6 && p.hostIp === '::1')) return [];
    const family = v6 ? { family: 6 as const } : {};
    const dst = v6 ? (p.hostIp === '::' ? '! -d ::1/128 ' : `-d ${p.hostIp}/128 `) : p.hostIp === '0.0.0.0' ? '' : `-d ${p.hostIp}/32 `;
    const to = v6 ? `[${p.containerIp}]:${p.containerPort}` : `${p.containerIp}:${p.containerPort}`;
    return [
      { ...family, table: 'nat', chain: Chains.dnat, spec: `${dst}-p ${p.protocol} -m ${p.protocol} --dport ${p.hostPort} -j DNAT --to-destination ${to}` },
      {
        ...family,
        table: 'filter',
        chain: Chains.forward,
        spec: `-d ${p.containerIp}/${v6 ? 128 : 32} ! -i ${p.bridge} -o ${p.bridge} -p ${p.protocol} -m ${p.protocol} --dport ${p.containerPort} -j ACCEPT`,
      },
    ];
  });
}

/**
 * The iptables families a container's published ports have rules in: ip6tables only for an
 * IPv6 binding DNATed to the container's IPv6 address (the [::] binding of an IPv4-only
 * container is the proxy's alone), so stopping most containers costs no ip6tables lookup.
 */
export function portFamilies(ports: PublishedPort[]): Family[] {
  return portRules(ports).some((r) => r.family === 6) ? [4, 6] : [4];
}

/** Tags: `ctr:<root>:net:<id>` for a network, `ctr:<root>:ports:<containerId>` for a container. */
export const tags = {
  /** What every root's tags start with. */
  any: 'ctr:',
  root: (rootTag: string): string => `ctr:${rootTag}:`,
  network: (rootTag: string, id: string): string => `ctr:${rootTag}:net:${id}`,
  ports: (rootTag: string, containerId: string): string => `ctr:${rootTag}:ports:${containerId}`,
};
