import { json, request, useTestDaemon, type RawResponse } from './fixture';

// dockerd writes every JSON answer with a json.Encoder, whose Encode ends the document with "\n".
const t = useTestDaemon();

function expectOneDocumentLine(res: RawResponse): void {
  const text = res.body.toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  expect(text.endsWith('\n\n')).toBe(false);
  expect(text.slice(0, -1)).not.toMatch(/\n/);
}

test('a JSON reply ends with exactly one newline, counted in its Content-Length', async () => {
  for (const path of ['/version', '/containers/json', '/v1.44/containers/json?all=1']) {
    const res = await request(t.socket, 'GET', path);
    expect(res.status).toBe(200);
    expectOneDocumentLine(res);
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
  }
});

test('an error reply ends with exactly one newline, counted in its Content-Length', async () => {
  const res = await request(t.socket, 'GET', '/containers/no-such-container/json');
  expect(res.status).toBe(404);
  expect(res.body.toString('utf8')).toBe('{"message":"No such container: no-such-container"}\n');
  expect(Number(res.headers['content-length'])).toBe(res.body.length);
});

test('a wait answers one JSON document ending with a newline', async () => {
  const created = json(await request(t.socket, 'POST', '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { NetworkMode: 'none' } }))) as { Id: string };
  try {
    const res = await request(t.socket, 'POST', `/containers/${created.Id}/wait`);
    expect(res.status).toBe(200);
    expect(res.body.toString('utf8')).toBe('{"StatusCode":0}\n');
  } finally {
    await request(t.socket, 'DELETE', `/containers/${created.Id}?force=1`);
  }
});
