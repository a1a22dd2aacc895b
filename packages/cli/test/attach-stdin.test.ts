/**
 * A container's stdin as docker keeps it: `run -i` / `create -i` (StdinOnce) close it when the
 * attached input ends; `run -di` keeps it open for every later attach, whether a client's input
 * ends or the client goes. Input is read only once the container exists (a missing image is
 * pulled first). A published SCTP port is refused in words about the host.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer } from '@ctr/registry';
import { inTerminal, type TerminalSession } from '../../../test/support/terminal';
import { localCtr, type LocalCtr } from './local-ctr';

const RUN = ['--network', 'none', '--pull', 'never'];

let local: LocalCtr;
const sessions: TerminalSession[] = [];

beforeAll(async () => {
  local = await localCtr('attach-stdin');
});

afterEach(() => {
  for (const session of sessions.splice(0)) session.kill();
});

afterAll(async () => {
  await local?.cleanup();
});

async function inspect(name: string, format: string): Promise<string> {
  return (await local.run('inspect', '--format', format, name)).stdout.trim();
}

/**
 * `ctr attach name` fed `input` (then the end of its input, which ends its attachment, as
 * dockerd's, while it waits on for the container's exit), until the container's log includes
 * `echo`; then the client goes, killed, as a closed terminal or a crash ends it.
 */
async function attachThenGo(name: string, input: string, echo: string): Promise<void> {
  const [bin, ...args] = local.argv('attach', '--sig-proxy=false', name) as [string, ...string[]];
  const client = spawn(bin, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  client.stdin.end(input);
  try {
    for (let tries = 0; !(await local.run('logs', name)).stdout.includes(echo); tries++) {
      if (tries === 100) throw new Error(`the container never read ${JSON.stringify(input)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.kill('SIGKILL');
    await closed;
  }
}

test('run -di keeps stdin open: a client whose input ended and went leaves it for the next one', async () => {
  expect((await local.run('run', '-di', '--name', 'as-di', ...RUN, 'busybox', 'cat')).code).toBe(0);
  expect(await inspect('as-di', '{{.Config.OpenStdin}} {{.Config.StdinOnce}}')).toBe('true false');
  await attachThenGo('as-di', 'hi\n', 'hi\n');
  await attachThenGo('as-di', 'again\n', 'again\n');
  expect(await inspect('as-di', '{{.State.Status}}')).toBe('running');
  expect((await local.run('logs', 'as-di')).stdout).toBe('hi\nagain\n');
});

test('run -i closes stdin at the end of its input (StdinOnce): cat ends', async () => {
  const run = await local.runWith({ env: process.env, input: 'hi\n' }, 'run', '--rm', '-i', ...RUN, 'busybox', 'cat');
  expect(run).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
});

test('create -i records StdinOnce, and start -ai closes stdin at the end of its input', async () => {
  expect((await local.run('create', '-i', '--name', 'as-created', ...RUN, 'busybox', 'sh', '-c', 'cat; echo eof')).code).toBe(0);
  expect(await inspect('as-created', '{{.Config.AttachStdin}} {{.Config.StdinOnce}}')).toBe('true true');
  const start = await local.runWith({ env: process.env, input: 'hi\n' }, 'start', '-ai', 'as-created');
  expect(start).toEqual({ code: 0, stdout: 'hi\neof\n', stderr: '' });
});

test('a published sctp port is refused, saying the host has no SCTP rather than naming --expose', async () => {
  const run = await local.run('run', '--rm', '-p', '80/sctp', '--pull', 'never', 'busybox', 'true');
  expect(run.code).toBe(125);
  expect(run.stderr).toContain('cannot use port 80/sctp: ');
  expect(run.stderr).not.toContain('--expose');
  // This machine kind's kernel has no SCTP; one that has it is told ctr's networks carry tcp and udp only.
  expect(run.stderr).toContain(existsSync('/proc/net/sctp') ? "ctr's networks carry tcp and udp only" : 'SCTP is not supported on this host');
});

describe('with an image to pull first', () => {
  let registryRoot: string;
  let registry: RegistryServer;
  let image: string;

  beforeAll(async () => {
    registryRoot = await mkdtemp(join(tmpdir(), 'ctr-cli-attach-stdin-registry-'));
    registry = new RegistryServer({ store: new MemoryContentStore(), root: registryRoot });
    await registry.listen();
    image = `${registry.host}/typed/ahead:v1`;
    for (const args of [['tag', 'busybox', image], ['push', image], ['rmi', image]]) {
      const result = await local.run(...args);
      if (result.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${result.stderr}`);
    }
  });

  afterAll(async () => {
    await registry?.close();
    if (registryRoot) await rm(registryRoot, { recursive: true, force: true });
  });

  test('run -it reads no input before its container exists: a line typed ahead reaches the container after the pull', async () => {
    const session = inTerminal(local.argv('run', '-it', '--rm', '--network', 'none', image, 'sh', '-c', 'read line; echo "got:$line"'), process.env);
    sessions.push(session);
    // Typed before ctr even runs: the line waits in the terminal while the first create fails and the image is pulled.
    session.type('hello\r');
    await session.waitFor('got:hello');
    expect(session.output()).toContain(`Unable to find image '${image}' locally`);
    expect(await session.exited).toBe(0);
  });
});
