import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, ctr, startTestDaemon, type TestDaemon } from './remote-fixture';

/** What the test's resolv.conf (no name servers) makes of Docker Hub: a registry that cannot be reached. */
const UNREACHABLE = 'ctr: Error response from daemon: manifest for docker.io/library/busybx:latest: cannot reach registry docker.io: no such host\n';
const OFFLINE_HINT = `with no internet, make a base image locally: node scripts/busybox-rootfs.js /tmp/bb && ctr import -c 'CMD ["sh"]' /tmp/bb busybox\n`;

describe('run of an image that is not here, with Docker Hub out of reach', () => {
  let dir: string;
  let daemon: TestDaemon | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-offline-hint-'));
  });
  afterAll(async () => {
    await daemon?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('daemonless, the error is followed by how to make a base image locally', async () => {
    const { code, stderr } = await ctr(['run', '--rm', 'busybx'], { env: cleanEnv({ CTR_ROOT: join(dir, 'root'), CTR_RUNROOT: join(dir, 'run') }) });
    expect(code).toBe(125);
    expect(stderr).toContain(`${UNREACHABLE}check that the registry is running and reachable, and that the address and port are right\n${OFFLINE_HINT}`);
  });

  test("through a daemon (-H), the daemon's answer comes without it", async () => {
    daemon = await startTestDaemon();
    const { stderr } = await ctr(['-H', `unix://${daemon.socket}`, 'run', '--rm', 'busybx'], { env: cleanEnv() });
    expect(stderr).toContain('lookup registry-1.docker.io: no such host');
    expect(stderr).not.toContain('busybox-rootfs.js');
  });
});
