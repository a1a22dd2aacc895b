import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDockerConfigAuth } from '@ctr/registry';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-config-'));
});
afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

async function config(value: unknown): Promise<void> {
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(value));
}

async function helper(name: string, script: string): Promise<NodeJS.ProcessEnv> {
  const bin = path.join(dir, 'bin');
  await fs.mkdir(bin, { recursive: true });
  await fs.writeFile(path.join(bin, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return { PATH: `${bin}:${process.env.PATH ?? ''}` };
}

test('no config file means no credentials', async () => {
  expect(await loadDockerConfigAuth('localhost:5000', { configDir: dir })).toBeUndefined();
});

test('a base64 "auth" entry is decoded, whatever form the key is written in', async () => {
  await config({ auths: { 'https://registry.example:5000/v2/': { auth: Buffer.from('bob:pa:ss').toString('base64') } } });
  expect(await loadDockerConfigAuth('registry.example:5000', { configDir: dir })).toEqual({ username: 'bob', password: 'pa:ss' });
});

test('Docker Hub credentials are found under https://index.docker.io/v1/', async () => {
  await config({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') } } });
  expect(await loadDockerConfigAuth('docker.io', { configDir: dir })).toEqual({ username: 'hub', password: 'pw' });
});

test('identity and registry tokens are returned as such', async () => {
  await config({ auths: { 'r.example': { identitytoken: 'refresh', registrytoken: 'bearer' } } });
  expect(await loadDockerConfigAuth('r.example', { configDir: dir })).toEqual({ identityToken: 'refresh', registryToken: 'bearer' });
});

test('credsStore runs the helper with the server on stdin; "<token>" means an identity token', async () => {
  const env = await helper('store', 'read s; echo "{\\"Username\\":\\"<token>\\",\\"Secret\\":\\"tok-for-$s\\"}"');
  await config({ credsStore: 'store' });
  expect(await loadDockerConfigAuth('docker.io', { configDir: dir, env })).toEqual({ identityToken: 'tok-for-https://index.docker.io/v1/' });
});

test('a helper that holds nothing for the server falls back to auths', async () => {
  const env = await helper('empty', 'echo "credentials not found in native keychain"; exit 1');
  await config({ credsStore: 'empty', auths: { 'r.example': { auth: Buffer.from('u:p').toString('base64') } } });
  expect(await loadDockerConfigAuth('r.example', { configDir: dir, env })).toEqual({ username: 'u', password: 'p' });
});

test('a missing helper is Unavailable, naming the program', async () => {
  await config({ credHelpers: { 'r.example': 'nonexistent-ctr-test' } });
  await expect(loadDockerConfigAuth('r.example', { configDir: dir, env: { PATH: dir } })).rejects.toMatchObject({
    code: 'Unavailable',
    message: expect.stringContaining('docker-credential-nonexistent-ctr-test'),
  });
});

test('a helper name with path characters is refused before anything runs', async () => {
  await config({ credsStore: '../../bin/sh' });
  await expect(loadDockerConfigAuth('r.example', { configDir: dir })).rejects.toMatchObject({ code: 'InvalidArgument' });
});

test('a config that is not JSON is InvalidArgument naming the file', async () => {
  await fs.writeFile(path.join(dir, 'config.json'), '{oops');
  await expect(loadDockerConfigAuth('r.example', { configDir: dir })).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: expect.stringContaining(path.join(dir, 'config.json')),
  });
});
