import { testEngine, type TestEngine } from './fixture';

// A container on `none` or `host` is listed on that network, with no address, as docker lists it.

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
});

afterAll(async () => {
  await t.cleanup();
});

test.each(['none', 'host'])('inspect lists a --network %s container on that network, with its ID and no address', async (mode) => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: mode, cmd: ['true'] });
  const networkId = (await t.engine.networks()).find((n) => n.Name === mode)?.Id;
  const endpoint = (await t.engine.inspect(id)).NetworkSettings.Networks[mode];
  expect(endpoint).toMatchObject({ NetworkID: networkId, IPAddress: '', Gateway: '' });
});

test('ps lists a --network none container on the none network', async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'] });
  const listed = (await t.engine.ps({ all: true })).find((c) => c.Id === id);
  expect(Object.keys(listed?.NetworkSettings.Networks ?? {})).toEqual(['none']);
});
