/**
 * A start that fails before the container's process does — its published port is taken —
 * leaves what dockerd's SetError leaves: the error and exit code 128 in its state.
 */
import { createServer } from 'node:net';
import { allocatedRefusal } from '../../../test/support/port-refusal';
import { testEngine, type TestEngine } from './fixture';

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
}, 120_000);
afterAll(async () => {
  await t?.cleanup();
});

/** A port on 127.0.0.1 nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('a start whose published port another container holds fails, and records the error with exit code 128', async () => {
  const port = await freePort();
  const holder = await t.engine.run({ image: 'busybox', cmd: ['sleep', '300'], publish: [`127.0.0.1:${port}:80`], detach: true, pull: 'never' });
  const second = await t.engine.create({ image: 'busybox', cmd: ['sleep', '300'], publish: [`127.0.0.1:${port}:80`], pull: 'never' });
  try {
    const refusal = allocatedRefusal(second.name, '127.0.0.1', port);
    await expect(t.engine.start(second.id)).rejects.toThrow(refusal);
    const { State } = await t.engine.inspect(second.id);
    expect(State).toMatchObject({ Status: 'created', Running: false, ExitCode: 128, Error: expect.stringMatching(refusal) });
    const [listed] = await t.engine.ps({ all: true, filters: { id: [second.id] } });
    expect(listed?.Status).toBe('Created');
  } finally {
    await t.engine.remove(second.id, { force: true });
    await t.engine.remove(holder.id, { force: true });
  }
});
