import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CTR_BIN, cleanEnv, ctr, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let work: string;
let sshd: ChildProcess | undefined;
let port = 0;
let containerId = '';

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

/** A home directory whose ~/.ssh holds the user's key and a known_hosts entry made from `hostKey`'s public half. */
async function home(name: string, hostKey: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, '.ssh'), { recursive: true, mode: 0o700 });
  await writeFile(join(dir, '.ssh', 'id_ed25519'), await readFile(join(work, 'user_key')), { mode: 0o600 });
  const [type, key] = (await readFile(join(work, `${hostKey}.pub`), 'utf8')).trim().split(/\s+/);
  await writeFile(join(dir, '.ssh', 'known_hosts'), `[127.0.0.1]:${port} ${type} ${key}\n`);
  return dir;
}

function overSsh(homeDir: string, args: string[]): Promise<Result> {
  const env = cleanEnv({ HOME: homeDir, CTR_CONFIG: join(homeDir, '.ctr') });
  delete env.SSH_AUTH_SOCK;
  return ctr(['-H', `ssh://root@127.0.0.1:${port}`, ...args], { env });
}

beforeAll(async () => {
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-remote-ssh-'));
  for (const name of ['host_key', 'user_key', 'other_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, name)]);
  await writeFile(join(work, 'authorized_keys'), await readFile(join(work, 'user_key.pub')));
  // The far side runs `ctr system dial-stdio`: this ctr, found on the session's PATH, reaching the test daemon.
  await mkdir(join(work, 'bin'));
  await writeFile(join(work, 'bin', 'ctr'), `#!/bin/sh\nexec '${process.execPath}' '${CTR_BIN}' "$@"\n`);
  await chmod(join(work, 'bin', 'ctr'), 0o755);
  port = await freePort();
  await writeFile(
    join(work, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(work, 'host_key')}`,
      `AuthorizedKeysFile ${join(work, 'authorized_keys')}`,
      `PidFile ${join(work, 'sshd.pid')}`,
      `SetEnv PATH=${join(work, 'bin')}:/usr/local/bin:/usr/bin:/bin CTR_HOST=unix://${t.socket}`,
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
  const failed = new Promise<never>((_, reject) => sshd?.once('error', (error) => reject(new Error(`sshd (openssh-server) could not be started: ${error.message}`))));
  await Promise.race([waitForListen(port), failed]).catch((error: Error) => {
    throw new Error(`${error.message}\n${log}`);
  });
  containerId = (await t.daemon.engine.create({ image: 'busybox', name: 'seen-over-ssh', network: 'none', cmd: ['true'] })).id;
});

afterAll(async () => {
  if (sshd && sshd.exitCode === null) {
    sshd.kill('SIGTERM');
    await new Promise((resolve) => sshd?.once('exit', resolve));
  }
  await t?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

test('ctr -H ssh://root@127.0.0.1:PORT ps lists the remote daemon\'s containers', async () => {
  const result = await overSsh(await home('good', 'host_key'), ['ps', '-a', '--format', '{{.ID}} {{.Names}}']);
  expect(result).toEqual({ code: 0, stdout: `${containerId.slice(0, 12)} seen-over-ssh\n`, stderr: '' });
});

test('run over ssh streams the output and passes on the exit code', async () => {
  const result = await overSsh(await home('run', 'host_key'), ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo over ssh; exit 5']);
  expect(result).toEqual({ code: 5, stdout: 'over ssh\n', stderr: '' });
});

test('a host key that does not match known_hosts is refused with a clear message', async () => {
  const result = await overSsh(await home('impostor', 'other_key'), ['ps']);
  expect(result.code).not.toBe(0);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(`the host key of 127.0.0.1:${port} does not match`);
  expect(result.stderr).not.toMatch(/\n\s+at /);
});
