/**
 * `--registry-mirror` (dockerd's flag) on ctr and on ctr daemon reaches the registry client.
 * Shown without any network traffic: a mirror that is not an http(s) URL is refused before
 * the first request is made.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctrOn, type CtrOn } from './local-ctr';

let dir: string;
let on: CtrOn;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-cli-mirror-'));
  on = ctrOn(join(dir, 'root'), join(dir, 'run'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function ctr(...args: string[]): Promise<{ code: number; stderr: string }> {
  const { code, stderr } = await on.run(...args);
  return { code, stderr };
}

test('ctr --registry-mirror is used for docker.io pulls: an invalid one fails the pull with exit 1, as docker pull fails', async () => {
  const result = await ctr('--registry-mirror', 'ftp://127.0.0.1:1', 'pull', 'busybox');
  expect(result).toEqual({ code: 1, stderr: expect.stringContaining('invalid registry mirror "ftp://127.0.0.1:1"') });
});

test('ctr daemon --registry-mirror needs a value, and ctrd --help lists it', async () => {
  expect(await ctr('daemon', '--registry-mirror')).toEqual({ code: 1, stderr: expect.stringContaining('flag needs an argument: --registry-mirror') });
  const help = (await on.run('daemon', '--help')).stdout;
  expect(help).toMatch(/--registry-mirror list\s+Preferred Docker registry mirror/);
});
