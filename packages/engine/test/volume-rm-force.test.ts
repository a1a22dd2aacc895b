/** `docker volume rm -f`: moby's volume service ignores a volume that does not exist when forced. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineEvent } from '../src/events';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

async function volumeEventsSince(since: number): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const event of t.engine.events({ since, until: Date.now() / 1000 + 1, filters: { type: ['volume'] } })) out.push(event);
  return out;
}

test('removing a volume that does not exist with force succeeds and reports no destroy event', async () => {
  const since = Date.now() / 1000;
  await expect(t.engine.removeVolume('nosuchvol', { force: true })).resolves.toBeUndefined();
  expect(await volumeEventsSince(since)).toEqual([]);
});

test('removing a volume that does not exist without force is NotFound', async () => {
  await expect(t.engine.removeVolume('nosuchvol')).rejects.toMatchObject({ code: 'NotFound' });
});

test('removing a volume a container uses is refused even with force, and its data stays', async () => {
  const { id } = await t.engine.run({ image: 'busybox', pull: 'never', network: 'none', volumes: ['rm-force-used:/data'], cmd: ['sh', '-c', 'echo kept > /data/f'] });
  await t.engine.wait(id);
  await expect(t.engine.removeVolume('rm-force-used', { force: true })).rejects.toMatchObject({ code: 'Conflict' });
  expect(await readFile(join((await t.engine.inspectVolume('rm-force-used')).Mountpoint, 'f'), 'utf8')).toBe('kept\n');
  await t.engine.remove(id);
  await t.engine.removeVolume('rm-force-used');
});
