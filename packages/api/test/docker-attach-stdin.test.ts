/**
 * A container's stdin through ctrd, as dockerd keeps it: the real docker CLI's `run -di` then
 * `docker attach` with piped input, again and again (stdin stays open: StdinOnce is false);
 * `run -i` (StdinOnce) ends at the end of its input. A remote run the user detached from
 * leaves no wait request behind. A published SCTP port is refused in words about the host.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { RemoteEngine } from '@ctr/api';
import { isDetached } from '@ctr/engine';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();

/**
 * `docker attach name` fed `input` (then the end of its input, which ends its attachment, as
 * dockerd's, while it waits on for the container's exit), until the container's log includes
 * `echo`; then the client goes, killed, as a closed terminal or a crash ends it.
 */
async function attachThenGo(name: string, input: string, echo: string): Promise<void> {
  const client = spawn('docker', ['attach', '--sig-proxy=false', name], { env: t.env, stdio: ['pipe', 'ignore', 'ignore'] });
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  client.stdin.end(input);
  try {
    for (let tries = 0; !(await docker(t.env, ['logs', name])).stdout.includes(echo); tries++) {
      if (tries === 100) throw new Error(`the container never read ${JSON.stringify(input)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.kill('SIGKILL');
    await closed;
  }
}

test('docker run -di keeps stdin open: attach clients whose input ended and went leave it for the next', async () => {
  expect((await docker(t.env, ['run', '-di', '--name', 'di-cat', '--network', 'none', 'busybox', 'cat'])).code).toBe(0);
  expect((await docker(t.env, ['inspect', '--format', '{{.Config.OpenStdin}} {{.Config.StdinOnce}}', 'di-cat'])).stdout.trim()).toBe('true false');
  await attachThenGo('di-cat', 'hi\n', 'hi\n');
  await attachThenGo('di-cat', 'again\n', 'again\n');
  expect((await t.daemon.engine.inspect('di-cat')).State.Running).toBe(true);
  expect((await docker(t.env, ['logs', 'di-cat'])).stdout).toBe('hi\nagain\n');
});

test('docker run -i closes stdin at the end of its input (StdinOnce): cat ends', async () => {
  const run = await docker(t.env, ['run', '--rm', '-i', '--network', 'none', 'busybox', 'cat'], { input: 'hi\n' });
  expect(run).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
});

test('docker run -p 80/sctp is refused, saying the host has no SCTP rather than naming --expose', async () => {
  const run = await docker(t.env, ['run', '--rm', '-p', '80/sctp', 'busybox', 'true']);
  expect(run.code).toBe(125);
  expect(run.stderr).toContain('cannot use port 80/sctp: ');
  expect(run.stderr).not.toContain('--expose');
  expect(run.stderr).toContain(existsSync('/proc/net/sctp') ? "ctr's networks carry tcp and udp only" : 'SCTP is not supported on this host');
});

/** A unix socket in front of the daemon's, which knows each connection's last request and when it closed. */
async function requestWatcher(path: string): Promise<{ connections: Array<{ lastRequest: string; closed: Promise<void> }>; close(): Promise<void> }> {
  const connections: Array<{ lastRequest: string; closed: Promise<void> }> = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(t.socket);
    const seen = { lastRequest: '', closed: new Promise<void>((resolve) => client.once('close', () => resolve())) };
    connections.push(seen);
    client.on('data', (chunk: Buffer) => {
      const line = /^(?:GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]\r$/m.exec(chunk.toString('latin1'));
      if (line) seen.lastRequest = line[1] as string;
    });
    client.pipe(upstream).on('error', () => client.destroy());
    upstream.pipe(client).on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { connections, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('a remote run detached from with the keys ends its wait request; the container runs on', async () => {
  const watcher = await requestWatcher(join(t.runRoot, 'watched.sock'));
  const engine = new RemoteEngine({ host: `unix://${join(t.runRoot, 'watched.sock')}` });
  try {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let shown = '';
    const ready = new Promise<void>((resolve) => stdout.on('data', (chunk: Buffer) => (shown += chunk.toString()).includes('ready') && resolve()));
    const run = engine.run({ image: 'busybox', name: 'remote-detached', network: 'none', tty: true, openStdin: true, cmd: ['sh', '-c', 'echo ready; exec cat'], stdin, stdout });
    await ready;
    stdin.write(Buffer.from([0x10, 0x11]));
    expect(isDetached(await run.catch((error: unknown) => error))).toBe(true);
    const waits = watcher.connections.filter((c) => /\/containers\/[^/]+\/wait\b/.test(c.lastRequest));
    expect(waits).toHaveLength(1);
    // Without the end of the wait this would hang until the container exits, which it does not.
    await waits[0]?.closed;
    expect((await t.daemon.engine.inspect('remote-detached')).State.Running).toBe(true);
  } finally {
    engine.close();
    await watcher.close();
  }
});
