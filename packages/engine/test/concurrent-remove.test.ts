import { readFileSync } from 'node:fs';
import { isConflict, isNotFound } from '@ctr/errors';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t.cleanup();
});

test('two removes of one container at once end with it gone, each done, NotFound, or refused as already in progress', async () => {
  for (let round = 0; round < 5; round++) {
    const { id } = await t.engine.run({ image: 'busybox', cmd: ['true'], network: 'none' });
    const results = await Promise.allSettled([t.engine.remove(id, { force: true }), t.engine.remove(id, { force: true })]);
    for (const result of results) {
      if (result.status === 'rejected' && !isNotFound(result.reason)) {
        expect(isConflict(result.reason)).toBe(true);
        expect((result.reason as Error).message).toBe(`removal of container ${id} is already in progress`);
      }
    }
    await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(id);
  }
});

test('two removes of one container at once report one destroy, as dockerd does', async () => {
  const since = Date.now() / 1000;
  const { id } = await t.engine.run({ image: 'busybox', cmd: ['true'], network: 'none' });
  await Promise.allSettled([t.engine.remove(id, { force: true }), t.engine.remove(id, { force: true })]);
  const actions: string[] = [];
  for await (const event of t.engine.events({ since, until: Date.now() / 1000 + 1, filters: { container: [id] } })) actions.push(event.Action);
  expect(actions.filter((action) => action === 'destroy')).toEqual(['destroy']);
});
