import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, dockerCompose, useTestDaemon, type Run } from './fixture';

const t = useTestDaemon();
let project: string;
beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'ctr-api-compose-'));
  await mkdir(join(project, 'web'));
  await writeFile(
    join(project, 'web', 'Dockerfile'),
    'FROM busybox\nRUN mkdir /www && echo hello-from-web > /www/index.html\nEXPOSE 80\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n',
  );
  const port = 20000 + Math.floor(Math.random() * 20000);
  // The client finds `web` through the network's DNS (busybox's own resolver: its static glibc cannot use NSS).
  await writeFile(
    join(project, 'docker-compose.yml'),
    [
      'version: "3"',
      'services:',
      '  web:',
      '    build: ./web',
      '    ports:',
      `      - "127.0.0.1:${port}:80"`,
      '  client:',
      '    image: busybox',
      '    depends_on: [web]',
      '    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do ip=$$(nslookup web 127.0.0.11 | awk \'/^Address/ {a=$$NF} END {print a}\'); wget -qO- http://$$ip/ && break; sleep 0.5; done; sleep 60"]',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});
function compose(args: string[]): Promise<Run> {
  return dockerCompose(t.env, project, 'ctrapi', args);
}

test('docker-compose 1.29 builds, starts, lists, shows logs of and takes down a two-service project', async () => {
  const up = await compose(['up', '-d']);
  expect(up.stderr).toMatch(/Creating ctrapi_web_1 \.\.\. done/);
  expect(up.code).toBe(0);

  const ps = await compose(['ps', '--services', '--filter', 'status=running']);
  expect(ps.stdout.split('\n').filter(Boolean).sort()).toEqual(['client', 'web']);
  const listed = await docker(t.env, ['ps', '--format', '{{.Names}}']);
  expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual(['ctrapi_client_1', 'ctrapi_web_1']);

  let logs = '';
  for (let i = 0; i < 60 && !logs.includes('hello-from-web'); i++) {
    logs = (await compose(['logs', '--no-color', 'client'])).stdout;
    if (!logs.includes('hello-from-web')) await new Promise((r) => setTimeout(r, 250));
  }
  expect(logs).toContain('hello-from-web');

  const down = await compose(['down', '-t', '1']);
  expect(down.code).toBe(0);
  expect((await docker(t.env, ['ps', '-aq'])).stdout).toBe('');
  expect((await docker(t.env, ['network', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain('ctrapi_default');
}, 120_000);
