import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TAR_END, encodeTarHeader, tarPadding } from '@ctr/image';
import { type RawResponse, docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

async function containersOnDisk(): Promise<string[]> {
  return readdir(join(t.root, 'engine', 'containers')).catch(() => []);
}

function message(res: RawResponse): string {
  return (json(res) as { message: string }).message;
}

test('malformed JSON in a create is a 400 "invalid JSON" and creates nothing', async () => {
  const res = await request(t.socket, 'POST', '/v1.47/containers/create', '{"Image": "busybox", ');
  expect(res.status).toBe(400);
  expect(message(res)).toMatch(/^invalid JSON: /);
  expect(await containersOnDisk()).toEqual([]);
});

test('malformed JSON is said in the words of dockerd’s JSON decoder', async () => {
  const said = async (body: string): Promise<string> => message(await request(t.socket, 'POST', '/v1.47/containers/create', body));
  expect(await said('{"Image": "busybox", ')).toBe('invalid JSON: unexpected EOF');
  expect(await said('{"Image" "busybox"}')).toBe("invalid JSON: invalid character '\"' after object key");
  expect(await said('{"Image": "busybox"} x')).toBe('unexpected content after JSON');
  expect(await containersOnDisk()).toEqual([]);
});

test('a body nested deeper than Go’s decoder goes is a 400 in its words, not a stack overflow', async () => {
  const res = await request(t.socket, 'POST', '/v1.47/containers/create', `{"Image": ${'['.repeat(20000)}`);
  expect(res.status).toBe(400);
  expect(message(res)).toBe("invalid JSON: invalid character '[' exceeded max depth");
  expect(await containersOnDisk()).toEqual([]);
});

test('a body that is not an object is a 400', async () => {
  const res = await request(t.socket, 'POST', '/v1.47/containers/create', '["busybox"]');
  expect(res.status).toBe(400);
  expect(message(res)).toBe('invalid JSON: expected an object, got an array');
});

test('a field of the wrong type is a 400 naming the field', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ Image: 'busybox', Cmd: 5 }, /^invalid Cmd: expected an array of strings, got number 5$/],
    [{ Image: 'busybox', Env: ['A=1', 2] }, /^invalid Env: expected an array of strings/],
    [{ Image: 'busybox', HostConfig: { Memory: 'lots' } }, /^invalid HostConfig\.Memory: expected a number/],
    [{ Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': 'x' } } }, /^invalid HostConfig\.PortBindings\.80\/tcp: expected an array of objects/],
    [{ Image: 'busybox', Tty: 'yes' }, /^invalid Tty: expected true or false/],
    [{ Image: 42 }, /^invalid Image: expected a string/],
    [{ Cmd: ['true'] }, /Image is required/],
  ];
  for (const [body, expected] of cases) {
    const res = await request(t.socket, 'POST', '/containers/create', JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(message(res)).toMatch(expected);
  }
  expect(await containersOnDisk()).toEqual([]);
});

test('an invalid container name is a 400 and an unknown image a 404, with nothing left behind', async () => {
  const badName = await request(t.socket, 'POST', '/containers/create?name=..%2Fescape', JSON.stringify({ Image: 'busybox' }));
  expect(badName.status).toBe(400);
  expect(message(badName)).toMatch(/Invalid container name/);
  const noImage = await request(t.socket, 'POST', '/containers/create', JSON.stringify({ Image: 'api-no-such-image:1' }));
  expect(noImage.status).toBe(404);
  expect(message(noImage)).toMatch(/No such image/);
  expect(await containersOnDisk()).toEqual([]);
});

test('an absurdly large body is refused with a 413 its sender reads, nothing kept of it', async () => {
  const huge = Buffer.alloc(6 * 1024 * 1024, 0x20);
  const res = await request(t.socket, 'POST', '/containers/create', huge);
  expect(res.status).toBe(413);
  expect(message(res)).toMatch(/request body too large/);
  expect(await containersOnDisk()).toEqual([]);
});

test('bad query parameters are 400s', async () => {
  expect((await request(t.socket, 'GET', '/containers/json?filters=%7Bnot-json')).status).toBe(400);
  expect((await request(t.socket, 'GET', '/containers/json?filters=%7B%22status%22%3A5%7D')).status).toBe(400);
  expect((await request(t.socket, 'GET', '/containers/json?limit=many')).status).toBe(400);
  expect((await request(t.socket, 'POST', '/build?buildargs=%5B1%5D')).status).toBe(400);
  const ulimits = await request(t.socket, 'POST', '/build?ulimits=%5Bnot-json');
  expect(ulimits.status).toBe(400);
  expect(message(ulimits)).toMatch(/^invalid ulimits: /);
  const ulimitFields = await request(t.socket, 'POST', `/build?ulimits=${encodeURIComponent('[{"Name":"nofile","Soft":"many"}]')}`);
  expect(message(ulimitFields)).toMatch(/^invalid build parameter Ulimits\[0\]\.Soft: expected a number/);
  const wait = await request(t.socket, 'POST', '/containers/nope/wait?condition=sometime');
  expect(wait.status).toBe(400);
});

test('a tar with ../ entries PUT into a container is a 400 and writes nothing outside it', async () => {
  const created = json(await request(t.socket, 'POST', '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { NetworkMode: 'none' } }))) as { Id: string };
  const outside = await mkdtemp(join(tmpdir(), 'ctr-api-outside-'));
  try {
    const body = Buffer.from('pwned');
    const tar = Buffer.concat([
      encodeTarHeader({ name: `../../../../../../../../..${outside}/evil`, type: 'file', mode: 0o644, size: body.length, mtime: 1_700_000_000 }),
      body,
      tarPadding(body.length),
      TAR_END,
    ]);
    const res = await request(t.socket, 'PUT', `/containers/${created.Id}/archive?path=/tmp`, tar, { 'Content-Type': 'application/x-tar' });
    expect(res.status).toBe(400);
    expect(message(res)).toMatch(/\.\./);
    await expect(stat(join(outside, 'evil'))).rejects.toMatchObject({ code: 'ENOENT' });
  } finally {
    await rm(outside, { recursive: true, force: true });
    await request(t.socket, 'DELETE', `/containers/${created.Id}?force=1`);
  }
});

test('a hijack request to an endpoint that cannot be hijacked is refused on the socket', async () => {
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.createConnection(t.socket);
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write('POST /containers/create HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
  });
  expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  expect(answer).toMatch(/cannot be hijacked/);
});

test('hundreds of malformed requests and abandoned streams later, docker run still works', async () => {
  const garbage = ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'POST /containers/create HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n{', '\x00\x01\x02\x03'];
  const raw = (text: string): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.createConnection(t.socket, () => socket.end(text));
      socket.on('data', () => undefined);
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  const jobs: Array<Promise<unknown>> = [];
  for (let i = 0; i < 300; i++) {
    if (i % 3 === 0) jobs.push(raw(garbage[i % garbage.length] as string));
    else if (i % 3 === 1) jobs.push(request(t.socket, 'POST', '/containers/create', `{"Image": ${i}`));
    else jobs.push(request(t.socket, 'GET', `/containers/no-such-${i}/json`));
    if (jobs.length >= 50) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
  // A follower that goes away mid-stream.
  const follower = await docker(t.env, ['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.1; done']);
  const logs = await docker(t.env, ['logs', '-f', follower.stdout.trim()], { timeoutMs: 800 });
  expect(logs.stdout).toMatch(/tick/);
  await docker(t.env, ['rm', '-f', follower.stdout.trim()]);

  const run = await docker(t.env, ['run', '--rm', '--network', 'none', 'busybox', 'echo', 'still serving']);
  expect(run).toEqual({ code: 0, stdout: 'still serving\n', stderr: '' });
  expect(await containersOnDisk()).toEqual([]);
});
