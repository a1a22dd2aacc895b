/**
 * Exec terminals through the API: `ConsoleSize` on start and `POST /exec/{id}/resize`
 * reach the exec's pty (what `stty size` inside reports), from dockerode and from the real
 * docker CLI's `exec -it` in a terminal.
 */
import Docker from 'dockerode';
import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { request, useTestDaemon } from './fixture';

const t = useTestDaemon();
let client: Docker;
let containerId: string;

beforeAll(async () => {
  client = new Docker({ socketPath: t.socket });
  const container = await client.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'], HostConfig: { NetworkMode: 'none' } });
  await container.start();
  containerId = container.id;
});
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

test('dockerode: an exec starts at ConsoleSize and follows exec.resize', async () => {
  const exec = await client.getContainer(containerId).exec({ Cmd: ['sh', '-c', 'stty size; read x; stty size'], Tty: true, AttachStdin: true, AttachStdout: true });
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true, ConsoleSize: [24, 80] } as Docker.ExecStartOptions)) as Duplex;
  let out = '';
  stream.on('data', (c: Buffer) => (out += c.toString()));
  await until(() => out.includes('24 80'), 'the first stty size');
  await exec.resize({ h: 40, w: 100 });
  stream.write('go\n');
  await until(() => out.includes('40 100'), 'the size after the resize');
  expect(out.split('\r\n').filter((l) => /^\d+ \d+$/.test(l))).toEqual(['24 80', '40 100']);
});

test('the docker CLI: exec -it in a terminal gets the size of that terminal', async () => {
  // `script` gives docker a real terminal; stty sets that terminal's size before docker reads it.
  const command = `stty rows 31 cols 97; docker exec -it ${containerId} sh -c 'stty size'`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: t.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stdin.end();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(out).toContain('31 97');
  expect(code).toBe(0);
});

test('resize needs h and w, a size a terminal can have, a TTY exec, and an exec that exists', async () => {
  const plain = await client.getContainer(containerId).exec({ Cmd: ['true'], AttachStdout: true });
  expect((await request(t.socket, 'POST', `/v1.47/exec/${plain.id}/resize?h=10&w=10`)).status).toBe(409);
  const tty = await client.getContainer(containerId).exec({ Cmd: ['sleep', '5'], Tty: true });
  expect((await request(t.socket, 'POST', `/v1.47/exec/${tty.id}/resize?h=10`)).status).toBe(400);
  expect((await request(t.socket, 'POST', `/v1.47/exec/${tty.id}/start`, JSON.stringify({ Detach: true }))).status).toBe(200);
  expect((await request(t.socket, 'POST', `/v1.47/exec/${tty.id}/resize?h=0&w=99999`)).status).toBe(400);
  expect((await request(t.socket, 'POST', `/v1.47/exec/${tty.id}/resize?h=12&w=34`)).status).toBe(200);
  expect((await request(t.socket, 'POST', '/v1.47/exec/nope/resize?h=10&w=10')).status).toBe(404);
});

test('resizing an exec that has ended is 409', async () => {
  const exec = await client.getContainer(containerId).exec({ Cmd: ['true'], Tty: true });
  await request(t.socket, 'POST', `/v1.47/exec/${exec.id}/start`, JSON.stringify({ Detach: true }));
  for (let i = 0; i < 100 && (await exec.inspect()).Running; i++) await new Promise((r) => setTimeout(r, 50));
  const response = await request(t.socket, 'POST', `/v1.47/exec/${exec.id}/resize?h=10&w=10`);
  expect(response.status).toBe(409);
  expect(response.body.toString()).toContain('is not running');
});

test('a bad ConsoleSize is 400 and the exec can still be started', async () => {
  const exec = await client.getContainer(containerId).exec({ Cmd: ['true'], Tty: true });
  const bad = await request(t.socket, 'POST', `/v1.47/exec/${exec.id}/start`, JSON.stringify({ Detach: true, ConsoleSize: [1, 2, 3] }));
  expect(bad.status).toBe(400);
  const good = await request(t.socket, 'POST', `/v1.47/exec/${exec.id}/start`, JSON.stringify({ Detach: true, ConsoleSize: [10, 20] }));
  expect(good.status).toBe(200);
});
