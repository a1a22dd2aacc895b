import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '@ctr/api';
import { startTestDaemon, type TestDaemon } from './fixture';

const BUILT = join(__dirname, '..', 'dist', 'index.js');

let t: TestDaemon;
let work: string;
let sshd: ChildProcess | undefined;
let port = 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b packages/api)`);
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-api-ssh-'));
  for (const name of ['host_key', 'user_key', 'other_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, name)]);
  await writeFile(join(work, 'authorized_keys'), await readFile(join(work, 'user_key.pub')));
  port = await freePort();
  await writeFile(
    join(work, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(work, 'host_key')}`,
      `AuthorizedKeysFile ${join(work, 'authorized_keys')}`,
      `PidFile ${join(work, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      '',
    ].join('\n'),
  );
  await mkdir('/run/sshd', { recursive: true });
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(work, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sshd.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const spawned = new Promise<never>((_, reject) => sshd?.once('error', (error) => reject(new Error(`sshd (openssh-server) could not be started: ${error.message}`))));
  await Promise.race([waitForListen(port), spawned]).catch((error: Error) => {
    throw new Error(`${error.message}\n${log}`);
  });
});

async function waitForListen(p: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.createConnection(p, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${p}`);
}

afterAll(async () => {
  if (sshd && sshd.exitCode === null) {
    sshd.kill('SIGTERM');
    await new Promise((resolve) => sshd?.once('exit', resolve));
  }
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

function dialStdioCommand(): string {
  const script = `require(${JSON.stringify(BUILT)}).dialStdio(${JSON.stringify(t.socket)}, process.stdin, process.stdout).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })`;
  return `${process.execPath} -e '${script}'`;
}

async function knownHosts(keyFile: string): Promise<string> {
  const file = join(work, `known_hosts-${keyFile}`);
  const [type, key] = (await readFile(join(work, `${keyFile}.pub`), 'utf8')).trim().split(/\s+/);
  await writeFile(file, `[127.0.0.1]:${port} ${type} ${key}\n`);
  return file;
}

test('the typed client speaks to ctrd over ssh:// through dial-stdio', async () => {
  const client = new ApiClient({
    host: `ssh://root@127.0.0.1:${port}`,
    ssh: { privateKey: await readFile(join(work, 'user_key')), knownHosts: await knownHosts('host_key'), dialStdio: dialStdioCommand() },
  });
  try {
    expect((await client.ping()).apiVersion).toBe('1.47');
    const { Id } = await client.createContainer({ Image: 'busybox', Cmd: ['echo', 'over ssh'], HostConfig: { NetworkMode: 'none' } });
    // Each request opens its own SSH channel, so `next-exit` sent before start may arrive after the exit.
    await client.startContainer(Id);
    expect((await client.waitContainer(Id, 'not-running')).StatusCode).toBe(0);
    const out: string[] = [];
    for await (const entry of client.logs(Id)) out.push(entry.data.toString());
    expect(out.join('')).toBe('over ssh\n');
    await client.removeContainer(Id);
  } finally {
    client.close();
  }
});

test('a host key that does not match known_hosts is refused', async () => {
  const client = new ApiClient({
    host: `ssh://root@127.0.0.1:${port}`,
    ssh: { privateKey: await readFile(join(work, 'user_key')), knownHosts: await knownHosts('other_key'), dialStdio: dialStdioCommand() },
  });
  await expect(client.ping()).rejects.toMatchObject({ code: 'Unauthorized', message: expect.stringContaining('does not match') });
  client.close();
});

test('a host missing from known_hosts is refused before connecting', async () => {
  const empty = join(work, 'known_hosts-empty');
  await writeFile(empty, '');
  const client = new ApiClient({ host: `ssh://root@127.0.0.1:${port}`, ssh: { privateKey: await readFile(join(work, 'user_key')), knownHosts: empty } });
  await expect(client.ping()).rejects.toMatchObject({ code: 'Unauthorized', message: expect.stringContaining('no host key for 127.0.0.1') });
});
