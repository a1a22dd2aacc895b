import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parallelLimit } from '../src/commands/compose-cli';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/**
 * `ctr compose --parallel N` and $COMPOSE_PARALLEL_LIMIT: docker compose's global limit on
 * how many services (and images) the verbs act on at once; the flag wins over the variable,
 * -1 (the default) is no limit. How the limit bounds the verbs, @ctr/compose's tests measure.
 */
describe('ctr compose --parallel', () => {
  let ctr: LocalCtr;
  let dir: string;
  const env = { ...process.env, NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '', COMPOSE_PROGRESS: '', COMPOSE_PARALLEL_LIMIT: '' };
  const compose = (extra: Record<string, string>, ...args: string[]): Promise<CtrResult> =>
    ctr.runWith({ env: { ...env, ...extra }, cwd: dir, timeoutMs: 120_000 }, 'compose', '-p', 'par', ...args);

  beforeAll(async () => {
    ctr = await localCtr('compose-parallel');
    dir = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-parallel-'));
    const sleeper = (name: string, extra: string[] = []): string[] => [`  ${name}:`, '    image: busybox', '    command: ["sleep", "300"]', '    stop_signal: SIGKILL', ...extra];
    await writeFile(join(dir, 'compose.yaml'), ['services:', ...sleeper('web', ['    depends_on: [db]']), ...sleeper('db'), ...sleeper('cache'), ''].join('\n'));
  }, 120_000);

  afterAll(async () => {
    await compose({}, 'down', '-t', '0').catch(() => undefined);
    await ctr?.cleanup();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test('help lists it as compose does', async () => {
    const result = await compose({}, '--help');
    expect(result.stdout).toMatch(/^ {6}--parallel int +Control max parallelism, -1 for unlimited \(default -1\)$/m);
  });

  test('up and down bring every service up and down under COMPOSE_PARALLEL_LIMIT=1', async () => {
    const up = await compose({ COMPOSE_PARALLEL_LIMIT: '1' }, 'up', '-d', '--pull', 'never');
    expect(up.code).toBe(0);
    expect((await compose({}, 'ps', '--format', '{{.Service}} {{.State}}')).stdout.split('\n').filter(Boolean).sort()).toEqual(['cache running', 'db running', 'web running']);
    expect((await compose({ COMPOSE_PARALLEL_LIMIT: '1' }, 'down', '-t', '0')).code).toBe(0);
  });

  test('--parallel 0 is taken, as compose takes it (no limit)', async () => {
    expect((await compose({}, '--parallel', '0', 'ps')).code).toBe(0);
  });

  test('a flag value that is no number is docker\'s usage error', async () => {
    const result = await compose({}, '--parallel', 'many', 'ps');
    expect(result.code).toBe(125);
    expect(result.stderr).toContain('invalid argument "many" for "--parallel" flag: strconv.ParseInt: parsing "many": invalid syntax');
  });

  test('COMPOSE_PARALLEL_LIMIT that is no integer is compose\'s error', async () => {
    const result = await compose({ COMPOSE_PARALLEL_LIMIT: 'many' }, 'ps');
    expect(result).toMatchObject({ code: 1, stderr: 'COMPOSE_PARALLEL_LIMIT must be an integer (found: "many")\n' });
  });

  test('a --parallel given wins over COMPOSE_PARALLEL_LIMIT, which is then not read', async () => {
    const result = await compose({ COMPOSE_PARALLEL_LIMIT: 'many' }, '--parallel', '2', 'ps');
    expect(result.code).toBe(0);
  });
});

describe('the limit the compose verbs run with', () => {
  test('is --parallel when given, even -1', () => {
    expect(parallelLimit(2, { COMPOSE_PARALLEL_LIMIT: '3' })).toBe(2);
    expect(parallelLimit(-1, { COMPOSE_PARALLEL_LIMIT: '3' })).toBe(-1);
  });

  test('else COMPOSE_PARALLEL_LIMIT, as Go reads an integer', () => {
    expect(parallelLimit(undefined, { COMPOSE_PARALLEL_LIMIT: '3' })).toBe(3);
    expect(parallelLimit(undefined, { COMPOSE_PARALLEL_LIMIT: '+4' })).toBe(4);
  });

  test('else -1, no limit (an empty variable is none)', () => {
    expect(parallelLimit(undefined, {})).toBe(-1);
    expect(parallelLimit(undefined, { COMPOSE_PARALLEL_LIMIT: '' })).toBe(-1);
  });
});
