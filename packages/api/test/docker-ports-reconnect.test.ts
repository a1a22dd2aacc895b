/**
 * Published ports survive `docker network disconnect` / `connect` and docker-compose 1.29's
 * disconnect-and-reconnect of each container before it starts (how it sets aliases).
 */
import * as http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/support/free-port';
import { docker, dockerCompose, useTestDaemon, type Run } from './fixture';

const t = useTestDaemon();
let project: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'ctr-api-reconnect-'));
});
afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});
/** The body served on the host port, retrying while the server in the container starts. */
async function fetchPort(port: number): Promise<string> {
  let last = '';
  for (let i = 0; i < 40; i++) {
    last = await new Promise<string>((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', timeout: 2000 }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`))
        .on('timeout', function (this: http.ClientRequest) {
          this.destroy();
        });
    });
    if (!last.startsWith('error')) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

const WEB = 'mkdir /w && echo served > /w/index.html && exec httpd -f -p 80 -h /w';

test('docker network disconnect then connect keeps the published port answering', async () => {
  const port = await freePort();
  expect((await docker(t.env, ['network', 'create', 'reconnect-net'])).code).toBe(0);
  const run = await docker(t.env, ['run', '-d', '--name', 'reconnect-web', '--network', 'reconnect-net', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', WEB]);
  expect(run.code).toBe(0);
  expect(await fetchPort(port)).toBe('served\n');
  expect((await docker(t.env, ['network', 'disconnect', 'reconnect-net', 'reconnect-web'])).code).toBe(0);
  expect((await docker(t.env, ['network', 'connect', 'reconnect-net', 'reconnect-web'])).code).toBe(0);
  expect(await fetchPort(port)).toBe('served\n');
  expect((await docker(t.env, ['network', 'connect', 'bridge', 'reconnect-web'])).code).toBe(0);
  expect(await fetchPort(port)).toBe('served\n');
  expect((await docker(t.env, ['port', 'reconnect-web'])).stdout).toBe(`80/tcp -> 127.0.0.1:${port}\n`);
  await docker(t.env, ['rm', '-f', 'reconnect-web']);
  await docker(t.env, ['network', 'rm', 'reconnect-net']);
}, 60_000);

test('a docker-compose service publishes its port (compose reconnects it before the start)', async () => {
  const port = await freePort();
  await writeFile(
    join(project, 'docker-compose.yml'),
    ['version: "3"', 'services:', '  web:', '    image: busybox', `    command: ["sh", "-c", "${WEB}"]`, '    ports:', `      - "127.0.0.1:${port}:80"`, ''].join('\n'),
  );
  const compose = (args: string[]): Promise<Run> => dockerCompose(t.env, project, 'ctrreconnect', args);
  try {
    const up = await compose(['up', '-d']);
    expect(up.code).toBe(0);
    expect(await fetchPort(port)).toBe('served\n');
  } finally {
    expect((await compose(['down', '-t', '1'])).code).toBe(0);
  }
}, 120_000);
