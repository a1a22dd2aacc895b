/**
 * A run's stdin as docker treats it: read only once the container exists (docker attaches
 * after its create), and closed at the end of the attached input only for a StdinOnce
 * container, which the engine records as docker's CLI sets it.
 */
import { PassThrough } from 'node:stream';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;

beforeAll(async () => {
  t = await testEngine();
});

afterAll(async () => {
  await t?.cleanup();
});

test('a run that fails before its container exists reads none of its input: a caller trying again still has it', async () => {
  const stdin = new PassThrough();
  stdin.write('typed ahead\n');
  const run = t.engine.run({ image: 'busybox', network: 'ctr-no-such-network', pull: 'never', tty: true, openStdin: true, stdin, stdout: new PassThrough() });
  await expect(run).rejects.toMatchObject({ code: 'NotFound' });
  expect(String(stdin.read())).toBe('typed ahead\n');
});

test.each([
  ['an open stdin, attached by default', { openStdin: true }, true],
  ['an open stdin not attached (run -di)', { openStdin: true, attach: { stdin: false, stdout: false, stderr: false } }, false],
  ['an open stdin, StdinOnce turned off', { openStdin: true, stdinOnce: false }, false],
  ['no open stdin', {}, false],
])('inspect shows Config.StdinOnce as created: %s', async (_what, options, stdinOnce) => {
  const { id } = await t.engine.create({ image: 'busybox', network: 'none', pull: 'never', ...options });
  expect((await t.engine.inspect(id)).Config.StdinOnce).toBe(stdinOnce);
  await t.engine.remove(id);
});
