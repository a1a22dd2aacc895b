import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = join(__dirname, '..', 'scripts', 'busybox-rootfs.js');

describe('scripts/busybox-rootfs.js', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-busybox-script-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("prints a refusal's hint on the line after its message, as ctr does", async () => {
    await run(process.execPath, [script, dir]);
    const failed = await run(process.execPath, [script, dir]).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({
      code: 1,
      stderr: `Error: ${dir} already holds a root filesystem (${join(dir, 'bin')} is not empty)\ngive a new or empty directory, or import the one already there\n`,
    });
  });
});
