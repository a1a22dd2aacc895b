import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-api-images-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
test('docker build of a multi-stage Dockerfile tags the image, and a second build hits the cache', async () => {
  const context = join(work, 'multi');
  await rm(context, { recursive: true, force: true });
  await mkdir(context, { recursive: true });
  await writeFile(
    join(context, 'Dockerfile'),
    'FROM busybox AS base\nARG WHO=nobody\nRUN echo "hello $WHO" > /greeting\nFROM busybox\nLABEL stage=final\nCOPY --from=base /greeting /greeting\nCOPY note.txt /note.txt\nCMD ["cat", "/greeting", "/note.txt"]\n',
  );
  await writeFile(join(context, 'note.txt'), 'a note\n');
  const first = await docker(t.env, ['build', '-t', 'api-built:1', '--build-arg', 'WHO=api', '--label', 'by=test', context]);
  expect(first.code).toBe(0);
  // Eight instructions and the LABEL step dockerd adds for --label.
  expect(first.stdout).toMatch(/Step 1\/9 : FROM busybox AS base/);
  expect(first.stdout).toMatch(/Successfully built [0-9a-f]{12}\nSuccessfully tagged api-built:1\n/);
  const run = await docker(t.env, ['run', '--rm', '--network', 'none', 'api-built:1']);
  expect(run.stdout).toBe('hello api\na note\n');
  const labels = await docker(t.env, ['inspect', '--format', '{{index .Config.Labels "stage"}} {{index .Config.Labels "by"}}', 'api-built:1']);
  expect(labels.stdout.trim()).toBe('final test');

  const second = await docker(t.env, ['build', '-t', 'api-built:1', '--build-arg', 'WHO=api', '--label', 'by=test', context]);
  expect(second.code).toBe(0);
  expect(second.stdout).toMatch(/Using cache/);
});

test('docker build --target stops at the named stage', async () => {
  const context = join(work, 'multi');
  const built = await docker(t.env, ['build', '-q', '--target', 'base', '-t', 'api-base', context]);
  expect(built.code).toBe(0);
  expect(built.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  const run = await docker(t.env, ['run', '--rm', '--network', 'none', 'api-base', 'cat', '/greeting']);
  expect(run.stdout).toBe('hello nobody\n');
});

test("docker build's --add-host, --memory, --shm-size and --ulimit reach its RUN steps through the daemon", async () => {
  const context = join(work, 'step-limits');
  await mkdir(context, { recursive: true });
  await writeFile(
    join(context, 'Dockerfile'),
    "FROM busybox\nRUN { grep build.test /etc/hosts; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; df -k /dev/shm | tail -1 | awk '{print $2}'; ulimit -Sn; } > /seen\n",
  );
  const args = ['--add-host', 'build.test:127.0.0.9', '--memory', '96m', '--shm-size', '4m', '--ulimit', 'nofile=321:654'];
  const built = await docker(t.env, ['build', '-q', ...args, context]);
  expect(built.code).toBe(0);
  const seen = await docker(t.env, ['run', '--rm', '--network', 'none', built.stdout.trim(), 'cat', '/seen']);
  expect(seen.stdout).toBe(`127.0.0.9\tbuild.test\n${96 * 1024 * 1024}\n4096\n321\n`);
});

test('a failing RUN makes docker build exit with the step exit code', async () => {
  const context = join(work, 'failing');
  await mkdir(context, { recursive: true });
  await writeFile(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo before; exit 7\n');
  const build = await docker(t.env, ['build', context]);
  expect(build.code).toBe(7);
  expect(build.stdout).toMatch(/before/);
  expect(build.stderr).toMatch(/The command '\/bin\/sh -c echo before; exit 7' returned a non-zero code: 7/);
});

test('docker save | docker load brings an image back under its name', async () => {
  await docker(t.env, ['tag', 'busybox', 'api-saved:v1']);
  const archive = join(work, 'saved.tar');
  const save = await docker(t.env, ['save', '-o', archive, 'api-saved:v1']);
  expect(save.code).toBe(0);
  expect((await readFile(archive)).length).toBeGreaterThan(100_000);
  expect((await docker(t.env, ['rmi', 'api-saved:v1'])).stdout).toBe('Untagged: api-saved:v1\n');
  const load = await docker(t.env, ['load', '-i', archive]);
  expect(load).toMatchObject({ code: 0, stdout: 'Loaded image: api-saved:v1\n' });
  const images = await docker(t.env, ['images', '--format', '{{.Repository}}:{{.Tag}}', 'api-saved']);
  expect(images.stdout).toBe('api-saved:v1\n');
});

test('docker tag, push to a registry on 127.0.0.1, rmi and pull round-trip an image', async () => {
  const registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
  await registry.listen();
  try {
    const name = `${registry.host}/api/busybox:pushed`;
    expect((await docker(t.env, ['tag', 'busybox', name])).code).toBe(0);
    const push = await docker(t.env, ['push', name]);
    expect(push.code).toBe(0);
    expect(push.stdout).toMatch(/pushed: digest: sha256:[0-9a-f]{64} size: \d+/);
    // As dockerd: the repository's last tag takes the digest the push recorded with it.
    expect((await docker(t.env, ['rmi', name])).stdout).toBe(`Untagged: ${name}\nUntagged: ${registry.host}/api/busybox@${/digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1]}\n`);
    const pull = await docker(t.env, ['pull', name]);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toMatch(/Digest: sha256:[0-9a-f]{64}/);
    const run = await docker(t.env, ['run', '--rm', '--network', 'none', name, 'echo', 'pulled']);
    expect(run.stdout).toBe('pulled\n');
  } finally {
    await registry.close();
  }
});

test('pulling an image the registry does not have fails with its message and exit 1', async () => {
  const registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry-empty') });
  await registry.listen();
  try {
    const pull = await docker(t.env, ['pull', `${registry.host}/api/missing:1`]);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toMatch(/not found/);
  } finally {
    await registry.close();
  }
});

test('docker commit makes an image of the container changes with --change applied', async () => {
  const run = await docker(t.env, ['run', '--network', 'none', '--name', 'api-commit', 'busybox', 'sh', '-c', 'echo kept > /kept']);
  expect(run.code).toBe(0);
  const commit = await docker(t.env, ['commit', '--change', 'CMD ["cat", "/kept"]', '--change', 'ENV MODE=committed', 'api-commit', 'api-committed:1']);
  expect(commit.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  const out = await docker(t.env, ['run', '--rm', '--network', 'none', 'api-committed:1']);
  expect(out.stdout).toBe('kept\n');
  const env = await docker(t.env, ['run', '--rm', '--network', 'none', 'api-committed:1', 'sh', '-c', 'echo $MODE']);
  expect(env.stdout).toBe('committed\n');
  await docker(t.env, ['rm', 'api-commit']);
});

test("docker commit keeps the container's own environment and command, a --change ENV adding to it", async () => {
  await docker(t.env, ['run', '--network', 'none', '--name', 'api-commit-env', '-e', 'FOO=bar', 'busybox', 'sh', '-c', 'echo $FOO $B']);
  await docker(t.env, ['commit', '--change', 'ENV B=2', 'api-commit-env', 'api-committed:env']);
  const out = await docker(t.env, ['run', '--rm', '--network', 'none', 'api-committed:env']);
  expect(out.stdout).toBe('bar 2\n');
  await docker(t.env, ['rm', 'api-commit-env']);
});

test('docker rmi of an image a container uses is refused, and inspect of an unknown image is 404', async () => {
  // An image of its own: busybox has other names by now, which dockerd would name first.
  await docker(t.env, ['create', '--network', 'none', '--name', 'api-used-maker', 'busybox']);
  const id = (await docker(t.env, ['commit', '--change', 'LABEL used=yes', 'api-used-maker', 'api-used:1'])).stdout.trim();
  await docker(t.env, ['rm', 'api-used-maker']);
  const user = (await docker(t.env, ['create', '--network', 'none', '--name', 'api-user', 'api-used:1'])).stdout.trim();
  const rmi = await docker(t.env, ['rmi', id]);
  expect(rmi.code).toBe(1);
  expect(rmi.stderr).toBe(`Error response from daemon: conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is being used by stopped container ${user.slice(0, 12)}\n`);
  await docker(t.env, ['rm', 'api-user']);
  await docker(t.env, ['rmi', 'api-used:1']);
  const missing = await docker(t.env, ['image', 'inspect', 'api-nothing:1']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/No such image: api-nothing:1/);
});

test('docker cp copies a file into a container and back out', async () => {
  await docker(t.env, ['create', '--network', 'none', '--name', 'api-cp', 'busybox']);
  const source = join(work, 'into.txt');
  await writeFile(source, 'copied in\n');
  const into = await docker(t.env, ['cp', source, 'api-cp:/tmp/']);
  expect(into.code).toBe(0);
  const out = join(work, 'out');
  const back = await docker(t.env, ['cp', 'api-cp:/tmp/into.txt', out]);
  expect(back.code).toBe(0);
  expect(await readFile(out, 'utf8')).toBe('copied in\n');
  const missing = await docker(t.env, ['cp', 'api-cp:/no/such/file', join(work, 'x')]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/Could not find the file/);
  await docker(t.env, ['rm', 'api-cp']);
});
