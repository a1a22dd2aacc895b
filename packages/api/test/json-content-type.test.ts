/**
 * The endpoints that take a JSON body refuse one declared as anything else, in dockerd's words
 * (httputils.CheckForJSON, 400): container create, exec create and start, network create,
 * volume create… A request that declares no type is taken while its body is declared empty.
 * And a create body with no container config in it is moby's ErrEmptyConfig.
 */
import { type RawResponse, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

function message(res: RawResponse): string {
  return (json(res) as { message: string }).message;
}

function post(path: string, body: string | undefined, contentType: string | undefined): Promise<RawResponse> {
  // The fixture declares JSON whenever there is a body: an empty Content-Type asks it to declare none.
  return request(t.socket, 'POST', path, body, contentType === undefined ? {} : { 'Content-Type': contentType });
}

async function containerNames(): Promise<string[]> {
  return (await t.daemon.engine.ps({ all: true })).map((c) => c.Names[0] ?? '');
}

describe('a JSON body declared as another type', () => {
  test('container create is a 400 naming the type, and makes nothing', async () => {
    const res = await post('/v1.47/containers/create?name=plain', '{"Image": "busybox"}', 'text/plain');
    expect(res.status).toBe(400);
    expect(message(res)).toBe("unsupported Content-Type header (text/plain): must be 'application/json'");
    expect(await containerNames()).not.toContain('/plain');
  });

  test('volume create, network create and exec create are refused the same way', async () => {
    const { id } = await t.daemon.engine.create({ image: 'busybox', pull: 'never', network: 'none', cmd: ['true'] });
    for (const [path, body] of [
      ['/v1.47/volumes/create', '{"Name": "plain"}'],
      ['/v1.47/networks/create', '{"Name": "plain"}'],
      [`/v1.47/containers/${id}/exec`, '{"Cmd": ["true"]}'],
      [`/v1.47/containers/${id}/update`, '{}'],
    ] as const) {
      const res = await post(path, body, 'application/x-www-form-urlencoded');
      expect([path, res.status, message(res)]).toEqual([path, 400, "unsupported Content-Type header (application/x-www-form-urlencoded): must be 'application/json'"]);
    }
    expect((await t.daemon.engine.volumes()).map((v) => v.Name)).not.toContain('plain');
  });

  test('a type Go cannot parse is malformed, with mime’s reason', async () => {
    for (const [type, reason] of [
      ['/json', 'mime: no media type'],
      ['application json', 'mime: expected slash after first token'],
      ['application/', 'mime: expected token after slash'],
      ['application/json x', 'mime: unexpected content after media subtype'],
    ] as const) {
      const res = await post('/v1.47/volumes/create', '{"Name": "malformed"}', type);
      expect([res.status, message(res)]).toEqual([400, `malformed Content-Type header (${type}): ${reason}`]);
    }
  });

  test('a body with no Content-Type at all is malformed: it declares no media type', async () => {
    const res = await post('/v1.47/volumes/create', '{"Name": "untyped"}', '');
    expect([res.status, message(res)]).toEqual([400, 'malformed Content-Type header (): mime: no media type']);
  });
});

describe('what is taken', () => {
  test('application/json with parameters, in any case', async () => {
    const res = await post('/v1.47/volumes/create', '{"Name": "charset"}', 'Application/JSON; charset=utf-8');
    expect(res.status).toBe(201);
  });

  test('an empty body declaring no type, where the route takes an empty body', async () => {
    const res = await post('/v1.47/volumes/create', '', '');
    expect(res.status).toBe(201);
  });

  test('an empty create body declaring no type gets as far as the decoder’s EOF', async () => {
    const res = await post('/v1.47/containers/create', '', '');
    expect([res.status, message(res)]).toEqual([400, 'invalid JSON: got EOF while reading request body']);
  });
});

describe('a create body without a container config', () => {
  test('null, {} or a HostConfig alone is moby’s "config cannot be empty"', async () => {
    for (const body of ['null', '{}', '{"HostConfig": {"Memory": 0}}']) {
      const res = await post('/v1.47/containers/create', body, 'application/json');
      expect([body, res.status, message(res)]).toEqual([body, 400, 'config cannot be empty in order to create a container']);
    }
  });

  test('a config field in any case is a config, as Go decodes it', async () => {
    const res = await post('/v1.47/containers/create', '{"cmd": ["true"]}', 'application/json');
    expect(res.status).toBe(400);
    expect(message(res)).not.toBe('config cannot be empty in order to create a container');
  });
});

test('a create with nothing to warn about answers Warnings as [], never null', async () => {
  const res = await post('/v1.47/containers/create', '{"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}}', 'application/json');
  expect(res.status).toBe(201);
  expect((json(res) as { Warnings: unknown }).Warnings).toEqual([]);
});
