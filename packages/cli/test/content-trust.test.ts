import { localCtr, type LocalCtr } from './local-ctr';

/**
 * Docker Content Trust: with DOCKER_CONTENT_TRUST set, the docker CLI verifies images through a
 * Notary server. ctr cannot, so it refuses rather than use an image unverified — unless told
 * `--disable-content-trust`, as docker is.
 */
describe('content trust', () => {
  let ctr: LocalCtr;
  beforeAll(async () => {
    ctr = await localCtr('trust');
  }, 60_000);
  afterAll(async () => {
    await ctr?.cleanup();
  });

  const trusting = { ...process.env, DOCKER_CONTENT_TRUST: '1' };
  const refusal = 'content trust is not supported: ctr cannot verify image signatures (Docker Content Trust, Notary)\nunset DOCKER_CONTENT_TRUST, or pass --disable-content-trust to use the image unverified\n';

  test('run with DOCKER_CONTENT_TRUST set is refused before anything is made, status 125', async () => {
    const run = await ctr.runWith({ env: trusting }, 'run', '--rm', '--pull', 'never', '--network', 'none', 'busybox', 'true');
    const ps = await ctr.run('ps', '-aq');
    expect({ code: run.code, stderr: run.stderr, containers: ps.stdout }).toEqual({
      code: 125,
      stderr: `ctr: ${refusal}\nRun 'ctr run --help' for more information\n`,
      containers: '',
    });
  });

  test('pull with DOCKER_CONTENT_TRUST set is refused before any registry is asked, status 1', async () => {
    const pull = await ctr.runWith({ env: trusting }, 'pull', '127.0.0.1:9/nothing-listens-here');
    expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 1, stderr: refusal });
  });

  test('push with DOCKER_CONTENT_TRUST set is refused, status 1', async () => {
    const push = await ctr.runWith({ env: trusting }, 'push', '127.0.0.1:9/busybox');
    expect({ code: push.code, stderr: push.stderr }).toEqual({ code: 1, stderr: refusal });
  });

  test('an image named by its ID runs with DOCKER_CONTENT_TRUST set: its content is named already, as docker asks no Notary for a digest', async () => {
    const id = (await ctr.run('image', 'inspect', '--format', '{{.Id}}', 'busybox')).stdout.trim();
    const run = await ctr.runWith({ env: trusting }, 'run', '--rm', '--pull', 'never', '--network', 'none', id, 'echo', 'by id');
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: 'by id\n' });
  });

  test('--disable-content-trust runs the image unverified with DOCKER_CONTENT_TRUST set', async () => {
    const run = await ctr.runWith({ env: trusting }, 'run', '--rm', '--disable-content-trust', '--pull', 'never', '--network', 'none', 'busybox', 'echo', 'unverified');
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: 'unverified\n' });
  });

  test('DOCKER_CONTENT_TRUST=0 leaves trust off, as docker reads a false boolean', async () => {
    const run = await ctr.runWith({ env: { ...process.env, DOCKER_CONTENT_TRUST: 'false' } }, 'create', '--pull', 'never', '--network', 'none', 'busybox');
    expect(run.code).toBe(0);
  });

  test('--disable-content-trust=false asks for trust without the environment', async () => {
    const create = await ctr.run('create', '--disable-content-trust=false', '--pull', 'never', 'busybox');
    expect({ code: create.code, refused: create.stderr.includes('content trust is not supported') }).toEqual({ code: 125, refused: true });
  });
});
