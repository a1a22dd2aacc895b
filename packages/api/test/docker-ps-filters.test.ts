/**
 * `docker ps` filters and columns through ctrd, as the docker CLI 28 shows dockerd's: the
 * creation-order windows, refusals with dockerd's words and the CLI's exit status, a
 * container whose start failed, the image column once the reference is gone, legacy links'
 * names and the host-port filter.
 */
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();

/** `docker ps -a` names (newest first) with these extra arguments. */
async function names(args: string[]): Promise<string> {
  const listed = await docker(t.env, ['ps', '-a', '--format', '{{.Names}}', ...args]);
  expect(listed).toMatchObject({ code: 0, stderr: '' });
  return listed.stdout;
}

describe('creation order', () => {
  beforeAll(async () => {
    for (const name of ['api-order-1', 'api-order-2', 'api-order-3']) expect((await docker(t.env, ['create', '--pull', 'never', '--network', 'none', '--name', name, 'busybox'])).code).toBe(0);
  });

  afterAll(async () => {
    await docker(t.env, ['rm', '-f', 'api-order-1', 'api-order-2', 'api-order-3']);
  });

  test('--filter before= lists the containers created before the named one', async () => {
    expect(await names(['--filter', 'before=api-order-3'])).toBe('api-order-2\napi-order-1\n');
  });

  test('--filter since= lists the containers created after the named one', async () => {
    expect(await names(['--filter', 'since=api-order-1'])).toBe('api-order-3\napi-order-2\n');
  });

  test('--filter since= an unknown container fails with status 1', async () => {
    expect(await docker(t.env, ['ps', '--filter', 'since=nosuch'])).toMatchObject({ code: 1, stderr: 'Error response from daemon: No such container: nosuch\n' });
  });
});

test('--filter status= an unknown state fails with dockerd\'s words', async () => {
  expect(await docker(t.env, ['ps', '--filter', 'status=bogus'])).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter 'status=bogus'\n" });
});

test('--filter volume= lists the container mounting the volume', async () => {
  expect((await docker(t.env, ['create', '--pull', 'never', '--network', 'none', '--name', 'api-ps-vol', '-v', 'api-ps-data:/data', 'busybox'])).code).toBe(0);
  try {
    expect(await names(['--filter', 'volume=api-ps-data'])).toBe('api-ps-vol\n');
    expect(await names(['--filter', 'volume=/elsewhere'])).toBe('');
  } finally {
    await docker(t.env, ['rm', '-v', 'api-ps-vol']);
    await docker(t.env, ['volume', 'rm', 'api-ps-data']);
  }
});

test('a container whose start failed is listed and inspected as created, with its exit code', async () => {
  const run = await docker(t.env, ['run', '-d', '--pull', 'never', '--network', 'none', '--name', 'api-never-ran', 'busybox', '/nonexistent']);
  expect(run.code).toBe(127);
  try {
    expect((await docker(t.env, ['ps', '-a', '--filter', 'name=api-never-ran', '--format', '{{.State}} {{.Status}}'])).stdout).toBe('created Created\n');
    expect((await docker(t.env, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'api-never-ran'])).stdout).toBe('created 127\n');
  } finally {
    await docker(t.env, ['rm', 'api-never-ran']);
  }
});

test('the IMAGE column shows the short image ID once the reference is untagged', async () => {
  expect((await docker(t.env, ['tag', 'busybox', 'api-ps-gone:1'])).code).toBe(0);
  expect((await docker(t.env, ['create', '--pull', 'never', '--network', 'none', '--name', 'api-ps-image', 'api-ps-gone:1'])).code).toBe(0);
  try {
    expect((await docker(t.env, ['rmi', '-f', 'api-ps-gone:1'])).code).toBe(0);
    const id = (await docker(t.env, ['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
    expect(await docker(t.env, ['ps', '-a', '--filter', 'name=api-ps-image', '--format', '{{.Image}}'])).toMatchObject({ code: 0, stdout: `${id.slice(7, 19)}\n` });
  } finally {
    await docker(t.env, ['rm', 'api-ps-image']);
  }
});

describe('legacy links', () => {
  beforeAll(async () => {
    expect((await docker(t.env, ['run', '-d', '--pull', 'never', '--name', 'api-lnk-aaa', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await docker(t.env, ['run', '-d', '--pull', 'never', '--name', 'api-lnk-bbb', '--link', 'api-lnk-aaa', 'busybox', 'sleep', '300'])).code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await docker(t.env, ['rm', '-f', 'api-lnk-bbb', 'api-lnk-aaa']);
  });

  test('--no-trunc shows a linked container\'s link names after its own, as dockerd\'s name index has them', async () => {
    expect(await names(['--no-trunc', '--filter', 'name=api-lnk-aaa'])).toBe('api-lnk-aaa,api-lnk-bbb/api-lnk-aaa\n');
  });

  test('the default (truncated) NAMES shows the container\'s own name alone', async () => {
    expect(await names(['--filter', 'name=api-lnk-aaa'])).toBe('api-lnk-aaa\n');
  });
});

test('--filter publish= matches the host port, not the container port', async () => {
  expect((await docker(t.env, ['run', '-d', '--pull', 'never', '--name', 'api-ps-pub', '-p', '127.0.0.1::80', 'busybox', 'sleep', '300'])).code).toBe(0);
  try {
    const hostPort = (await docker(t.env, ['port', 'api-ps-pub', '80'])).stdout.trim().split(':').pop() ?? '';
    expect(await names(['--filter', `publish=${hostPort}`])).toBe('api-ps-pub\n');
    expect(await names(['--filter', 'publish=80'])).toBe('');
  } finally {
    await docker(t.env, ['rm', '-f', 'api-ps-pub']);
  }
}, 60_000);
