import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type LocalCtr } from './local-ctr';

/** `ctr load -q`: docker's -q hides the progress only; what was loaded is still said, for scripts to read. */
describe('load -q', () => {
  let local: LocalCtr;
  let work: string;

  beforeAll(async () => {
    local = await localCtr('load-quiet');
    work = await mkdtemp(join(tmpdir(), 'ctr-cli-load-quiet-'));
  });

  afterAll(async () => {
    await local?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  test('names the image it loaded', async () => {
    const archive = join(work, 'tagged.tar');
    expect((await local.run('tag', 'busybox', 'quiet-load:1')).code).toBe(0);
    expect((await local.run('save', '-o', archive, 'quiet-load:1')).code).toBe(0);
    expect((await local.run('rmi', 'quiet-load:1')).code).toBe(0);
    expect(await local.run('load', '-q', '-i', archive)).toEqual({ code: 0, stdout: 'Loaded image: quiet-load:1\n', stderr: '' });
  });

  test('gives the ID of an image saved with no name', async () => {
    const id = (await local.run('image', 'inspect', '--format', '{{.Id}}', 'busybox')).stdout.trim();
    const archive = join(work, 'untagged.tar');
    expect((await local.run('save', '-o', archive, id)).code).toBe(0);
    expect(await local.run('load', '-q', '-i', archive)).toEqual({ code: 0, stdout: `Loaded image ID: ${id}\n`, stderr: '' });
  });
});
