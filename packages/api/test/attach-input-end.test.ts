/**
 * The end of an attached client's input (its half-close), as dockerd's attach takes it
 * (CopyStreams): without a TTY, a StdinOnce container's stdin closes with it and the client
 * has its output to the end; any other client's attachment ends there, and the container
 * and its stdin go on for the next one.
 */
import * as net from 'node:net';
import { docker, request, useTestDaemon } from './fixture';

const t = useTestDaemon();

const STREAMS = 'stream=1&stdin=1&stdout=1&stderr=1';

interface Attached {
  /** Resolves once the daemon has sent `text` on the taken-over connection. */
  shown(text: string): Promise<void>;
  /** Everything the daemon sent, once it closed the connection. */
  closed: Promise<string>;
  write(input: string): void;
  /** Ends the client's side of the connection (a half-close: it still reads). */
  end(input?: string): void;
}

/** `POST /containers/{name}/attach?query`, the connection taken over as a client takes it (`Upgrade: tcp`). */
async function attach(name: string, query: string): Promise<Attached> {
  const socket = net.connect(t.socket);
  socket.write(`POST /containers/${name}/attach?${query} HTTP/1.1\r\nHost: ctr\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
  let received = '';
  const watchers = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    for (const watcher of watchers) watcher();
  });
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  const shown = (text: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!received.includes(text)) return;
        watchers.delete(check);
        resolve();
      };
      watchers.add(check);
      void closed.then(() => reject(new Error(`the connection closed without ${JSON.stringify(text)}: ${JSON.stringify(received)}`)));
      check();
    });
  await shown('HTTP/1.1 101');
  return { shown, closed, write: (input) => socket.write(input), end: (input) => void (input === undefined ? socket.end() : socket.end(input)) };
}

async function running(name: string): Promise<boolean> {
  return (await docker(t.env, ['inspect', '--format', '{{.State.Running}}', name])).stdout.trim() === 'true';
}

test('the end of a TTY container\'s attached input ends the attachment; the container runs on', async () => {
  expect((await docker(t.env, ['run', '-dit', '--name', 'end-tty', '--network', 'none', 'busybox', 'sh'])).code).toBe(0);
  const session = await attach('end-tty', STREAMS);
  session.write('echo $((6*7))\n');
  await session.shown('42\r\n');
  session.end();
  await session.closed;
  expect(await running('end-tty')).toBe(true);
});

test('the end of one client\'s input leaves a TTY container\'s stdin open for the next client', async () => {
  expect((await docker(t.env, ['run', '-dit', '--name', 'end-tty-next', '--network', 'none', 'busybox', 'sh'])).code).toBe(0);
  await (await attach('end-tty-next', STREAMS)).end('true\n');
  const next = await attach('end-tty-next', STREAMS);
  next.write('echo $((6*7))\n');
  await next.shown('42\r\n');
  next.end();
  await next.closed;
});

test('without a TTY, the end of the input of a container that keeps stdin open (run -di) ends the attachment; cat runs on', async () => {
  expect((await docker(t.env, ['run', '-di', '--name', 'end-di', '--network', 'none', 'busybox', 'cat'])).code).toBe(0);
  const session = await attach('end-di', STREAMS);
  session.end('hi\n');
  await session.closed;
  expect(await running('end-di')).toBe(true);
});

test('without a TTY, the end of a StdinOnce container\'s input closes its stdin, and the client has its output to the end', async () => {
  expect((await docker(t.env, ['create', '-i', '--name', 'end-once', '--network', 'none', 'busybox', 'sh', '-c', 'cat; echo after'])).code).toBe(0);
  const session = await attach('end-once', STREAMS);
  expect((await request(t.socket, 'POST', '/containers/end-once/start')).status).toBe(204);
  session.end('hi\n');
  const sent = await session.closed;
  expect(sent).toContain('hi\n');
  expect(sent).toContain('after\n');
  expect((await docker(t.env, ['wait', 'end-once'])).stdout.trim()).toBe('0');
});
