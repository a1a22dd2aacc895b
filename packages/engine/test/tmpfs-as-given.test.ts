import { testEngine, type TestEngine } from './fixture';

// HostConfig.Tmpfs as dockerd keeps it: each target's options exactly as the client gave them
// (`docker run --tmpfs /x:rw,size=1m` shows "rw,size=1m"), whatever the mount made of them.

let t: TestEngine;
beforeAll(async () => {
  t = await testEngine();
});
afterAll(async () => {
  await t?.cleanup();
});

test("inspect echoes each --tmpfs's options in the order given", async () => {
  const { id } = await t.engine.create({ image: 'busybox', pull: 'never', network: 'none', tmpfs: ['/x:rw,size=1m', '/y:noexec,mode=1777,size=2m', '/z'] });
  expect((await t.engine.inspect(id)).HostConfig.Tmpfs).toEqual({ '/x': 'rw,size=1m', '/y': 'noexec,mode=1777,size=2m', '/z': '' });
});
