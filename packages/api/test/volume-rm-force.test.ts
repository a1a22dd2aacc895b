/** `DELETE /volumes/{name}?force=1` of a volume that does not exist: moby's volume service ignores it when forced. */
import { request, useTestDaemon } from './fixture';

const t = useTestDaemon();

test('DELETE /volumes/{name} with force of a volume that does not exist answers 204', async () => {
  expect((await request(t.socket, 'DELETE', '/volumes/nosuchvol?force=1')).status).toBe(204);
});

test('DELETE /volumes/{name} without force of a volume that does not exist answers 404', async () => {
  expect((await request(t.socket, 'DELETE', '/volumes/nosuchvol')).status).toBe(404);
});
