/** RemoteEngine's `run` awaits `beforeStart` between its create and its start, as the engine's does. */
import { PassThrough, Readable } from 'node:stream';
import { RemoteEngine } from '@ctr/api';
import { tarDataEntry, TAR_END } from '@ctr/image';
import { useTestDaemon } from './fixture';

const t = useTestDaemon();

test('a file put into the container by beforeStart is there when its process starts', async () => {
  const engine = new RemoteEngine({ host: `unix://${t.socket}` });
  const chunks: Buffer[] = [];
  const stdout = new PassThrough();
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const put = (id: string): Promise<void> => engine.putArchive(id, '/', Readable.from([...tarDataEntry({ name: 'run/secrets/note', mode: 0o600 }, Buffer.from('put before start\n')), TAR_END]));
  const result = await engine.run({ image: 'busybox', network: 'none', cmd: ['cat', '/run/secrets/note'], stdout, autoRemove: true, beforeStart: put });
  expect([result.exitCode, Buffer.concat(chunks).toString()]).toEqual([0, 'put before start\n']);
});

test('a beforeStart that fails fails the run with its error and leaves no container', async () => {
  const engine = new RemoteEngine({ host: `unix://${t.socket}` });
  const before = (await t.daemon.engine.ps({ all: true })).length;
  const failing = (): Promise<void> => Promise.reject(new Error('could not put it in'));
  await expect(engine.run({ image: 'busybox', network: 'none', cmd: ['true'], beforeStart: failing })).rejects.toThrow('could not put it in');
  expect((await t.daemon.engine.ps({ all: true })).length).toBe(before);
});
