import * as http from 'node:http';
import { docker, startTestDaemon, type TestDaemon } from './fixture';

// dockerd's JSON as its Go writes it, and HostConfig.Tmpfs options reaching the mount.

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon();
});
afterAll(async () => {
  await t?.cleanup();
});

/** The raw body of a request to the daemon. */
function raw(method: string, path: string, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: t.socket, method, path, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve(text)).on('error', reject);
    });
    req.on('error', reject).end(body);
  });
}

test('an answer escapes U+2028 as Go always does, and no HTML, as WriteJSON does', async () => {
  const created = JSON.parse(await raw('POST', '/containers/create?name=fid-esc', JSON.stringify({ Image: 'busybox', Cmd: ['sh', '-c', 'echo a > /f \u2028'], HostConfig: { NetworkMode: 'none' } }))) as { Id: string };
  const body = await raw('GET', `/containers/${created.Id}/json`);
  expect(body).toContain('"Cmd":["sh","-c","echo a > /f \\u2028"]');
  // docker inspect prints the daemon's bytes, indented.
  expect((await docker(t.env, ['inspect', '--format', 'json', 'fid-esc'])).stdout).toContain('"Cmd":["sh","-c","echo a > /f \\u2028"]');
});

test("a build's progress messages are json.Marshal's: HTML escaped", async () => {
  const body = await raw('POST', '/build?q=0&networkmode=none&rm=1', 'FROM busybox\nRUN echo "a > b"\n');
  expect(body).toContain('{"stream":"Step 2/2 : RUN echo \\"a \\u003e b\\"\\n"}');
  expect(body).toContain('{"stream":" ---\\u003e Running in ');
});

test('--tmpfs options reach the mount: size, mode, noexec, uid and gid', async () => {
  const result = await docker(t.env, ['run', '--rm', '--network', 'none', '--tmpfs', '/run:size=64m,mode=1770,noexec', '--tmpfs', '/t2:uid=1000,gid=100,exec', 'busybox', 'grep', '-E', ' /run | /t2 ', '/proc/mounts']);
  expect(result.stdout.split('\n').filter(Boolean)).toEqual([
    'tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k,mode=1770 0 0',
    'tmpfs /t2 tmpfs rw,nosuid,nodev,relatime,uid=1000,gid=100 0 0',
  ]);
});

test("HostConfig.Tmpfs keeps every option given (docker-compose's tmpfs: with options)", async () => {
  await raw('POST', '/containers/create?name=fid-tmpfs', JSON.stringify({ Image: 'busybox', HostConfig: { NetworkMode: 'none', Tmpfs: { '/run': 'size=64m,mode=1777,noexec,uid=1000' } } }));
  expect((await docker(t.env, ['inspect', '--format', '{{json .HostConfig.Tmpfs}}', 'fid-tmpfs'])).stdout).toBe('{"/run":"size=64m,mode=1777,noexec,uid=1000"}\n');
});

test("an option tmpfs does not take is refused in dockerd's words", async () => {
  const result = await docker(t.env, ['run', '--rm', '--network', 'none', '--tmpfs', '/run:size=64m,bogus', 'busybox', 'true']);
  expect(result).toMatchObject({ code: 125 });
  expect(result.stderr).toContain('Error response from daemon: Invalid tmpfs option ["bogus"]');
});
