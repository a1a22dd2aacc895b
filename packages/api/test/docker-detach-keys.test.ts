/**
 * Attach streams and detach keys through ctrd: the real docker CLI's `-a` and
 * `--detach-keys` (it watches the keys itself and drops the connection), and the daemon's
 * own watch of a hijacked session's input for the `detachKeys` query parameter (attach) and
 * `DetachKeys` field (exec create), for clients that leave it to the daemon.
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { inTerminal, type TerminalSession } from '../../../test/support/terminal';
import { docker, json, request, useTestDaemon } from './fixture';

const t = useTestDaemon();
const CTRL_P = '\x10';
const CTRL_Q = '\x11';
const sessions: TerminalSession[] = [];

afterEach(() => {
  for (const session of sessions.splice(0)) session.kill();
});

function terminal(args: string[]): TerminalSession {
  const session = inTerminal(['docker', ...args], t.env);
  sessions.push(session);
  return session;
}

async function typeKeys(session: TerminalSession, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    session.type(key);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A shell with a terminal and its stdin open, running until the test removes it. */
async function runningShell(name: string): Promise<string> {
  const run = await docker(t.env, ['run', '-dit', '--name', name, '--network', 'none', 'busybox', 'sh']);
  expect(run.code).toBe(0);
  return run.stdout.trim();
}

async function running(name: string): Promise<boolean> {
  return (await docker(t.env, ['inspect', '--format', '{{.State.Running}}', name])).stdout.trim() === 'true';
}

/** A hijacked session (`Upgrade: tcp`), as a client opens it; rejects with the daemon's answer when it is not 101. */
function hijack(path: string, body?: unknown): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath: t.socket,
      method: 'POST',
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'tcp', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    });
    req.once('upgrade', (_res, socket: Duplex, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (res) => reject(new Error(`answered ${res.statusCode} instead of taking the connection over`)));
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** What the daemon sends on a session: `shown` resolves once it has sent `text`, `closed` with everything once it closes it. */
function received(socket: Duplex): { shown(text: RegExp): Promise<void>; closed: Promise<string> } {
  let sent = '';
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(sent)));
  socket.on('data', (chunk: Buffer) => (sent += chunk.toString('latin1')));
  const shown = (text: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!text.test(sent)) return;
        socket.off('data', check);
        resolve();
      };
      socket.on('data', check);
      void closed.then(() => reject(new Error(`the session closed without showing ${String(text)}: ${JSON.stringify(sent)}`)));
      check();
    });
  return { shown, closed };
}

test('docker run -a stderr shows only stderr, and inspect records what was attached', async () => {
  const run = await docker(t.env, ['run', '-a', 'stderr', '--name', 'api-a-stderr', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
  expect(run).toEqual({ code: 0, stdout: '', stderr: 'err\n' });
  const inspect = await docker(t.env, ['inspect', '--format', '{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}}', 'api-a-stderr']);
  expect(inspect.stdout.trim()).toBe('false false true');
  await docker(t.env, ['rm', 'api-a-stderr']);
});

test('docker run -d records nothing attached', async () => {
  const run = await docker(t.env, ['run', '-d', '-i', '--name', 'api-a-detached', '--network', 'none', 'busybox', 'true']);
  expect(run.code).toBe(0);
  const inspect = await docker(t.env, ['inspect', '--format', '{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}} {{.Config.StdinOnce}}', 'api-a-detached']);
  expect(inspect.stdout.trim()).toBe('false false false false');
  await docker(t.env, ['rm', '-f', 'api-a-detached']);
});

test('docker run --rm -it detaches with 0; the container runs on, and the daemon removes it once it exits', async () => {
  const session = terminal(['run', '--rm', '-it', '--name', 'api-detach-run', '--network', 'none', 'busybox', 'sh']);
  await session.waitFor('/ # ');
  await typeKeys(session, CTRL_P, CTRL_Q);
  expect(await session.exited).toBe(0);
  expect(await running('api-detach-run')).toBe(true);
  expect((await docker(t.env, ['kill', 'api-detach-run'])).code).toBe(0);
  for (let tries = 0; tries < 50 && (await docker(t.env, ['inspect', 'api-detach-run'])).code === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
  expect((await docker(t.env, ['inspect', 'api-detach-run'])).code).toBe(1);
});

test('docker attach --detach-keys detaches: "read escape sequence", 1, and the shell keeps its stdin', async () => {
  await runningShell('api-detach-attach');
  try {
    const session = terminal(['attach', '--detach-keys', 'ctrl-a,x', 'api-detach-attach']);
    session.type('echo $((40 + 2))\r');
    await session.waitFor(/^42\r*$/m);
    await typeKeys(session, '\x01', 'x');
    expect(await session.exited).toBe(1);
    expect(session.output()).toMatch(/read escape sequence\r?\n$/);
    expect(await running('api-detach-attach')).toBe(true);
    const again = terminal(['attach', 'api-detach-attach']);
    again.type('echo $((40 + 3))\r');
    await again.waitFor(/^43\r*$/m);
    await typeKeys(again, CTRL_P, CTRL_Q);
    expect(await again.exited).toBe(1);
  } finally {
    await docker(t.env, ['rm', '-f', 'api-detach-attach']);
  }
});

test('docker exec -it detaches with the default keys; the exec runs on', async () => {
  await runningShell('api-detach-exec');
  try {
    const session = terminal(['exec', '-it', 'api-detach-exec', 'sh', '-c', 'echo ready; exec sleep 600']);
    await session.waitFor('ready');
    await typeKeys(session, CTRL_P, CTRL_Q);
    expect(await session.exited).toBe(1);
    expect(session.output()).toMatch(/read escape sequence\r?\n$/);
    expect((await docker(t.env, ['exec', 'api-detach-exec', 'ps', '-o', 'args'])).stdout).toMatch(/^sleep 600$/m);
  } finally {
    await docker(t.env, ['rm', '-f', 'api-detach-exec']);
  }
});

test('the daemon watches an attach session for detachKeys: it ends the session, and the container runs on', async () => {
  const id = await runningShell('api-detach-raw');
  try {
    const socket = await hijack(`/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-a,x`);
    const session = received(socket);
    socket.write('echo $((40 + 2))\r');
    // The keys go once the shell has answered: what the session shows before them is the result.
    await session.shown(/^42\r*$/m);
    socket.write('\x01x');
    expect(await session.closed).toMatch(/^42\r*$/m);
    expect(await running('api-detach-raw')).toBe(true);
  } finally {
    await docker(t.env, ['rm', '-f', 'api-detach-raw']);
  }
});

test('the daemon watches an exec session for DetachKeys: it ends the session, and the exec runs on', async () => {
  const id = await runningShell('api-detach-raw-exec');
  try {
    const created = await request(t.socket, 'POST', `/containers/${id}/exec`, JSON.stringify({ Cmd: ['sh', '-c', 'echo ready; exec sleep 600'], Tty: true, AttachStdin: true, AttachStdout: true, DetachKeys: 'ctrl-a,x' }));
    expect(created.status).toBe(201);
    const execId = (json(created) as { Id: string }).Id;
    expect((json(await request(t.socket, 'GET', `/exec/${execId}/json`)) as { DetachKeys: string }).DetachKeys).toBe(Buffer.from([1, 0x78]).toString('base64'));
    const socket = await hijack(`/exec/${execId}/start`, { Detach: false, Tty: true });
    const session = received(socket);
    await session.shown(/ready/);
    socket.write('\x01x');
    expect(await session.closed).toMatch(/ready/);
    const inspect = json(await request(t.socket, 'GET', `/exec/${execId}/json`)) as { Running: boolean; ExitCode: number | null };
    expect(inspect).toMatchObject({ Running: true, ExitCode: null });
    expect((await docker(t.env, ['exec', 'api-detach-raw-exec', 'ps', '-o', 'args'])).stdout).toMatch(/^sleep 600$/m);
  } finally {
    await docker(t.env, ['rm', '-f', 'api-detach-raw-exec']);
  }
});

test('invalid detach keys are refused with 400 in dockerd\'s words: "detach" for attach, "escape" for exec', async () => {
  const id = await runningShell('api-detach-bad');
  try {
    const attach = await request(t.socket, 'POST', `/containers/${id}/attach?stream=1&stdin=1&detachKeys=ctrl-P`);
    expect(attach.status).toBe(400);
    expect((json(attach) as { message: string }).message).toMatch(/^Invalid detach keys \(ctrl-P\) provided/);
    const exec = await request(t.socket, 'POST', `/containers/${id}/exec`, JSON.stringify({ Cmd: ['true'], DetachKeys: 'nope' }));
    expect(exec.status).toBe(400);
    expect((json(exec) as { message: string }).message).toMatch(/^Invalid escape keys \(nope\) provided/);
  } finally {
    await docker(t.env, ['rm', '-f', 'api-detach-bad']);
  }
});
