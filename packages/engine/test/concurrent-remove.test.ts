import { readFileSync } from 'node:fs';
import { isNotFound } from '@ctr/errors';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t.cleanup();
});

test('two removes of one container at once end with it gone, each either done or NotFound', async () => {
  for (let round = 0; round < 5; round++) {
    const { id } = await t.engine.run({ image: 'busybox', cmd: ['true'], network: 'none' });
    const results = await Promise.allSettled([t.engine.remove(id, { force: true }), t.engine.remove(id, { force: true })]);
    for (const result of results) {
      if (result.status === 'rejected') expect(isNotFound(result.reason)).toBe(true);
    }
    await expect(t.engine.inspect(id)).rejects.toMatchObject({ code: 'NotFound' });
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(id);
  }
});
