import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctrOn, type CtrOn, type CtrResult } from './local-ctr';

/** The confirmations docker 28.2's prunes ask, answered no: nothing is pruned. */
describe('prune prompts', () => {
  let root: string;
  let ctr: CtrOn;
  const declined = (...args: string[]): Promise<CtrResult> => ctr.runWith({ env: process.env, input: 'n\n' }, ...args);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctr-cli-prune-prompts-'));
    ctr = ctrOn(join(root, 'root'), join(root, 'run'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('builder prune asks on the warning line', async () => {
    expect(await declined('builder', 'prune')).toEqual({
      code: 0,
      stdout: 'WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ',
      stderr: '',
    });
  });

  test('builder prune -a warns of all build cache, on the same line', async () => {
    expect((await declined('builder', 'prune', '-a')).stdout).toBe('WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] ');
  });

  test('system prune warns of unused build cache, and of all of it with -a', async () => {
    expect((await declined('system', 'prune')).stdout).toBe(
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] ',
    );
    expect((await declined('system', 'prune', '-a')).stdout).toContain('  - all images without at least one container associated to them\n  - all build cache\n\n');
  });

  test('system prune --volumes with an until filter is refused before anything is asked', async () => {
    expect(await declined('system', 'prune', '--volumes', '--filter', 'until=1h')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ERROR: The "until" filter is not supported with "--volumes"\n',
    });
  });
});
