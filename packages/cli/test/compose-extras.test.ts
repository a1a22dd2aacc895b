import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/** `ctr compose` wait, cp, events, scale, stats, commit and export on ctr's own engine. */
describe('ctr compose extras', () => {
  let ctr: LocalCtr;
  let dir: string;
  const env = { ...process.env, NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '' };
  const compose = (...args: string[]): Promise<CtrResult> => ctr.runWith({ env, cwd: dir, timeoutMs: 120_000 }, 'compose', '-p', 'xt', ...args);

  beforeAll(async () => {
    ctr = await localCtr('compose-extras');
    dir = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-extras-'));
    await writeFile(
      join(dir, 'compose.yaml'),
      ['services:', '  web:', '    image: busybox', '    command: ["sh", "-c", "echo hi > /greeting; trap \'exit 3\' TERM; while true; do sleep 0.2; done"]', ''].join('\n'),
    );
    expect((await compose('up', '-d')).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await compose('down', '-t', '1').catch(() => undefined);
    await ctr.cleanup();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test('cp SERVICE:SRC DEST copies out of the service\'s container, saying so as compose\'s progress', async () => {
    const result = await compose('cp', 'web:/greeting', join(dir, 'greeting'));
    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(result.stderr).toContain(' Container xt-web-1  Copied\n');
    expect(await readFile(join(dir, 'greeting'), 'utf8')).toBe('hi\n');
  }, 60_000);

  test('cp SRC SERVICE:DEST copies into the service\'s container', async () => {
    await writeFile(join(dir, 'note'), 'from the host\n');
    expect((await compose('cp', join(dir, 'note'), 'web:/note')).code).toBe(0);
    expect((await compose('exec', '-T', 'web', 'cat', '/note')).stdout).toBe('from the host\n');
  }, 60_000);

  test('cp between two services is refused in compose\'s words', async () => {
    expect(await compose('cp', 'web:/a', 'web:/b')).toMatchObject({ code: 1, stderr: expect.stringContaining('copying between services is not supported') });
  });

  test('scale SERVICE=N runs that many replicas', async () => {
    const result = await compose('scale', 'web=2');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(' Container xt-web-2  Started\n');
    expect((await compose('ps', '--format', '{{.Name}}')).stdout).toBe('xt-web-1\nxt-web-2\n');
  }, 60_000);

  test('scale refuses a replica count that is no number, in compose\'s words', async () => {
    expect(await compose('scale', 'web=two')).toMatchObject({ code: 1, stderr: expect.stringContaining("invalid scale specifier: can't parse replica value as int: web=two") });
  });

  test('stats --no-stream shows the project\'s containers alone', async () => {
    const result = await compose('stats', '--no-stream', '--format', '{{.Name}}');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual(['xt-web-1', 'xt-web-2']);
  }, 60_000);

  test('commit makes an image of the replica named; it prints no ID', async () => {
    const result = await compose('commit', '--index', '2', 'web', 'xt-snap:v1');
    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(result.stderr).toMatch(/ Container xt-web-2 {2}Committed as sha256:[0-9a-f]{64}\n/);
    expect((await ctr.run('images', '-q', 'xt-snap:v1')).stdout).toMatch(/^[0-9a-f]{12}\n$/);
  }, 60_000);

  test('export -o writes the container\'s filesystem as a tar', async () => {
    expect((await compose('export', '-o', join(dir, 'web.tar'), 'web')).code).toBe(0);
    const archive = await readFile(join(dir, 'web.tar'));
    expect(archive.indexOf('greeting\0') % 512).toBe(0);
  }, 60_000);

  test('export -o to a missing directory is refused before anything is read', async () => {
    expect(await compose('export', '-o', join(dir, 'missing', 'web.tar'), 'web')).toMatchObject({ code: 1, stderr: expect.stringContaining('failed to export container: invalid output path: directory') });
  });

  test('events --json --since --until prints the project\'s container events as compose\'s objects', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    await compose('restart', '-t', '1', 'web');
    const result = await compose('events', '--json', '--since', since, '--until', String(Math.ceil(Date.now() / 1000) + 1));
    expect(result.code).toBe(0);
    const start = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((event) => event.action === 'start');
    expect(Object.keys(start)).toEqual(['action', 'attributes', 'id', 'service', 'time', 'type']);
    expect(start).toMatchObject({ type: 'container', service: 'web', attributes: { image: 'busybox' } });
  }, 60_000);

  test('wait prints each container\'s exit and exits with its code', async () => {
    const waiting = compose('wait', 'web');
    // The containers are stopped once wait has found them: it waits on running ones alone.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await compose('stop', '-t', '5');
    const result = await waiting;
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^(container "[0-9a-f]{64}" exited with status code 3\n){2}$/);
  }, 60_000);
});
