import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
let context: string;
beforeAll(async () => {
  context = await mkdtemp(join(tmpdir(), 'ctr-api-filters-'));
  // An image without a tag: a build of a label on busybox (no RUN, so no container).
  await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nLABEL api-filters=dangling\n');
});
afterAll(async () => {
  await rm(context, { recursive: true, force: true });
});

const filters = (value: Record<string, string[]>): string => encodeURIComponent(JSON.stringify(value));

test('docker images --filter dangling=true lists only the image without a tag, through ctrd', async () => {
  const built = await docker(t.env, ['build', '-q', context]);
  expect(built.code).toBe(0);
  const id = built.stdout.trim().replace('sha256:', '').slice(0, 12);
  expect(await docker(t.env, ['images', '--filter', 'dangling=true', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])).toMatchObject({ code: 0, stdout: `${id} <none>:<none>\n` });
  expect((await docker(t.env, ['images', '-f', 'dangling=false', '--format', '{{.Repository}}'])).stdout).toBe('busybox\n');
});

test('docker images with an unknown filter fails with dockerd\'s words and status 1', async () => {
  expect(await docker(t.env, ['images', '--filter', 'foo=bar'])).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter 'foo'\n" });
});

test('docker volume ls -f dangling=true lists the volume no container uses', async () => {
  expect((await docker(t.env, ['volume', 'create', 'api-free'])).code).toBe(0);
  expect((await docker(t.env, ['create', '--pull', 'never', '--network', 'none', '--name', 'api-vol-user', '-v', 'api-used:/data', 'busybox'])).code).toBe(0);
  try {
    expect((await docker(t.env, ['volume', 'ls', '-f', 'dangling=true', '--format', '{{.Name}}'])).stdout).toBe('api-free\n');
    expect((await docker(t.env, ['volume', 'ls', '-f', 'dangling=false', '--format', '{{.Name}}'])).stdout).toBe('api-used\n');
  } finally {
    await docker(t.env, ['rm', 'api-vol-user']);
    await docker(t.env, ['volume', 'rm', 'api-free', 'api-used']);
  }
});

test('docker image prune -f --filter until= keeps dangling images made after it and removes those made before', async () => {
  const built = (await docker(t.env, ['build', '-q', context])).stdout.trim();
  expect((await docker(t.env, ['image', 'prune', '-f', '--filter', 'until=1h'])).stdout).toBe('Total reclaimed space: 0B\n');
  const later = String(Math.floor(Date.now() / 1000) + 60);
  const pruned = await docker(t.env, ['image', 'prune', '-f', '--filter', `until=${later}`]);
  expect(pruned.code).toBe(0);
  expect(pruned.stdout).toContain(`deleted: ${built}`);
  expect((await docker(t.env, ['images', '-q', '--filter', 'dangling=true'])).stdout).toBe('');
});

test('docker container prune --filter label= removes only the labelled stopped container', async () => {
  await docker(t.env, ['create', '--pull', 'never', '--network', 'none', '--name', 'api-prune-me', '--label', 'sweep=1', 'busybox']);
  await docker(t.env, ['create', '--pull', 'never', '--network', 'none', '--name', 'api-keep-me', 'busybox']);
  try {
    const pruned = await docker(t.env, ['container', 'prune', '-f', '--filter', 'label=sweep=1']);
    expect(pruned.code).toBe(0);
    expect((await docker(t.env, ['ps', '-a', '--format', '{{.Names}}'])).stdout).toBe('api-keep-me\n');
  } finally {
    await docker(t.env, ['rm', '-f', 'api-prune-me', 'api-keep-me']);
  }
});

test('list and prune endpoints refuse bad filters with a 400 in dockerd\'s words', async () => {
  const cases: Array<[method: string, path: string, message: string]> = [
    ['GET', `/images/json?filters=${filters({ foo: ['1'] })}`, "invalid filter 'foo'"],
    ['GET', `/volumes?filters=${filters({ dangling: ['maybe'] })}`, "invalid filter 'dangling=[maybe]'"],
    ['GET', `/networks?filters=${filters({ type: ['bogus'] })}`, "invalid filter: 'type'='bogus'"],
    ['POST', `/containers/prune?filters=${filters({ until: ['soon'] })}`, 'failed to parse value as time or duration: "soon"'],
    ['POST', `/networks/prune?filters=${filters({ until: ['1h', '2h'] })}`, 'more than one until filter specified'],
    ['POST', `/volumes/prune?filters=${filters({ until: ['1h'] })}`, "invalid filter 'until'"],
    ['POST', `/build/prune?filters=${filters({ foo: ['1'] })}`, "invalid filter 'foo'"],
  ];
  for (const [method, path, message] of cases) {
    const res = await request(t.socket, method, path);
    expect({ path, status: res.status, message: (json(res) as { message: string }).message }).toEqual({ path, status: 400, message });
  }
});
