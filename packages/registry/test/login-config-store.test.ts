/**
 * `docker login` / `docker logout` on config.json: credentials stored as docker stores them
 * (base64 `auth` in `auths`, or through a credential helper), the file replaced atomically
 * with mode 0600, and every other key kept.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eraseDockerConfigAuth, loadDockerConfigAuth, storeDockerConfigAuth } from '@ctr/registry';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-login-'));
});
afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

const file = (): string => path.join(dir, 'config.json');
const read = async (): Promise<Record<string, unknown>> => JSON.parse(await fs.readFile(file(), 'utf8')) as Record<string, unknown>;

/** A credential helper keeping its secrets in files under `dir/helper-store`, logging every action. */
async function fileHelper(): Promise<NodeJS.ProcessEnv> {
  const bin = path.join(dir, 'bin');
  const store = path.join(dir, 'helper-store');
  await fs.mkdir(bin, { recursive: true });
  await fs.mkdir(store);
  const script = [
    '#!/bin/sh',
    `store=${store}`,
    'input=$(cat)',
    `echo "$1" >> ${path.join(dir, 'helper.log')}`,
    'case "$1" in',
    '  store) key=$(echo "$input" | sed \'s/.*"ServerURL":"\\([^"]*\\)".*/\\1/\' | tr / _); echo "$input" > "$store/$key" ;;',
    '  get) key=$(echo "$input" | tr / _); [ -f "$store/$key" ] || { echo "credentials not found in native keychain"; exit 1; }; cat "$store/$key" ;;',
    '  erase) key=$(echo "$input" | tr / _); rm -f "$store/$key" ;;',
    'esac',
  ].join('\n');
  await fs.writeFile(path.join(bin, 'docker-credential-ctrfile'), `${script}\n`, { mode: 0o755 });
  return { PATH: `${bin}:${process.env.PATH ?? ''}` };
}

test('login stores base64 user:password under the host in auths, mode 0600, keeping other keys', async () => {
  await fs.writeFile(file(), JSON.stringify({ auths: { 'other.example:5000': { auth: 'eDp5' } }, psFormat: 'table {{.ID}}', proxies: { default: {} } }), { mode: 0o644 });
  const stored = await storeDockerConfigAuth('127.0.0.1:5000', { username: 'alice', password: 'wonderland' }, { configDir: dir });
  expect(stored).toEqual({ file: file() });
  expect(await read()).toEqual({
    auths: { 'other.example:5000': { auth: 'eDp5' }, '127.0.0.1:5000': { auth: Buffer.from('alice:wonderland').toString('base64') } },
    psFormat: 'table {{.ID}}',
    proxies: { default: {} },
  });
  expect((await fs.stat(file())).mode & 0o777).toBe(0o600);
  expect(await loadDockerConfigAuth('127.0.0.1:5000', { configDir: dir })).toEqual({ username: 'alice', password: 'wonderland' });
});

test('login creates the directory and file when there is none, and leaves no temp file', async () => {
  const nested = path.join(dir, 'fresh');
  await storeDockerConfigAuth('127.0.0.1:5000', { username: 'a', password: 'b' }, { configDir: nested });
  expect(await fs.readdir(nested)).toEqual(['config.json']);
  expect((await fs.stat(nested)).mode & 0o777).toBe(0o700);
});

test('login again replaces the entry, whatever spelling of the server it was stored under', async () => {
  await fs.writeFile(file(), JSON.stringify({ auths: { 'http://127.0.0.1:5000': { auth: 'eDp5' } } }));
  await storeDockerConfigAuth('127.0.0.1:5000', { username: 'alice', password: 'new' }, { configDir: dir });
  expect(Object.keys((await read()).auths as object)).toEqual(['127.0.0.1:5000']);
});

test('Docker Hub credentials are stored under https://index.docker.io/v1/', async () => {
  await storeDockerConfigAuth('docker.io', { username: 'alice', password: 'pw' }, { configDir: dir });
  expect(Object.keys((await read()).auths as object)).toEqual(['https://index.docker.io/v1/']);
});

test('with a credsStore the secret goes to the helper and auths keeps an empty entry', async () => {
  const env = await fileHelper();
  await fs.writeFile(file(), JSON.stringify({ credsStore: 'ctrfile' }));
  const stored = await storeDockerConfigAuth('127.0.0.1:5000', { username: 'alice', password: 'wonderland' }, { configDir: dir, env });
  expect(stored).toEqual({ file: file(), helper: 'ctrfile' });
  expect(await read()).toEqual({ credsStore: 'ctrfile', auths: { '127.0.0.1:5000': {} } });
  expect(await fs.readFile(file(), 'utf8')).not.toContain('wonderland');
  expect(await loadDockerConfigAuth('127.0.0.1:5000', { configDir: dir, env })).toEqual({ username: 'alice', password: 'wonderland' });
});

test('a credHelpers entry for the host wins over the credsStore', async () => {
  const env = await fileHelper();
  await fs.writeFile(file(), JSON.stringify({ credsStore: 'absent-helper', credHelpers: { '127.0.0.1:5000': 'ctrfile' } }));
  await storeDockerConfigAuth('127.0.0.1:5000', { username: 'alice', password: 'wonderland' }, { configDir: dir, env });
  expect(await fs.readdir(path.join(dir, 'helper-store'))).toEqual(['127.0.0.1:5000']);
});

test('logout removes the entry and keeps the rest; a second logout finds nothing', async () => {
  await fs.writeFile(file(), JSON.stringify({ auths: { '127.0.0.1:5000': { auth: 'eDp5' }, 'other:1': { auth: 'eDp5' } }, detachKeys: 'ctrl-x' }));
  expect(await eraseDockerConfigAuth('127.0.0.1:5000', { configDir: dir })).toBe(true);
  expect(await read()).toEqual({ auths: { 'other:1': { auth: 'eDp5' } }, detachKeys: 'ctrl-x' });
  expect((await fs.stat(file())).mode & 0o777).toBe(0o600);
  expect(await eraseDockerConfigAuth('127.0.0.1:5000', { configDir: dir })).toBe(false);
});

test('logout erases from the helper', async () => {
  const env = await fileHelper();
  await fs.writeFile(file(), JSON.stringify({ credsStore: 'ctrfile' }));
  await storeDockerConfigAuth('127.0.0.1:5000', { username: 'alice', password: 'wonderland' }, { configDir: dir, env });
  expect(await eraseDockerConfigAuth('127.0.0.1:5000', { configDir: dir, env })).toBe(true);
  expect(await fs.readdir(path.join(dir, 'helper-store'))).toEqual([]);
  expect(await read()).toEqual({ credsStore: 'ctrfile', auths: {} });
  expect(await loadDockerConfigAuth('127.0.0.1:5000', { configDir: dir, env })).toBeUndefined();
});

test('a helper that fails to store is an error, and the file is left as it was', async () => {
  const bin = path.join(dir, 'bin');
  await fs.mkdir(bin);
  await fs.writeFile(path.join(bin, 'docker-credential-broken'), '#!/bin/sh\necho "keychain locked" >&2\nexit 1\n', { mode: 0o755 });
  const before = JSON.stringify({ credsStore: 'broken' });
  await fs.writeFile(file(), before);
  await expect(
    storeDockerConfigAuth('127.0.0.1:5000', { username: 'a', password: 'b' }, { configDir: dir, env: { PATH: `${bin}:${process.env.PATH ?? ''}` } }),
  ).rejects.toMatchObject({ code: 'Unauthorized', message: expect.stringContaining('keychain locked') });
  expect(await fs.readFile(file(), 'utf8')).toBe(before);
});
