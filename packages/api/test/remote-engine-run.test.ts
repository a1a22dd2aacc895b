import { RemoteEngine } from '@ctr/api';
import { useTestDaemon } from './fixture';

const t = useTestDaemon();

test("a remote run whose onCreated throws leaves no container behind and fails with the caller's error", async () => {
  const engine = new RemoteEngine({ host: `unix://${t.socket}` });
  const before = (await t.daemon.engine.ps({ all: true })).length;
  const failing = (): void => {
    throw new Error('the caller could not take it');
  };
  await expect(engine.run({ image: 'busybox', name: 'refused-remote', cmd: ['true'], network: 'none', autoRemove: true, onCreated: failing })).rejects.toThrow(
    'the caller could not take it',
  );
  expect((await t.daemon.engine.ps({ all: true })).length).toBe(before);
});
