import { kernelHasBlkioWeight } from '../../../test/support/block-io';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

const WEIGHT_DROPPED = 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.';

/** `docker run` (attached, to its end) of busybox `sh -c script` with `flags`; the container's name. */
async function ran(name: string, script: string, ...flags: string[]): Promise<string> {
  const run = await docker(t.env, ['run', '--network', 'none', '--name', name, ...flags, 'busybox', 'sh', '-c', script]);
  expect(run.code).toBe(0);
  return name;
}

describe('container sizes', () => {
  test('docker ps -s shows the bytes written and the virtual size with the image', async () => {
    await ran('api-size-twelve', 'printf 123456789012 > /twelve');
    const image = (await docker(t.env, ['images', '--format', '{{.Size}}', 'busybox'])).stdout.trim();
    const ps = await docker(t.env, ['ps', '-a', '-s', '--filter', 'name=api-size-twelve']);
    expect(ps.stdout.split('\n')[0]).toMatch(/ {3}SIZE$/);
    expect(ps.stdout.split('\n')[1]).toMatch(new RegExp(`api-size-twelve +12B \\(virtual ${image.replace('.', '\\.')}\\)$`));
  });

  test('a --format that shows .Size makes docker ask for sizes', async () => {
    await ran('api-size-format', 'printf 1234 > /four');
    const ps = await docker(t.env, ['ps', '-a', '--filter', 'name=api-size-format', '--format', '{{.Size}}']);
    expect(ps.stdout).toMatch(/^4B \(virtual .+\)\n$/);
  });

  test('GET /containers/json has SizeRw and SizeRootFs only with size=1', async () => {
    await ran('api-size-raw', 'printf 123 > /three');
    const find = async (query: string): Promise<Record<string, unknown> | undefined> =>
      (json(await request(t.socket, 'GET', `/containers/json?all=1${query}`)) as Array<Record<string, unknown>>).find((c) => (c.Names as string[]).includes('/api-size-raw'));
    expect(await find('')).not.toHaveProperty('SizeRw');
    expect(await find('&size=1')).toMatchObject({ SizeRw: 3, SizeRootFs: expect.any(Number) });
  });

  test('docker inspect -s adds SizeRw and SizeRootFs', async () => {
    await ran('api-size-inspect', 'printf 12345 > /five');
    const inspected = await docker(t.env, ['inspect', '-s', '--format', '{{.SizeRw}} {{.SizeRootFs}}', 'api-size-inspect']);
    const [rw, rootfs] = inspected.stdout.trim().split(' ').map(Number);
    expect(rw).toBe(5);
    expect(rootfs).toBeGreaterThan(5);
    const plain = json(await request(t.socket, 'GET', '/containers/api-size-inspect/json'));
    expect(plain).not.toHaveProperty('SizeRw');
  });
});

describe('docker logs --details', () => {
  test('shows the attributes the log options asked for before each line', async () => {
    await ran('api-details', 'echo out; echo err >&2', '-l', 'app=web', '-e', 'REGION=eu west', '--log-opt', 'labels=app', '--log-opt', 'env=REGION');
    expect(await docker(t.env, ['logs', '--details', 'api-details'])).toEqual({ code: 0, stdout: 'REGION=eu+west,app=web out\n', stderr: 'REGION=eu+west,app=web err\n' });
  });

  test('without attribute options shows each line after a space, as dockerd does', async () => {
    await ran('api-details-none', 'echo plain');
    expect(await docker(t.env, ['logs', '--details', 'api-details-none'])).toEqual({ code: 0, stdout: ' plain\n', stderr: '' });
    const timestamped = await docker(t.env, ['logs', '--details', '-t', 'api-details-none']);
    expect(timestamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z  plain\n$/);
  });
});

describe('docker update warnings', () => {
  test("docker update prints the container, then the daemon's warnings", async () => {
    expect((await docker(t.env, ['create', '--network', 'none', '--name', 'api-update-warn', 'busybox', 'sleep', '100'])).code).toBe(0);
    const updated = await docker(t.env, ['update', '--blkio-weight', '300', 'api-update-warn']);
    expect(updated).toEqual({ code: 0, stdout: kernelHasBlkioWeight ? 'api-update-warn\n' : `api-update-warn\n${WEIGHT_DROPPED}\n`, stderr: '' });
  });

  test('POST /containers/{id}/update answers the warnings', async () => {
    expect((await docker(t.env, ['create', '--network', 'none', '--name', 'api-update-raw', 'busybox', 'sleep', '100'])).code).toBe(0);
    const response = await request(t.socket, 'POST', '/containers/api-update-raw/update', JSON.stringify({ BlkioWeight: 300 }));
    expect(response.status).toBe(200);
    expect(json(response)).toEqual({ Warnings: kernelHasBlkioWeight ? [] : [WEIGHT_DROPPED] });
  });
});
