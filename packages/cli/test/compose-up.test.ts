import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/support/free-port';
import { localCtr, type CtrResult, type LocalCtr } from './local-ctr';

/**
 * The seed tutorial's compose flow on ctr's own engine: an image built from `build: .` (FROM
 * the imported busybox), a published port, `up -d`, `ps`, `logs`, `ls`, `down`; then an attached
 * `up` and `rm`'s confirmation.
 */
describe('ctr compose up and down', () => {
  let ctr: LocalCtr;
  let dir: string;
  let port: number;
  const env = { ...process.env, NO_COLOR: '', COMPOSE_PROJECT_NAME: '', COMPOSE_FILE: '', COMPOSE_PROFILES: '' };
  const composeIn = (cwd: string, ...args: string[]): Promise<CtrResult> => ctr.runWith({ env, cwd, timeoutMs: 120_000 }, 'compose', ...args);
  const seed = (...args: string[]): Promise<CtrResult> => composeIn(join(dir, 'seed'), '-p', 'seed', ...args);

  beforeAll(async () => {
    ctr = await localCtr('compose-up');
    dir = await mkdtemp(join(tmpdir(), 'ctr-cli-compose-up-'));
    port = await freePort();
    await mkdir(join(dir, 'seed'));
    await writeFile(join(dir, 'seed', 'Dockerfile'), 'FROM busybox\nRUN mkdir /www && echo hello from compose > /www/index.html\n');
    await writeFile(
      join(dir, 'seed', 'compose.yaml'),
      [
        'services:',
        '  web:',
        '    build: .',
        `    ports: ["${port}:5000"]`,
        '    command: ["httpd", "-f", "-p", "5000", "-h", "/www"]',
        '  worker:',
        '    image: busybox',
        '    command: ["sh", "-c", "echo worker says hello; trap \'exit 0\' TERM; while true; do sleep 0.2; done"]',
        '',
      ].join('\n'),
    );
  }, 120_000);

  afterAll(async () => {
    await seed('down', '-t', '1').catch(() => undefined);
    await ctr.cleanup();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test('up -d builds, creates and starts the services, saying so as plain progress', async () => {
    const result = await seed('up', '-d');
    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(result.stderr).toContain(' Network seed_default  Created\n');
    expect(result.stderr).toContain(' Container seed-web-1  Started\n');
    expect(result.stderr).toContain(' Container seed-worker-1  Started\n');
  }, 120_000);

  test('the published port serves what the built image holds', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(await response.text()).toBe('hello from compose\n');
  });

  test('ps lists the containers in compose\'s table', async () => {
    const result = await seed('ps');
    expect(result.code).toBe(0);
    const [header, web, worker] = result.stdout.split('\n');
    expect(header).toMatch(/^NAME +IMAGE +COMMAND +SERVICE +CREATED +STATUS +PORTS$/);
    expect(web).toMatch(new RegExp(`^seed-web-1 +seed-web +"httpd -f -p 5000 -h…" +web +.+ago +Up .+ 0\\.0\\.0\\.0:${port}->5000/tcp, \\[::\\]:${port}->5000/tcp$`));
    expect(worker).toMatch(/^seed-worker-1 +busybox +"sh -c 'echo worker …" +worker /);
  });

  test('ps --format json prints one object a line; -q the IDs; --services the services', async () => {
    const rows = (await seed('ps', '--format', 'json')).stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows.map((row) => [row.Name, row.Service, row.State])).toEqual([
      ['seed-web-1', 'web', 'running'],
      ['seed-worker-1', 'worker', 'running'],
    ]);
    expect(rows[0].Publishers).toEqual([
      { URL: '0.0.0.0', TargetPort: 5000, PublishedPort: port, Protocol: 'tcp' },
      { URL: '::', TargetPort: 5000, PublishedPort: port, Protocol: 'tcp' },
    ]);
    expect((await seed('ps', '-q')).stdout).toMatch(/^[0-9a-f]{64}\n[0-9a-f]{64}\n$/);
    expect((await seed('ps', '--services')).stdout).toBe('web\nworker\n');
  });

  test('logs prefixes each line with the container\'s short name', async () => {
    const result = await seed('logs', 'worker');
    expect(result).toMatchObject({ code: 0, stdout: 'worker-1  | worker says hello\n' });
    expect((await seed('logs', '--no-log-prefix', 'worker')).stdout).toBe('worker says hello\n');
  });

  test('ls lists the running project with its compose file', async () => {
    const result = await seed('ls');
    expect(result.stdout).toMatch(new RegExp(`\nseed +running\\(2\\) +${join(dir, 'seed', 'compose.yaml')}\n`));
    expect((await seed('ls', '-q', '--filter', 'name=^se')).stdout).toBe('seed\n');
  });

  test('down removes the containers and the network', async () => {
    const result = await seed('down', '-t', '1');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(' Container seed-web-1  Removed\n');
    expect(result.stderr).toContain(' Network seed_default  Removed\n');
    expect((await seed('ps', '-a', '-q')).stdout).toBe('');
    expect((await ctr.run('network', 'ls', '--format', '{{.Name}}')).stdout).not.toContain('seed_default');
  }, 60_000);

  test('an attached up shows the output, the exits, and returns --exit-code-from\'s code', async () => {
    const attached = join(dir, 'attached');
    await mkdir(attached);
    await writeFile(
      join(attached, 'compose.yaml'),
      'services:\n  job:\n    image: busybox\n    command: ["sh", "-c", "echo working; exit 3"]\n',
    );
    try {
      const result = await composeIn(attached, '-p', 'attached', 'up', '--exit-code-from', 'job');
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('Attaching to job-1\njob-1  | working\njob-1 exited with code 3\n');
    } finally {
      await composeIn(attached, '-p', 'attached', 'down', '-t', '1');
    }
  }, 60_000);

  test('Ctrl-C stops an attached up gracefully, and its status is 130', async () => {
    const interrupted = join(dir, 'interrupted');
    await mkdir(interrupted);
    await writeFile(
      join(interrupted, 'compose.yaml'),
      'services:\n  loop:\n    image: busybox\n    command: ["sh", "-c", "trap \'echo stopping; exit 0\' TERM; echo ready; while true; do sleep 0.2; done"]\n',
    );
    const [file, ...args] = ctr.argv('compose', '-p', 'interrupted', 'up');
    const child = spawn(file as string, args, { cwd: interrupted, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = once(child, 'close');
    try {
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes('loop-1  | ready\n')) resolve();
        });
      });
      child.kill('SIGINT');
      const [code] = await closed;
      expect(code).toBe(130);
      expect(stderr).toContain('Gracefully stopping... (press Ctrl+C again to force)\n Container interrupted-loop-1  Stopping\n');
      expect(stdout).toBe('Attaching to loop-1\nloop-1  | ready\nloop-1  | stopping\nloop-1 exited with code 0\n');
    } finally {
      child.kill('SIGKILL');
      await composeIn(interrupted, '-p', 'interrupted', 'down', '-t', '1');
    }
  }, 60_000);

  test('rm asks before removing stopped containers, and -f does not', async () => {
    const created = join(dir, 'created');
    await mkdir(created);
    await writeFile(join(created, 'compose.yaml'), 'services:\n  idle:\n    image: busybox\n');
    try {
      expect((await composeIn(created, '-p', 'created', 'create')).code).toBe(0);
      const declined = await ctr.runWith({ env, cwd: created, input: 'n\n' }, 'compose', '-p', 'created', 'rm');
      expect(declined).toMatchObject({ code: 0, stdout: 'Going to remove created-idle-1\nAre you sure? [yN] ' });
      expect((await composeIn(created, '-p', 'created', 'ps', '-a', '--services')).stdout).toBe('idle\n');
      const forced = await composeIn(created, '-p', 'created', 'rm', '-f');
      expect(forced).toMatchObject({ code: 0, stdout: 'Going to remove created-idle-1\n' });
      expect((await composeIn(created, '-p', 'created', 'ps', '-a', '-q')).stdout).toBe('');
      expect(await composeIn(created, '-p', 'created', 'rm', '-f')).toMatchObject({ code: 0, stderr: 'No stopped containers\n' });
    } finally {
      await composeIn(created, '-p', 'created', 'down');
    }
  }, 60_000);
});
