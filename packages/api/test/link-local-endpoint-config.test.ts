import { createOptionsFromBody } from '@ctr/api';
import { endpointOptions } from '../src/container-config';
import { createRequest } from '../src/create-request';
import { Fields } from '../src/fields';

test("a create's IPAMConfig.LinkLocalIPs are the container's --link-local-ip", () => {
  const options = createOptionsFromBody(
    {
      Image: 'busybox',
      HostConfig: { NetworkMode: 'llnet' },
      NetworkingConfig: { EndpointsConfig: { llnet: { IPAMConfig: { LinkLocalIPs: ['169.254.7.7', 'fe80::7'] } } } },
    },
    undefined,
  );
  expect(options).toMatchObject({ network: 'llnet', linkLocalIps: ['169.254.7.7', 'fe80::7'] });
});

test('--link-local-ip alone is sent as IPAMConfig.LinkLocalIPs, with no other address', () => {
  const body = createRequest({ image: 'busybox', network: 'llnet', linkLocalIps: ['169.254.7.7'] });
  expect(body.NetworkingConfig?.EndpointsConfig?.llnet?.IPAMConfig).toEqual({ LinkLocalIPs: ['169.254.7.7'] });
});

test("a connect's EndpointConfig.IPAMConfig.LinkLocalIPs become the endpoint's link-local IPs", () => {
  const endpoint = new Fields({ IPAMConfig: { IPv4Address: '10.9.0.5', LinkLocalIPs: ['169.254.3.3'] } }, 'EndpointConfig');
  expect(endpointOptions(endpoint)).toEqual({ ip: '10.9.0.5', linkLocalIps: ['169.254.3.3'] });
});
