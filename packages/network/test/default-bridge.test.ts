import path from 'node:path';
import { NetworkManager } from '@ctr/network';
import { makeTestHost, type TestHost } from './helpers/host';

// Several roots can share a host; the default bridge is host-global, so a clash with one
// the caller chose must be refused clearly and leave nothing behind.

let a: TestHost;
let b: TestHost;

beforeAll(async () => {
  a = await makeTestHost('tdb');
  b = await makeTestHost('tdc');
  await a.manager.attach('tdb-first', {});
});

afterAll(async () => {
  await a.cleanup();
  await b.cleanup();
  expect(await a.leftovers()).toEqual([]);
  expect(await b.leftovers()).toEqual([]);
});

test('a chosen default bridge name already on the host is a Conflict, and nothing is made', async () => {
  const taken = a.options.defaultBridge?.bridgeName ?? '';
  const other = new NetworkManager({ ...b.options, defaultBridge: { bridgeName: taken, subnet: b.subnet(15) } });
  await expect(other.attach('tdc-second', {})).rejects.toMatchObject({
    code: 'Conflict',
    message: `The default bridge ${taken} already exists on the host`,
  });
  expect(await b.leftovers(false)).toEqual([]);
});

test('a chosen default subnet already on the host is a Conflict', async () => {
  const other = new NetworkManager({ ...b.options, defaultBridge: { bridgeName: `${b.prefix}-dflt`, subnet: a.subnet(15) } });
  await expect(other.attach('tdc-third', {})).rejects.toMatchObject({ code: 'Conflict' });
  expect(await b.leftovers(false)).toEqual([]);
});

test('the first root keeps working meanwhile', async () => {
  const s = await a.manager.settings('tdb-first');
  expect(s.Networks['bridge']?.IPAddress.startsWith(`${a.net(15)}.`)).toBe(true);
  expect(path.basename(s.SandboxKey)).toBe('tdb-first');
});
