/**
 * JSON request bodies read as dockerd reads them. httputils.ReadJSON decodes one value with a
 * json.Decoder and refuses only when its More() is true: what follows the value is refused unless
 * it is nothing, `}` or `]`. A body declared empty (Content-Length 0, or none) is no fields, a
 * blank one EOF. The create, commit and /auth handlers decode their bodies their own ways.
 */
import { type RawResponse, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

function message(res: RawResponse): string {
  return (json(res) as { message: string }).message;
}

async function volumeNames(): Promise<string[]> {
  return (await t.daemon.engine.volumes()).map((v) => v.Name);
}

describe('a ReadJSON route (volume create)', () => {
  test('takes a value followed by `}` or `]`, which json.Decoder.More leaves unread', async () => {
    expect((await request(t.socket, 'POST', '/v1.47/volumes/create', '{"Name": "brace"}}')).status).toBe(201);
    expect((await request(t.socket, 'POST', '/v1.47/volumes/create', '{"Name": "bracket"} ]')).status).toBe(201);
    expect(await volumeNames()).toEqual(expect.arrayContaining(['brace', 'bracket']));
  });

  test('refuses anything else after the value with a 400, making nothing', async () => {
    for (const trailing of [' x', ' {}', ',', '"']) {
      const res = await request(t.socket, 'POST', '/v1.47/volumes/create', `{"Name": "trailing"}${trailing}`);
      expect(res.status).toBe(400);
      expect(message(res)).toBe('unexpected content after JSON');
    }
    expect(await volumeNames()).not.toContain('trailing');
  });

  test('takes a body declared empty (Content-Length 0) as no fields', async () => {
    const res = await request(t.socket, 'POST', '/v1.47/volumes/create', '');
    expect(res.status).toBe(201);
    expect((json(res) as { Name: string }).Name).toMatch(/^[0-9a-f]{64}$/);
  });

  test('refuses a blank body, or an empty chunked one, as the decoder’s EOF', async () => {
    const blank = await request(t.socket, 'POST', '/v1.47/volumes/create', ' \n\t');
    expect(blank.status).toBe(400);
    expect(message(blank)).toBe('invalid JSON: got EOF while reading request body');
    const chunked = await request(t.socket, 'POST', '/v1.47/volumes/create', '', { 'Transfer-Encoding': 'chunked' });
    expect(chunked.status).toBe(400);
    expect(message(chunked)).toBe('invalid JSON: got EOF while reading request body');
  });

  test('counts only Go’s JSON spaces as blank: a form feed is a character after the value', async () => {
    const res = await request(t.socket, 'POST', '/v1.47/volumes/create', '{"Name": "formfeed"}\f');
    expect(res.status).toBe(400);
    expect(message(res)).toBe('unexpected content after JSON');
  });
});

describe('container create', () => {
  test('takes a config followed by `}` or `]` as ReadJSON does', async () => {
    for (const [name, trailing] of [['create-brace', '}'], ['create-bracket', ' ]']] as const) {
      const res = await request(t.socket, 'POST', `/v1.47/containers/create?name=${name}`, `{"Image": "busybox", "Cmd": ["true"]}${trailing}`);
      expect(res.status).toBe(201);
    }
    expect((await t.daemon.engine.ps({ all: true })).map((c) => c.Names[0])).toEqual(expect.arrayContaining(['/create-brace', '/create-bracket']));
  });

  test('refuses an empty body too: its decoder reads every body, to EOF', async () => {
    for (const body of ['', '  ']) {
      const res = await request(t.socket, 'POST', '/v1.47/containers/create', body);
      expect(res.status).toBe(400);
      expect(message(res)).toBe('invalid JSON: got EOF while reading request body');
    }
  });
});

describe('commit', () => {
  test('takes an empty or blank body as no config, and refuses content after one', async () => {
    const { id } = await t.daemon.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'] });
    for (const body of ['', ' \n']) {
      expect((await request(t.socket, 'POST', `/v1.47/commit?container=${id}`, body)).status).toBe(201);
    }
    const trailing = await request(t.socket, 'POST', `/v1.47/commit?container=${id}`, '{"Cmd": ["sh"]} x');
    expect(trailing.status).toBe(400);
    expect(message(trailing)).toBe('unexpected content after JSON');
  });
});

describe('POST /auth', () => {
  test('says a body it cannot decode is a bad X-Registry-Auth header, as DecodeAuthConfigBody does', async () => {
    const empty = await request(t.socket, 'POST', '/v1.47/auth', '');
    expect(empty.status).toBe(400);
    expect(message(empty)).toBe('invalid X-Registry-Auth header: EOF');
    const cut = await request(t.socket, 'POST', '/v1.47/auth', '{"username": ');
    expect(cut.status).toBe(400);
    expect(message(cut)).toBe('invalid X-Registry-Auth header: unexpected EOF');
  });
});
