/**
 * `GET /system/df?type=` as moby's getDiskUsage answers it (API 1.42 on): only the lists asked
 * for are filled, the others null; an unknown type is a 400 in moby's words; before 1.42 the
 * parameter is not read.
 */
import { json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

type Usage = Record<'LayersSize' | 'Images' | 'Containers' | 'Volumes' | 'BuildCache', unknown>;

async function usage(path: string): Promise<Usage> {
  const response = await request(t.socket, 'GET', path);
  expect(response.status).toBe(200);
  return json(response) as Usage;
}

beforeAll(async () => {
  await t.daemon.engine.createVolume({ name: 'df-types-vol' });
});

test('type=volume fills Volumes alone: the other lists are null and LayersSize 0', async () => {
  const answer = await usage('/v1.47/system/df?type=volume');
  expect(answer).toEqual({ LayersSize: 0, Images: null, Containers: null, Volumes: expect.any(Array), BuildCache: null });
  expect((answer.Volumes as Array<{ Name: string }>).map((v) => v.Name)).toContain('df-types-vol');
});

test('several types fill each of their lists, and LayersSize comes with the images', async () => {
  const answer = await usage('/v1.47/system/df?type=image&type=container');
  expect(answer).toMatchObject({ Images: expect.any(Array), Containers: expect.any(Array), Volumes: null, BuildCache: null });
  expect(answer.LayersSize).toBeGreaterThan(0);
});

test('an unknown type is refused with a 400 in moby\'s words', async () => {
  const response = await request(t.socket, 'GET', '/v1.47/system/df?type=volume&type=bogus');
  expect(response.status).toBe(400);
  expect(json(response)).toEqual({ message: 'unknown object type: bogus' });
});

test('without type every list is filled', async () => {
  const answer = await usage('/v1.47/system/df');
  for (const list of ['Images', 'Containers', 'Volumes', 'BuildCache'] as const) expect(answer[list]).toEqual(expect.any(Array));
});

test('before API 1.42 type is not read', async () => {
  const answer = await usage('/v1.41/system/df?type=volume');
  for (const list of ['Images', 'Containers', 'Volumes', 'BuildCache'] as const) expect(answer[list]).toEqual(expect.any(Array));
});
