/**
 * The ssh client config (`~/.ssh/config`) as `ssh` reads it, for the keywords an `ssh://`
 * daemon host uses: which `Host` blocks apply, which value wins, and how values expand.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSshConfig, readSshConfig, resolveSshHost } from '../src/ssh-config';

const FILE = '/home/me/.ssh/config';
const LOCAL = { home: '/home/me', user: 'me' };

function resolve(text: string, host: string): ReturnType<typeof resolveSshHost> {
  return resolveSshHost(parseSshConfig(text, FILE), host, LOCAL);
}

describe('which Host blocks apply', () => {
  test('a Host alias maps to its HostName, User and Port', () => {
    expect(resolve('Host box\n  HostName 10.0.0.5\n  User deploy\n  Port 2222\n', 'box')).toEqual({ hostname: '10.0.0.5', user: 'deploy', port: 2222, identityFiles: [] });
  });

  test('a host no block names keeps its own name and nothing else', () => {
    expect(resolve('Host box\n  HostName 10.0.0.5\n', 'other')).toEqual({ hostname: 'other', identityFiles: [] });
  });

  test('* matches any run of characters and ? exactly one', () => {
    const text = 'Host web-?\n  User single\nHost *.internal\n  Port 2200\n';
    expect(resolve(text, 'web-1')).toMatchObject({ user: 'single' });
    expect(resolve(text, 'web-10').user).toBeUndefined();
    expect(resolve(text, 'db.internal')).toMatchObject({ port: 2200 });
  });

  test('patterns match without regard to case', () => {
    expect(resolve('Host BOX\n  User deploy\n', 'box').user).toBe('deploy');
  });

  test('a !negated pattern that matches excludes the host even when another pattern matches', () => {
    const text = 'Host *.internal !bastion.internal\n  User inner\n';
    expect(resolve(text, 'db.internal').user).toBe('inner');
    expect(resolve(text, 'bastion.internal').user).toBeUndefined();
  });

  test('a Host line of negations only applies to no host', () => {
    expect(resolve('Host !box\n  User nobody\n', 'other').user).toBeUndefined();
  });

  test('lines before the first Host apply to every host', () => {
    expect(resolve('User everyone\nHost box\n  User deploy\n', 'box').user).toBe('everyone');
  });

  test('Match blocks are skipped without error, up to the next Host', () => {
    const text = 'Match host box exec "true"\n  User matched\nHost box\n  Port 2022\n';
    expect(resolve(text, 'box')).toEqual({ hostname: 'box', port: 2022, identityFiles: [] });
  });
});

describe('which value wins', () => {
  test('the first value of a keyword wins over later blocks, as in ssh', () => {
    expect(resolve('Host box\n  Port 2201\nHost *\n  Port 2202\n  User fallback\n', 'box')).toMatchObject({ port: 2201, user: 'fallback' });
  });

  test('IdentityFile collects every value of every matching block, in order', () => {
    const text = 'Host box\n  IdentityFile ~/.ssh/box_key\n  IdentityFile /keys/second\nHost *\n  IdentityFile ~/.ssh/id_ed25519\n';
    expect(resolve(text, 'box').identityFiles).toEqual(['/home/me/.ssh/box_key', '/keys/second', '/home/me/.ssh/id_ed25519']);
  });

  test('UserKnownHostsFile may name several files, all kept', () => {
    expect(resolve('Host box\n  UserKnownHostsFile ~/.ssh/kh_one /etc/kh_two\n', 'box').userKnownHostsFiles).toEqual(['/home/me/.ssh/kh_one', '/etc/kh_two']);
  });
});

describe('how lines and values are read', () => {
  test('%h in HostName is the name given', () => {
    expect(resolve('Host *.lan\n  HostName %h.example.test\n', 'box.lan').hostname).toBe('box.lan.example.test');
  });

  test('%d, %u, %r, %h and %% expand in IdentityFile', () => {
    const text = 'Host box\n  HostName 10.0.0.5\n  User deploy\n  IdentityFile %d/keys/%u-%r@%h-100%%\n';
    expect(resolve(text, 'box').identityFiles).toEqual(['/home/me/keys/me-deploy@10.0.0.5-100%']);
  });

  test('the command line\'s user and port win over the config\'s, in %r and %p too', () => {
    const config = parseSshConfig('Host box\n  User deploy\n  Port 2222\n  IdentityFile ~/keys/%r-%p\n', FILE);
    expect(resolveSshHost(config, 'box', LOCAL, { user: 'admin', port: 2022 })).toEqual({
      hostname: 'box',
      user: 'admin',
      port: 2022,
      identityFiles: ['/home/me/keys/admin-2022'],
    });
  });

  test('keywords are case-insensitive and may be joined to their value by =', () => {
    expect(resolve('host box\n  HOSTNAME=10.0.0.5\n  port = 2222\n', 'box')).toMatchObject({ hostname: '10.0.0.5', port: 2222 });
  });

  test('quoted values keep their spaces', () => {
    expect(resolve('Host box\n  IdentityFile "~/my keys/box"\n', 'box').identityFiles).toEqual(['/home/me/my keys/box']);
  });

  test('comments, blank lines and unknown keywords are ignored', () => {
    const text = '# mine\n\nHost box # the build box\n  ForwardAgent yes\n  SomethingNew whatever\n  User deploy\n';
    expect(resolve(text, 'box')).toEqual({ hostname: 'box', user: 'deploy', identityFiles: [] });
  });

  test('a missing config file is an empty config', async () => {
    const config = await readSshConfig('/nonexistent/ctr-test/ssh_config');
    expect(resolveSshHost(config, 'box', LOCAL)).toEqual({ hostname: 'box', identityFiles: [] });
  });

  test('a config file on disk is read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-ssh-config-'));
    try {
      await writeFile(join(dir, 'config'), 'Host box\n  Port 2022\n');
      expect(resolveSshHost(await readSshConfig(join(dir, 'config')), 'box', LOCAL).port).toBe(2022);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('malformed lines are InvalidArgument naming the file and line', () => {
  test.each([
    ['a keyword ctr uses without a value', 'Host box\n  Port\n', 'line 2: no argument after keyword "port"'],
    ['a Host line without patterns', '\nHost\n', 'line 2: no argument after keyword "host"'],
    ['a port that is not a number', 'Host box\n  Port ssh\n', 'line 2: Badly formatted port number.'],
    ['a port out of range', 'Host box\n\n  Port 70000\n', 'line 3: Badly formatted port number.'],
    ['a second value for a one-value keyword', 'Host box\n  User a b\n', 'line 2: garbage at end of line; "b".'],
    ['an unterminated quote', 'Host box\n  IdentityFile "~/key\n', 'line 2: invalid quotes'],
    ['a line that starts with =', '= box\n', 'line 1: malformed line "= box"'],
  ])('%s', (_, text, message) => {
    expect(() => parseSshConfig(text, FILE)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: `${FILE} ${message}` }));
  });

  test('an unknown % token is refused when the host uses it', () => {
    const config = parseSshConfig('Host box\n  IdentityFile ~/.ssh/%Q\n', FILE);
    expect(() => resolveSshHost(config, 'box', LOCAL)).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: `${FILE} line 2: unknown key %Q` }));
  });
});
