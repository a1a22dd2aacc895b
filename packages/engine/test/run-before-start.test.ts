/**
 * `run`'s `beforeStart`: awaited once the container exists and before its process starts, as
 * docker's CLI copies `--use-api-socket`'s credentials in between its create and its start.
 */
import { collector, testEngine, type TestEngine } from './fixture';
import { tarStream } from './tar-fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

test('a file put into the container by beforeStart is there when its process starts', async () => {
  const out = collector();
  const put = (id: string): Promise<void> => t.engine.putArchive(id, '/', tarStream({ name: 'run/secrets/note', type: 'file', mode: 0o600, data: 'put before start\n' }));
  const result = await t.engine.run({ image: 'busybox', network: 'none', cmd: ['cat', '/run/secrets/note'], stdout: out, autoRemove: true, beforeStart: put });
  expect([result.exitCode, out.text()]).toEqual([0, 'put before start\n']);
});

test('a beforeStart that fails fails the run with its error and leaves no container', async () => {
  const before = (await t.engine.ps({ all: true })).length;
  const failing = (): Promise<void> => Promise.reject(new Error('could not put it in'));
  await expect(t.engine.run({ image: 'busybox', network: 'none', cmd: ['true'], beforeStart: failing })).rejects.toThrow('could not put it in');
  expect((await t.engine.ps({ all: true })).length).toBe(before);
});
