/**
 * `docker build - < Dockerfile` and `--rm` / `--force-rm` with the real docker CLI (legacy
 * builder) against ctrd, and POST /build with a Dockerfile for a body.
 */
import { docker, request, useTestDaemon, type Run } from './fixture';

const t = useTestDaemon();

/** `docker build --network none <args> -` with `dockerfile` on stdin. */
const buildStdin = (dockerfile: string, ...args: string[]): Promise<Run> => docker(t.env, ['build', '--network', 'none', ...args, '-'], { input: dockerfile });

/** `docker ps -a`: `COMMAND STATUS` of each container, the status without its age. */
async function containers(): Promise<string[]> {
  const listed = await docker(t.env, ['ps', '-a', '--no-trunc', '--format', '{{.Command}} {{.Status}}']);
  return listed.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/ (?:Less than a second|About a minute|\d+ \w+) ago$/, ''))
    .sort();
}

afterEach(async () => {
  const ids = (await docker(t.env, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await docker(t.env, ['rm', '-f', ...ids]);
});

test('docker build - < Dockerfile builds it with an empty context', async () => {
  const built = await buildStdin('FROM busybox\nRUN echo hello > /hello\n', '-t', 'stdin-built');
  expect(built.code).toBe(0);
  expect((await docker(t.env, ['run', '--rm', '--network', 'none', 'stdin-built', 'cat', '/hello'])).stdout).toBe('hello\n');
});

test('docker build - < Dockerfile: a COPY fails for want of the file, in the classic builder\'s words', async () => {
  const built = await buildStdin('FROM busybox\nRUN echo ran\nCOPY app.sh /\n');
  expect(built.code).toBe(1);
  expect(built.stdout).toContain('\nran\n');
  expect(built.stderr).toContain('COPY failed: file not found in build context or excluded by .dockerignore: stat app.sh: file does not exist');
});

test('a failed step leaves its container for docker ps -a; --force-rm leaves none', async () => {
  expect((await buildStdin('FROM busybox\nRUN exit 3\n')).code).toBe(3);
  expect(await containers()).toEqual([`"/bin/sh -c 'exit 3'" Exited (3)`]);
  await docker(t.env, ['container', 'prune', '-f']);
  const forced = await buildStdin('FROM busybox\nRUN exit 3\n', '--force-rm');
  expect(forced.code).toBe(3);
  expect(forced.stdout).toMatch(/ ---> Removed intermediate container [0-9a-f]{12}\n/);
  expect(await containers()).toEqual([]);
});

test('docker build --rm=false leaves every step\'s container, exited', async () => {
  const built = await buildStdin('FROM busybox\nRUN echo one > /one\nRUN echo two > /two\n', '--rm=false', '--no-cache');
  expect(built.code).toBe(0);
  expect(built.stdout).not.toContain('Removed intermediate container');
  expect(await containers()).toEqual([`"/bin/sh -c 'echo one > /one'" Exited (0)`, `"/bin/sh -c 'echo two > /two'" Exited (0)`]);
});

test('POST /build with a Dockerfile for a body builds it: ctrd tells it from an archive as docker\'s CLI does (dockerd itself wants a tar)', async () => {
  const response = await request(t.socket, 'POST', '/build?t=bare-body&networkmode=none', 'FROM busybox\nRUN echo bare > /bare\n', { 'Content-Type': 'application/x-tar' });
  expect(response.status).toBe(200);
  expect(response.body.toString('utf8')).toContain('"stream":"Successfully tagged bare-body:latest\\n"');
  expect((await docker(t.env, ['run', '--rm', '--network', 'none', 'bare-body', 'cat', '/bare'])).stdout).toBe('bare\n');
});
