import { PassThrough } from 'node:stream';
import { SyncReader } from '../src/conmon';

test('conmon sync messages are read one JSON line at a time', async () => {
  const pipe = new PassThrough();
  const reader = new SyncReader(pipe);
  pipe.write('{"data": 41');
  pipe.write('}\n{"data": -1, "message": "bad"}\n');
  expect(await reader.next()).toEqual({ data: 41 });
  expect(await reader.next()).toEqual({ data: -1, message: 'bad' });
});

test('a sync pipe that fails gives a failure message saying why, not silence', async () => {
  const pipe = new PassThrough();
  const reader = new SyncReader(pipe);
  pipe.destroy(new Error('cannot start conmon: fork: Resource temporarily unavailable'));
  expect(await reader.next()).toEqual({ data: -1, message: 'cannot start conmon: fork: Resource temporarily unavailable' });
  expect(await reader.next()).toBeUndefined();
});
