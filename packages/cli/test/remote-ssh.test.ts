import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../../../test/support/sshd';
import { CTR_BIN, cleanEnv, ctr, startTestDaemon, type Result, type TestDaemon } from './remote-fixture';

let t: TestDaemon;
let work: string;
let sshd: TestSshd;
let containerId = '';

/** A home directory whose ~/.ssh holds the user's key and a known_hosts entry made from `hostKey`'s public half. */
async function home(name: string, hostKey: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, '.ssh'), { recursive: true, mode: 0o700 });
  await writeFile(join(dir, '.ssh', 'id_ed25519'), await readFile(join(work, 'user_key')), { mode: 0o600 });
  await writeFile(join(dir, '.ssh', 'known_hosts'), await sshd.knownHostsLine(hostKey));
  return dir;
}

function overSsh(homeDir: string, args: string[]): Promise<Result> {
  const env = cleanEnv({ HOME: homeDir, CTR_CONFIG: join(homeDir, '.ctr') });
  delete env.SSH_AUTH_SOCK;
  return ctr(['-H', `ssh://root@127.0.0.1:${sshd.port}`, ...args], { env });
}

beforeAll(async () => {
  t = await startTestDaemon();
  work = await mkdtemp(join(tmpdir(), 'ctr-remote-ssh-'));
  // The far side runs `ctr system dial-stdio`: this ctr, found on the session's PATH, reaching the test daemon.
  await mkdir(join(work, 'bin'));
  await writeFile(join(work, 'bin', 'ctr'), `#!/bin/sh\nexec '${CTR_BIN}' "$@"\n`);
  await chmod(join(work, 'bin', 'ctr'), 0o755);
  sshd = await startSshd(work, [`SetEnv PATH=${join(work, 'bin')}:/usr/local/bin:/usr/bin:/bin CTR_HOST=unix://${t.socket}`]);
  containerId = (await t.daemon.engine.create({ image: 'busybox', name: 'seen-over-ssh', network: 'none', cmd: ['true'] })).id;
});

afterAll(async () => {
  await sshd?.stop();
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

test('ctr -H ssh://ALIAS follows ~/.ssh/config: HostName, Port, User, IdentityFile and UserKnownHostsFile', async () => {
  // Nothing in the default places: the key and known_hosts are found only through the config,
  // and the first IdentityFile, which does not exist, is passed over as ssh passes it over.
  const dir = join(work, 'alias');
  await mkdir(join(dir, '.ssh'), { recursive: true, mode: 0o700 });
  await mkdir(join(dir, 'keys'), { mode: 0o700 });
  await writeFile(join(dir, 'keys', 'daemon_key'), await readFile(join(work, 'user_key')), { mode: 0o600 });
  await writeFile(join(dir, 'keys', 'daemon_known_hosts'), await sshd.knownHostsLine('host_key'));
  await writeFile(
    join(dir, '.ssh', 'config'),
    [
      'Host other-box',
      '  Port 1',
      'Host ctr-daemon',
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      '  User root',
      '  IdentityFile ~/keys/absent_key',
      '  IdentityFile ~/keys/daemon_key',
      '  UserKnownHostsFile ~/keys/daemon_known_hosts',
      '',
    ].join('\n'),
  );
  const env = cleanEnv({ HOME: dir, CTR_CONFIG: join(dir, '.ctr') });
  delete env.SSH_AUTH_SOCK;
  const result = await ctr(['-H', 'ssh://ctr-daemon', 'ps', '-a', '--format', '{{.ID}} {{.Names}}'], { env });
  expect(result).toEqual({ code: 0, stdout: `${containerId.slice(0, 12)} seen-over-ssh\n`, stderr: '' });
});

test('a malformed ~/.ssh/config is an error naming the file and line', async () => {
  const dir = await home('malformed', 'host_key');
  await writeFile(join(dir, '.ssh', 'config'), 'Host ctr-daemon\n  Port twenty-two\n');
  const env = cleanEnv({ HOME: dir, CTR_CONFIG: join(dir, '.ctr') });
  const result = await ctr(['-H', 'ssh://ctr-daemon', 'ps'], { env });
  expect(result).toEqual({ code: 1, stdout: '', stderr: `${join(dir, '.ssh', 'config')} line 2: Badly formatted port number.\n` });
});

test('a host key that does not match known_hosts is refused with a clear message', async () => {
  const result = await overSsh(await home('impostor', 'other_key'), ['ps']);
  expect(result.code).not.toBe(0);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(`the host key of 127.0.0.1:${sshd.port} does not match`);
  expect(result.stderr).not.toMatch(/\n\s+at /);
});
