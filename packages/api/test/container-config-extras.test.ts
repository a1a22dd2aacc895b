/**
 * `--expose`, `--volumes-from`, `--mac-address`, `--link`, `--userns`, `--pid`/`--ipc
 * container:` and `--gpus` in `POST /containers/create`: the server reads Docker's fields,
 * and the client (`ctr -H`) sends the engine's options as those fields.
 */
import { createOptionsFromBody, type CreateOptions } from '@ctr/api';
import { createRequest } from '../src/create-request';

const gpus = { Driver: '', Count: -1, DeviceIDs: [], Capabilities: [['gpu']], Options: {} };

test('the fields docker sends map to the engine\'s options', () => {
  const options = createOptionsFromBody(
    {
      Image: 'busybox',
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      HostConfig: {
        VolumesFrom: ['data:ro'],
        Links: ['/web:/app/db'],
        UsernsMode: 'host',
        PidMode: 'container:web',
        IpcMode: 'container:web',
        DeviceRequests: [gpus],
      },
      NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: '92:d0:c6:0a:29:33' } } },
    },
    undefined,
  );
  expect(options).toMatchObject({
    expose: ['80/tcp', '53/udp'],
    volumesFrom: ['data:ro'],
    links: ['/web:/app/db'],
    usernsMode: 'host',
    pid: 'container:web',
    ipc: 'container:web',
    deviceRequests: [gpus],
    macAddress: '92:d0:c6:0a:29:33',
  });
});

test('before API 1.44 the MAC is Config.MacAddress alone: an endpoint\'s MacAddress is ignored, as moby\'s handleMACAddressBC', () => {
  const old = { version: '1.41' } as const;
  expect(createOptionsFromBody({ Image: 'busybox', MacAddress: '92:d0:c6:0a:29:33' }, undefined, old).macAddress).toBe('92:d0:c6:0a:29:33');
  const both = { Image: 'busybox', MacAddress: '92:d0:c6:0a:29:33', NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: '92:d0:c6:0a:29:34' } } } };
  expect(createOptionsFromBody(both, undefined, old).macAddress).toBe('92:d0:c6:0a:29:33');
  const endpointOnly = { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: '92:d0:c6:0a:29:34' } } } };
  expect(createOptionsFromBody(endpointOnly, undefined, old)).not.toHaveProperty('macAddress');
});

test('since API 1.44 the endpoint\'s MacAddress; a container-wide one moves to the main network with a warning, or is refused when it differs', () => {
  const endpointOnly = { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: '92:d0:c6:0a:29:34' } } } };
  expect(createOptionsFromBody(endpointOnly, undefined, { version: '1.44' }).macAddress).toBe('92:d0:c6:0a:29:34');

  const warnings: string[] = [];
  expect(createOptionsFromBody({ Image: 'busybox', MacAddress: '92:d0:c6:0a:29:33' }, undefined, { version: '1.47', warnings }).macAddress).toBe('92:d0:c6:0a:29:33');
  expect(warnings).toEqual(['The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.']);

  const same = { Image: 'busybox', MacAddress: '92:d0:c6:0a:29:33', HostConfig: { NetworkMode: 'default' }, NetworkingConfig: { EndpointsConfig: { default: { MacAddress: '92:d0:c6:0a:29:33' } } } };
  expect(createOptionsFromBody(same, undefined).macAddress).toBe('92:d0:c6:0a:29:33');
  const differing = { Image: 'busybox', MacAddress: '92:d0:c6:0a:29:33', NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: '92:d0:c6:0a:29:34' } } } };
  expect(() => createOptionsFromBody(differing, undefined)).toThrow(
    expect.objectContaining({ code: 'InvalidArgument', message: 'the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty' }),
  );
  const elsewhere = { Image: 'busybox', MacAddress: '92:d0:c6:0a:29:33', HostConfig: { NetworkMode: 'net-a' }, NetworkingConfig: { EndpointsConfig: { 'net-b': {} } } };
  expect(() => createOptionsFromBody(elsewhere, undefined)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('HostConfig.NetworkMode must match') }));
});

test('an endpoint\'s Links at create are its links on that network, as network connect\'s', () => {
  const body = { Image: 'busybox', HostConfig: { NetworkMode: 'usernet' }, NetworkingConfig: { EndpointsConfig: { usernet: { Aliases: ['a'], Links: ['db:database', 'cache'] } } } };
  expect(createOptionsFromBody(body, undefined)).toMatchObject({
    network: 'usernet',
    networkAliases: ['a'],
    networkLinks: [
      { name: 'db', alias: 'database' },
      { name: 'cache', alias: 'cache' },
    ],
  });
});

test('a DeviceRequests entry of the wrong shape is InvalidArgument naming the field', () => {
  expect(() => createOptionsFromBody({ Image: 'busybox', HostConfig: { DeviceRequests: [{ Capabilities: ['gpu'] }] } }, undefined)).toThrow(
    expect.objectContaining({ code: 'InvalidArgument', message: 'invalid HostConfig.DeviceRequests[0].Capabilities: expected an array of arrays of strings, got an array' }),
  );
});

test('the client sends them as docker\'s CLI does, and the server reads back what was sent', () => {
  const options: CreateOptions = {
    image: 'busybox',
    network: 'bridge',
    expose: ['8000-8001/udp'],
    volumesFrom: ['data:ro'],
    links: ['web:db'],
    usernsMode: 'host',
    pid: 'container:web',
    ipc: 'container:web',
    deviceRequests: [gpus],
    macAddress: '92:d0:c6:0a:29:33',
    networkLinks: [{ name: 'web', alias: 'db' }],
  };
  const body = createRequest(options);
  expect(body).toMatchObject({
    ExposedPorts: { '8000/udp': {}, '8001/udp': {} },
    HostConfig: { VolumesFrom: ['data:ro'], Links: ['web:db'], UsernsMode: 'host', PidMode: 'container:web', IpcMode: 'container:web', DeviceRequests: [gpus] },
    NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: '92:d0:c6:0a:29:33', Links: ['web:db'] } } },
  });
  expect(createOptionsFromBody(body as unknown as Record<string, unknown>, undefined)).toMatchObject({ ...options, expose: ['8000/udp', '8001/udp'] });
});

test('the client refuses an --expose value as the engine does, before anything is sent', () => {
  expect(() => createRequest({ image: 'busybox', expose: ['80:80'] })).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: 'invalid port format for --expose: 80:80' }));
});
