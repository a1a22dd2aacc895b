/** `loadAllDockerConfigAuths`: every credential config.json leads to, as docker's CLI's GetAllCredentials gathers them. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAllDockerConfigAuths } from '@ctr/registry';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-registry-all-auths-'));
});
afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

async function config(value: unknown): Promise<void> {
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(value));
}

/** A `docker-credential-<name>` running `script`, and the env whose PATH finds it. */
async function helper(name: string, script: string): Promise<NodeJS.ProcessEnv> {
  const bin = path.join(dir, 'bin');
  await fs.mkdir(bin, { recursive: true });
  await fs.writeFile(path.join(bin, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return { PATH: `${bin}:${process.env.PATH ?? ''}` };
}

const base64 = (text: string): string => Buffer.from(text).toString('base64');

test('no config file means no credentials', async () => {
  expect(await loadAllDockerConfigAuths({ configDir: dir })).toEqual({});
});

test('without a credsStore, every auths entry, decoded, under its key as written', async () => {
  await config({ auths: { 'https://index.docker.io/v1/': { auth: base64('hub:pw') }, 'localhost:5000': { identitytoken: 'refresh' } } });
  expect(await loadAllDockerConfigAuths({ configDir: dir })).toEqual({
    'https://index.docker.io/v1/': { username: 'hub', password: 'pw' },
    'localhost:5000': { identityToken: 'refresh' },
  });
});

test("with a credsStore, what its helper lists, each got from it; auths entries it does not list are left out", async () => {
  const env = await helper(
    'store',
    'case "$1" in list) echo \'{"r1.example":"u1","r2.example":"<token>"}\';; get) read s; if [ "$s" = r1.example ]; then echo \'{"Username":"u1","Secret":"s1"}\'; else echo \'{"Username":"<token>","Secret":"t2"}\'; fi;; esac',
  );
  await config({ credsStore: 'store', auths: { 'other.example': { auth: base64('x:y') } } });
  expect(await loadAllDockerConfigAuths({ configDir: dir, env })).toEqual({ 'r1.example': { username: 'u1', password: 's1' }, 'r2.example': { identityToken: 't2' } });
});

test("a credHelpers entry's helper wins over the auths entry for its server", async () => {
  const env = await helper('per', 'read s; echo "{\\"Username\\":\\"per\\",\\"Secret\\":\\"for-$s\\"}"');
  await config({ auths: { 'r.example': { auth: base64('file:pw') }, 'k.example': { auth: base64('kept:pw') } }, credHelpers: { 'r.example': 'per' } });
  expect(await loadAllDockerConfigAuths({ configDir: dir, env })).toEqual({
    'k.example': { username: 'kept', password: 'pw' },
    'r.example': { username: 'per', password: 'for-r.example' },
  });
});

test('a credHelpers helper that fails is passed over; one that holds nothing takes its server out', async () => {
  const env = await helper('empty', 'echo "credentials not found in native keychain"; exit 1');
  await config({ auths: { 'kept.example': { auth: base64('a:b') }, 'gone.example': { auth: base64('c:d') } }, credHelpers: { 'kept.example': 'nonexistent-ctr-test', 'gone.example': 'empty' } });
  expect(await loadAllDockerConfigAuths({ configDir: dir, env })).toEqual({ 'kept.example': { username: 'a', password: 'b' } });
});

test('a credsStore whose list fails is an error naming its program', async () => {
  const env = await helper('broken', 'echo "no keychain" >&2; exit 1');
  await config({ credsStore: 'broken' });
  await expect(loadAllDockerConfigAuths({ configDir: dir, env })).rejects.toMatchObject({ message: 'credential helper docker-credential-broken failed to list credentials: no keychain' });
});
