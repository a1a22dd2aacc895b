import { DOCKER_HUB_API, endpointsFor } from '../src/endpoint';

test('loopback registries are HTTPS first, plain HTTP after, like Docker', async () => {
  expect((await endpointsFor('localhost:5000', 'pull', {}))[0]).toMatchObject({ origin: 'https://localhost:5000', plainHttp: 'http://localhost:5000' });
  expect((await endpointsFor('127.0.0.1:5000', 'push', {}))[0]).toMatchObject({ origin: 'https://127.0.0.1:5000', plainHttp: 'http://127.0.0.1:5000' });
});

test('other registries are HTTPS only unless listed as insecure', async () => {
  expect((await endpointsFor('registry.example', 'pull', {}))[0]).toEqual({ registry: 'registry.example', origin: 'https://registry.example', mirror: false });
  expect((await endpointsFor('registry.example', 'pull', { insecureRegistries: ['registry.example'] }))[0]).toMatchObject({
    origin: 'https://registry.example',
    plainHttp: 'http://registry.example',
  });
});

test('docker.io pulls try mirrors first, pushes never use them', async () => {
  const pull = await endpointsFor('docker.io', 'pull', { mirrors: ['http://127.0.0.1:5001'] });
  expect(pull.map((e) => [e.origin, e.mirror])).toEqual([['http://127.0.0.1:5001', true], [DOCKER_HUB_API, false]]);
  expect((await endpointsFor('docker.io', 'push', { mirrors: ['http://127.0.0.1:5001'] })).map((e) => e.origin)).toEqual([DOCKER_HUB_API]);
});

test('a mirror that is not an http(s) URL is InvalidArgument', async () => {
  await expect(endpointsFor('docker.io', 'pull', { mirrors: ['ftp://x'] })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('docker.io itself can be pointed at another registry, mirrors still first', async () => {
  const pull = await endpointsFor('docker.io', 'pull', { mirrors: ['http://127.0.0.1:5001'], dockerHubEndpoint: 'http://127.0.0.1:5002/' });
  expect(pull.map((e) => [e.origin, e.mirror])).toEqual([['http://127.0.0.1:5001', true], ['http://127.0.0.1:5002', false]]);
  expect((await endpointsFor('docker.io', 'push', { dockerHubEndpoint: 'registry.example' })).map((e) => e.origin)).toEqual(['https://registry.example']);
});
