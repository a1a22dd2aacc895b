import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { docker, request } from '../../api/test/fixture';
import { ctrOn, localCtr, type LocalCtr } from './local-ctr';
import { cleanEnv, ctr as runCtr, startTestDaemon, type TestDaemon } from './remote-fixture';

/**
 * A volume's fields come in the order of docker's api/types/volume.Volume (CreatedAt, Driver,
 * Labels, Mountpoint, Name, Options, Scope), the order dockerd sends them in and the docker CLI
 * prints them in: from the API, from `ctr volume inspect` with and without a daemon, and for
 * volumes whose record was written in ctr's former order (Name first).
 */
const DOCKER_ORDER = ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope'];

let daemon: TestDaemon;
let local: LocalCtr;

beforeAll(async () => {
  [daemon, local] = await Promise.all([startTestDaemon(), localCtr('volume-order')]);
  expect((await docker(daemon.env, ['volume', 'create', '--label', 'b=2', '--label', 'a=1', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'ordered'])).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await local?.cleanup();
  await daemon?.cleanup();
});

/** The top-level keys of each object in a JSON array, in the order the text has them. */
const keyOrder = (json: string): string[][] => (JSON.parse(json) as object[]).map((item) => Object.keys(item));

test('GET /volumes/NAME sends the fields in docker\'s order', async () => {
  const response = await request(daemon.socket, 'GET', '/volumes/ordered');
  expect(response.status).toBe(200);
  expect(Object.keys(JSON.parse(response.body.toString('utf8')) as object)).toEqual(DOCKER_ORDER);
});

test('GET /volumes lists each volume with its fields in docker\'s order', async () => {
  const response = await request(daemon.socket, 'GET', '/volumes');
  const { Volumes } = JSON.parse(response.body.toString('utf8')) as { Volumes: object[] };
  expect(Volumes.map((volume) => Object.keys(volume))).toEqual([DOCKER_ORDER]);
});

test('ctr volume inspect through ctrd prints, byte for byte, what docker volume inspect prints', async () => {
  const theirs = await docker(daemon.env, ['volume', 'inspect', 'ordered']);
  const mine = await runCtr(['-H', `unix://${daemon.socket}`, 'volume', 'inspect', 'ordered'], { env: cleanEnv() });
  expect(theirs.code).toBe(0);
  expect(keyOrder(theirs.stdout)).toEqual([DOCKER_ORDER]);
  expect(mine).toMatchObject({ code: 0, stdout: theirs.stdout, stderr: '' });
});

test('ctr volume inspect without a daemon, on the same root, prints what docker volume inspect prints', async () => {
  const theirs = await docker(daemon.env, ['volume', 'inspect', 'ordered']);
  const mine = await ctrOn(daemon.root, daemon.runRoot).run('volume', 'inspect', 'ordered');
  expect(mine).toMatchObject({ code: 0, stdout: theirs.stdout });
});

test('a volume recorded with Name first (as ctr wrote records before) is inspected in docker\'s order', async () => {
  expect((await local.run('volume', 'create', 'old-record')).code).toBe(0);
  const record = join(local.root, 'volumes', 'old-record', 'meta.json');
  const { Name, ...rest } = JSON.parse(await fs.readFile(record, 'utf8')) as Record<string, unknown>;
  await fs.writeFile(record, JSON.stringify({ Name, ...rest }));
  const inspected = await local.run('volume', 'inspect', 'old-record');
  expect(inspected.code).toBe(0);
  expect(keyOrder(inspected.stdout)).toEqual([DOCKER_ORDER]);
  expect((await local.run('volume', 'inspect', '--format', 'json', 'old-record')).stdout).toMatch(/^\[\{"CreatedAt":"[^"]+","Driver":"local","Labels":\{\},"Mountpoint":"[^"]+","Name":"old-record","Options":\{\},"Scope":"local"\}\]\n$/);
});

test("a volume's CreatedAt is given in the reader's local zone, as docker's local driver gives it", async () => {
  expect((await local.run('volume', 'create', 'zoned')).code).toBe(0);
  const createdAt = async (zone: string): Promise<string> => {
    const inspected = await local.runWith({ env: { ...process.env, TZ: zone } }, 'volume', 'inspect', '--format', '{{.CreatedAt}}', 'zoned');
    expect(inspected).toMatchObject({ code: 0, stderr: '' });
    return inspected.stdout.trim();
  };
  const utc = await createdAt('UTC');
  const kolkata = await createdAt('Asia/Kolkata');
  expect(utc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(kolkata).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30$/);
  expect(Date.parse(kolkata)).toBe(Date.parse(utc));
});
