/**
 * The JSON array bodies of the plugin routes: `set`'s `KEY=VALUE` strings, read as dockerd's
 * ReadJSON reads them (a body declared other than JSON refused before anything is looked up),
 * and a pull's granted privileges. A body that is not the array is a 400, and nothing is done.
 */
import { type RawResponse, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

function message(res: RawResponse): string {
  return (json(res) as { message: string }).message;
}

describe('plugin set', () => {
  test('a body declared as another type than JSON is a 400 in dockerd’s words, before the plugin is looked up', async () => {
    const res = await request(t.socket, 'POST', '/v1.47/plugins/no-such-plugin/set', '["DEBUG=1"]', { 'Content-Type': 'text/plain' });
    expect([res.status, message(res)]).toEqual([400, "unsupported Content-Type header (text/plain): must be 'application/json'"]);
  });

  test('a JSON body that is not an array of strings is a 400', async () => {
    const res = await request(t.socket, 'POST', '/v1.47/plugins/no-such-plugin/set', '{"DEBUG": "1"}');
    expect([res.status, message(res)]).toEqual([400, 'invalid JSON: expected a JSON array of KEY=VALUE strings']);
  });
});

describe('plugin pull', () => {
  test('privileges that are not an array of {Name, Value} are a 400, before any registry is asked', async () => {
    const res = await request(t.socket, 'POST', '/v1.47/plugins/pull?remote=127.0.0.1:1/nothing', '[{"Value": ["/dev/fuse"]}]');
    expect([res.status, message(res)]).toEqual([400, 'failed to parse privileges: expected a JSON array of {Name, Description, Value}']);
  });
});
