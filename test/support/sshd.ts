import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { freePort } from './free-port';

/** A throwaway OpenSSH server on 127.0.0.1 that accepts `user_key` for root. */
export interface TestSshd {
  port: number;
  /** A known_hosts line naming this server by the public half of `keyName` (`host_key` is its real one). */
  knownHostsLine(keyName: string): Promise<string>;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

async function waitForListen(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.createConnection(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port}`);
}

/**
 * Makes ed25519 keys `host_key`, `user_key` and `other_key` (each with its `.pub`) in `dir`,
 * authorizes `user_key`, and runs `/usr/sbin/sshd -D` with `host_key` on a free port.
 * `extraConfig` lines (such as `SetEnv …`) are added to its sshd_config.
 * A server that cannot start fails with its log; a missing sshd is an error, not a skip.
 */
export async function startSshd(dir: string, extraConfig: string[] = []): Promise<TestSshd> {
  for (const name of ['host_key', 'user_key', 'other_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'user_key.pub')));
  const port = await freePort();
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      ...extraConfig,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      '',
    ].join('\n'),
  );
  // sshd refuses to start without its privilege-separation directory.
  await mkdir('/run/sshd', { recursive: true });
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => sshd.once('close', () => resolve()));
  const stop = async (): Promise<void> => {
    if (sshd.exitCode === null && sshd.signalCode === null && sshd.pid !== undefined) sshd.kill('SIGTERM');
    await exited;
  };
  let log = '';
  sshd.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const failed = new Promise<never>((_, reject) => sshd.once('error', (error) => reject(new Error(`sshd (openssh-server) could not be started: ${error.message}`))));
  try {
    await Promise.race([waitForListen(port), failed]);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${log}`);
  }
  return {
    port,
    async knownHostsLine(keyName) {
      const [type, key] = (await readFile(join(dir, `${keyName}.pub`), 'utf8')).trim().split(/\s+/);
      return `[127.0.0.1]:${port} ${type} ${key}\n`;
    },
    stop,
  };
}
