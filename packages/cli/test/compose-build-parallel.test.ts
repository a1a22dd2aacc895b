import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/**
 * `ctr compose` building several services at once, as docker compose does: `--parallel` and
 * $COMPOSE_PARALLEL_LIMIT reach the builds and the starts (one at a time under a limit of 1,
 * told by the order of what is printed, not by time), each build line is told after its
 * service's name, and a failed build is the command's exit code and message.
 */
describe('ctr compose, builds at once', () => {
  let ctr: LocalCtr;
  let dir: string;
  const env = { ...process.env, NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '', COMPOSE_PROGRESS: '', COMPOSE_PARALLEL_LIMIT: '' };

  /** A project `name` whose services `a` and `b` each build FROM busybox with `run` as their RUN step. */
  async function twoBuilds(name: string, run: (service: string) => string): Promise<(extra: Record<string, string>, ...args: string[]) => Promise<CtrResult>> {
    const where = join(dir, name);
    const lines = ['services:'];
    for (const service of ['a', 'b']) {
      await mkdir(join(where, service), { recursive: true });
      await writeFile(join(where, service, 'Dockerfile'), `FROM busybox\nRUN ${run(service)}\n`);
      lines.push(`  ${service}:`, `    build: ./${service}`, '    command: ["sleep", "300"]', '    stop_signal: SIGKILL');
    }
    await writeFile(join(where, 'compose.yaml'), `${lines.join('\n')}\n`);
    return (extra, ...args) => ctr.runWith({ env: { ...env, ...extra }, cwd: where, timeoutMs: 180_000 }, 'compose', '-p', name, ...args);
  }

  /** The index of the first line of `text` that starts with `start`; -1 when none does. */
  function lineIndex(text: string, start: string): number {
    return text.split('\n').findIndex((line) => line.startsWith(start));
  }

  /** Whether service b's build began only after service a's had ended. */
  function oneAfterTheOther(stderr: string): boolean {
    const aEnded = lineIndex(stderr, '[a] Successfully built');
    return aEnded !== -1 && lineIndex(stderr, '[b] Step 1/') > aEnded;
  }

  beforeAll(async () => {
    ctr = await localCtr('compose-build-parallel');
    dir = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-build-parallel-'));
  }, 120_000);

  afterAll(async () => {
    await ctr?.cleanup();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test('with no limit, both builds begin before either ends', async () => {
    const compose = await twoBuilds('pnone', (s) => `echo ${s}`);
    const result = await compose({}, 'build');
    expect(result.code).toBe(0);
    const ends = ['a', 'b'].map((s) => lineIndex(result.stderr, `[${s}] Successfully built`));
    const begins = ['a', 'b'].map((s) => lineIndex(result.stderr, `[${s}] Step 1/`));
    expect([...ends, ...begins]).not.toContain(-1);
    expect(Math.max(...begins)).toBeLessThan(Math.min(...ends));
  }, 180_000);

  test('--parallel 1 builds one service at a time', async () => {
    const compose = await twoBuilds('pflag', (s) => `echo ${s}`);
    const result = await compose({}, '--parallel', '1', 'build');
    expect(result.code).toBe(0);
    expect(oneAfterTheOther(result.stderr)).toBe(true);
  }, 180_000);

  test('COMPOSE_PARALLEL_LIMIT=1 builds one service at a time', async () => {
    const compose = await twoBuilds('penv', (s) => `echo ${s}`);
    const result = await compose({ COMPOSE_PARALLEL_LIMIT: '1' }, 'build');
    expect(result.code).toBe(0);
    expect(oneAfterTheOther(result.stderr)).toBe(true);
  }, 180_000);

  test('up --parallel 1 builds, then starts, one service at a time', async () => {
    const compose = await twoBuilds('pup', (s) => `echo ${s}`);
    try {
      const result = await compose({}, '--parallel', '1', 'up', '-d', '--pull', 'never');
      expect(result.code).toBe(0);
      expect(oneAfterTheOther(result.stderr)).toBe(true);
      const starts = result.stderr.split('\n').filter((line) => / Container pup-[ab]-1 {2}Start(ing|ed)$/.test(line));
      expect(starts.map((line) => line.replace(/ Container pup-[ab]-1 {2}/, ''))).toEqual(['Starting', 'Started', 'Starting', 'Started']);
    } finally {
      await compose({}, 'down', '-t', '0');
    }
  }, 180_000);

  test('every line of the builds is told after its service\'s name', async () => {
    const compose = await twoBuilds('pname', (s) => `echo said-by-${s}`);
    const result = await compose({}, 'build');
    expect(result.code).toBe(0);
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines.every((line) => /^\[[ab]\] /.test(line))).toBe(true);
    expect(lines).toContain('[a] said-by-a');
    expect(lines).toContain('[b] said-by-b');
  }, 180_000);

  test('a failed build is the exit code and the message, the build under way beside it cancelled', async () => {
    const compose = await twoBuilds('pfail', (s) => (s === 'a' ? 'exit 3' : 'sleep 600'));
    const result = await compose({}, 'build');
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/\nThe command '\/bin\/sh -c exit 3' returned a non-zero code: 3\n$/);
    expect((await ctr.run('images', '-q', 'pfail-b')).stdout).toBe('');
  }, 180_000);
});
