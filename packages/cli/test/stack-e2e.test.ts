import { writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../../../test/support/free-port';
import { eventually, localSwarmCtr, type LocalCtr } from './local-ctr';

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/**
 * `ctr stack` end to end on a real engine and swarm: a stack of two services on an overlay
 * network, with a secret and a published port, deployed, listed and removed as docker does.
 */
describe('ctr stack on a swarm', () => {
  let ctr: LocalCtr;
  let port: number;
  let file: string;

  beforeAll(async () => {
    ctr = await localSwarmCtr('stack-e2e');
    port = await freePort();
    file = join(ctr.root, 'stack.yml');
    await writeFile(join(ctr.root, 'token'), 'open sesame');
    await writeFile(
      file,
      [
        'services:',
        '  web:',
        '    image: busybox',
        // PID 1 ignores SIGTERM unless it handles it: an init stops each task at once, not after 10 s.
        '    init: true',
        '    command: ["sh", "-c", "mkdir -p /www && echo hello from $$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"]',
        `    ports: ["${port}:80"]`,
        '    networks: [back]',
        // Watched 1 s once its tasks run, not docker's 5 s, where the deploy waits for it.
        '    deploy: {replicas: 2, update_config: {monitor: 1s}}',
        '  worker:',
        '    image: busybox',
        '    init: true',
        '    command: ["sh", "-c", "exec sleep 600"]',
        '    networks: [back]',
        '    secrets: [token]',
        '    deploy: {update_config: {monitor: 1s}}',
        'networks:',
        '  back: {}',
        'secrets:',
        '  token: {file: ./token}',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    if (!ctr) return;
    await ctr.run('stack', 'rm', 'shop');
    await ctr.cleanup();
  });

  test('deploy creates the network, the secret and both services and waits for them with --detach=false', async () => {
    const result = await ctr.run('stack', 'deploy', '-c', file, '--detach=false', '--quiet', 'shop');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('Creating network shop_back\nCreating secret shop_token\nCreating service shop_web\nCreating service shop_worker\n');
  });

  test('ls shows the stack and its two services', async () => {
    expect((await ctr.run('stack', 'ls')).stdout).toBe('NAME      SERVICES\nshop      2\n');
  });

  test('services shows each service converged, and the published port', async () => {
    const result = await ctr.run('stack', 'services', '--format', '{{.Name}} {{.Replicas}} {{.Ports}}', 'shop');
    expect(result.stdout).toBe(`shop_web 2/2 *:${port}->80/tcp\nshop_worker 1/1 \n`);
  });

  test('ps lists the three running tasks', async () => {
    const result = await ctr.run('stack', 'ps', '--format', '{{.Name}} {{.DesiredState}} {{.CurrentState}}', 'shop');
    const lines = result.stdout.trim().split('\n');
    expect(lines.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual(['shop_web.1 Running', 'shop_web.2 Running', 'shop_worker.1 Running']);
    expect(lines.every((line) => / Running /.test(line))).toBe(true);
  });

  test('the published port reaches the web service through the routing mesh', async () => {
    expect(await httpGet(port)).toMatch(/^hello from /);
  });

  test('the worker task has the secret at /run/secrets/token', async () => {
    const ids = (await ctr.run('ps', '-q', '--filter', 'label=com.docker.swarm.service.name=shop_worker')).stdout.trim();
    expect(ids).not.toBe('');
    expect((await ctr.run('exec', ids.split('\n')[0] as string, 'cat', '/run/secrets/token')).stdout).toBe('open sesame');
  });

  test('the services find each other by name on the stack network', async () => {
    const ids = (await ctr.run('ps', '-q', '--filter', 'label=com.docker.swarm.service.name=shop_worker')).stdout.trim().split('\n');
    const result = await ctr.run('exec', ids[0] as string, 'wget', '-q', '-O', '-', 'http://web/');
    expect(result.stdout).toMatch(/^hello from /);
  });

  test('a redeploy updates both services in place', async () => {
    const ids = (await ctr.run('stack', 'services', '-q', 'shop')).stdout.trim().split('\n');
    const result = await ctr.run('stack', 'deploy', '-c', file, 'shop');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean).map((line) => line.replace(/\(id: \w+\)/, '(id: X)'))).toEqual(['Updating service shop_web (id: X)', 'Updating service shop_worker (id: X)']);
    expect((await ctr.run('stack', 'services', '-q', 'shop')).stdout.trim().split('\n')).toEqual(ids);
  });

  test('rm removes the services, the secret and the network; a second rm finds nothing', async () => {
    const result = await ctr.run('stack', 'rm', 'shop');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('Removing service shop_web\nRemoving service shop_worker\nRemoving secret shop_token\nRemoving network shop_back\n');
    expect(await eventually(async () => (await ctr.run('ps', '-aq', '--filter', 'label=com.docker.swarm.service.name')).stdout === '')).toBe(true);
    const again = await ctr.run('stack', 'rm', 'shop');
    expect(again).toMatchObject({ code: 0, stdout: '', stderr: 'Nothing found in stack: shop\n' });
  });
});
