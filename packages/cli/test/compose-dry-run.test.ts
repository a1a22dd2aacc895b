import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/**
 * `ctr compose --dry-run`: docker compose's global flag, before the sub-command or among its
 * flags. The verb runs to its end, every progress line says ` DRY-RUN MODE - `, and nothing on
 * the engine changes.
 */
describe('ctr compose --dry-run', () => {
  let ctr: LocalCtr;
  let dir: string;
  const env = { ...process.env, NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '', COMPOSE_PROGRESS: '' };
  const compose = (...args: string[]): Promise<CtrResult> => ctr.runWith({ env, cwd: dir, timeoutMs: 120_000 }, 'compose', '-p', 'dry', ...args);
  const label = 'label=com.docker.compose.project=dry';
  /** What the engine holds of the project: its containers, networks and volumes. */
  const resources = async (): Promise<string[]> =>
    [(await ctr.run('ps', '-aq', '--filter', label)).stdout, (await ctr.run('network', 'ls', '-q', '--filter', label)).stdout, (await ctr.run('volume', 'ls', '-q', '--filter', label)).stdout]
      .join('')
      .split('\n')
      .filter(Boolean);
  const lines = (text: string): string[] => text.split('\n').filter(Boolean);

  beforeAll(async () => {
    ctr = await localCtr('compose-dry-run');
    dir = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-dry-run-'));
    await writeFile(
      join(dir, 'compose.yaml'),
      [
        'services:',
        '  web:',
        '    image: busybox',
        '    command: ["sleep", "300"]',
        '    stop_signal: SIGKILL',
        '    depends_on: [db]',
        '  db:',
        '    image: busybox',
        '    command: ["sleep", "300"]',
        '    stop_signal: SIGKILL',
        '    volumes: [data:/data]',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
    );
  }, 120_000);

  afterAll(async () => {
    await compose('down', '-v', '-t', '0').catch(() => undefined);
    await ctr?.cleanup();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test('up -d says every step with the prefix, and creates nothing', async () => {
    const result = await compose('--dry-run', 'up', '-d', '--pull', 'never');
    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(lines(result.stderr).filter((line) => !line.startsWith(' DRY-RUN MODE -  '))).toEqual([]);
    expect(lines(result.stderr)).toEqual(
      expect.arrayContaining([' DRY-RUN MODE -  Network dry_default  Created', ' DRY-RUN MODE -  Volume "dry_data"  Created', ' DRY-RUN MODE -  Container dry-db-1  Started', ' DRY-RUN MODE -  Container dry-web-1  Started']),
    );
    expect(await resources()).toEqual([]);
  });

  test('the flag after the sub-command does the same: an attached up creates nothing and ends with compose\'s notice', async () => {
    const result = await compose('up', '--dry-run', '--pull', 'never');
    expect(result).toMatchObject({ code: 0, stdout: "end of 'compose up' output, interactive run is not supported in dry-run mode\n" });
    expect(lines(result.stderr)).toContain(' DRY-RUN MODE -  Container dry-web-1  Created');
    expect(await resources()).toEqual([]);
  });

  test('on a terminal, the prefix comes after each line\'s glyph', async () => {
    const result = await compose('--dry-run', '--progress', 'tty', 'create', '--pull', 'never');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/ ✔ DRY-RUN MODE - {2}Container dry-web-1 {2}Created +\d+\.\ds/);
  });

  test('as JSON, each event is marked dry-run', async () => {
    const result = await compose('--dry-run', '--progress', 'json', 'create', '--pull', 'never');
    expect(result.code).toBe(0);
    expect(lines(result.stderr).map((line) => JSON.parse(line))).toContainEqual({ 'dry-run': true, id: 'Container dry-db-1', status: 'Created' });
  });

  describe('on a running project', () => {
    const states = async (): Promise<string[]> => lines((await compose('ps', '--format', '{{.Name}} {{.State}}')).stdout);

    beforeAll(async () => {
      const up = await compose('up', '-d', '--pull', 'never');
      if (up.code !== 0) throw new Error(`compose up failed: ${up.stderr}`);
    }, 120_000);

    test('down --dry-run says what it would remove, and the project keeps running', async () => {
      const result = await compose('down', '--dry-run', '-v');
      expect(result.code).toBe(0);
      expect(lines(result.stderr)).toEqual(
        expect.arrayContaining([' DRY-RUN MODE -  Container dry-web-1  Removed', ' DRY-RUN MODE -  Container dry-db-1  Removed', ' DRY-RUN MODE -  Network dry_default  Removed', ' DRY-RUN MODE -  Volume dry_data  Removed']),
      );
      expect(await states()).toEqual(['dry-db-1 running', 'dry-web-1 running']);
    });

    test('cp into a container refuses a missing local source in docker\'s words', async () => {
      const result = await compose('--dry-run', 'cp', 'missing.txt', 'web:/tmp/');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`lstat ${join(dir, 'missing.txt')}: no such file or directory`);
    });

    test('an attached exec is refused in compose\'s words', async () => {
      const result = await compose('--dry-run', 'exec', 'web', 'true');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('interactive exec is not supported in dry-run mode');
    });
  });
});
