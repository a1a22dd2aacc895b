import { createOptionsFromBody } from '@ctr/api';
import { createRequest } from '../src/create-request';

test("a create's IPAMConfig.IPv6Address is the container's --ip6", () => {
  const options = createOptionsFromBody(
    {
      Image: 'busybox',
      HostConfig: { NetworkMode: 'v6net' },
      NetworkingConfig: { EndpointsConfig: { v6net: { IPAMConfig: { IPv4Address: '10.9.0.5', IPv6Address: 'fd12:3456:789a:1::5' } } } },
    },
    undefined,
  );
  expect(options).toMatchObject({ network: 'v6net', ip: '10.9.0.5', ip6: 'fd12:3456:789a:1::5' });
});

test('--ip6 alone is sent as IPAMConfig.IPv6Address, with no IPv4Address', () => {
  const body = createRequest({ image: 'busybox', network: 'v6net', ip6: 'fd12:3456:789a:1::5' });
  expect(body.NetworkingConfig?.EndpointsConfig?.v6net?.IPAMConfig).toEqual({ IPv6Address: 'fd12:3456:789a:1::5' });
});
