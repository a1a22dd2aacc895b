import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/** $COMPOSE_REMOVE_ORPHANS is the default of `--remove-orphans`, which an explicit `--remove-orphans=false` overrides (compose's down, up and kill). */
describe('ctr compose down and $COMPOSE_REMOVE_ORPHANS', () => {
  let ctr: LocalCtr;
  let dir: string;
  const env = { ...process.env, NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '', COMPOSE_REMOVE_ORPHANS: '1' };
  const compose = (file: string, ...args: string[]): Promise<CtrResult> => ctr.runWith({ env, cwd: dir, timeoutMs: 120_000 }, 'compose', '-p', 'orph', '-f', file, ...args);
  const names = async (): Promise<string> => (await ctr.runWith({ env }, 'ps', '-a', '--format', '{{.Names}}')).stdout.split('\n').filter(Boolean).sort().join(' ');

  beforeAll(async () => {
    ctr = await localCtr('compose-orphans');
    dir = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-orphans-'));
    const service = (name: string): string[] => [`  ${name}:`, '    image: busybox', '    command: ["sleep", "1000"]'];
    await writeFile(join(dir, 'both.yaml'), ['services:', ...service('web'), ...service('worker'), ''].join('\n'));
    await writeFile(join(dir, 'one.yaml'), ['services:', ...service('web'), ''].join('\n'));
    expect((await compose('both.yaml', 'up', '-d')).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await compose('both.yaml', 'down', '-t', '0').catch(() => undefined);
    await ctr.cleanup();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test('down --remove-orphans=false keeps the orphan though the variable is set', async () => {
    expect((await compose('one.yaml', 'down', '-t', '0', '--remove-orphans=false')).code).toBe(0);
    expect(await names()).toBe('orph-worker-1');
  }, 60_000);

  test('down with the variable set and no flag removes the orphan', async () => {
    expect((await compose('one.yaml', 'down', '-t', '0')).code).toBe(0);
    expect(await names()).toBe('');
  }, 60_000);
});
