import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '@ctr/engine';
import type { SwarmContext } from '../src/context';
import {
  configFiles,
  createConfig,
  createSecret,
  inspectConfig,
  inspectSecret,
  listConfigs,
  listSecrets,
  removeConfig,
  removeSecret,
  secretFiles,
  updateConfig,
  updateSecret,
} from '../src/secrets';
import { openClusterStore } from '../src/store';
import type { Service } from '../src/types';

let dir: string;
let ctx: SwarmContext;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ctr-swarm-secrets-'));
  const root = path.join(dir, 'root');
  const runRoot = path.join(dir, 'run');
  ctx = { engine: new Engine({ root, runRoot }), store: openClusterStore(root), root, runRoot };
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** A service object as H2's createService stores one, referring to a secret and a config. */
async function serviceUsing(name: string, refs: { secret?: { id: string; name: string }; config?: { id: string; name: string } }): Promise<void> {
  await ctx.store.transaction((tx) =>
    tx.create('services', {
      ID: `svc${name}`,
      Spec: {
        Name: name,
        Labels: {},
        Mode: { Replicated: { Replicas: 1 } },
        TaskTemplate: {
          ContainerSpec: {
            Image: 'busybox',
            ...(refs.secret ? { Secrets: [{ SecretID: refs.secret.id, SecretName: refs.secret.name, File: { Name: refs.secret.name, UID: '0', GID: '0', Mode: 0o444 } }] } : {}),
            ...(refs.config ? { Configs: [{ ConfigID: refs.config.id, ConfigName: refs.config.name, File: { Name: refs.config.name, UID: '0', GID: '0', Mode: 0o444 } }] } : {}),
          },
        },
      },
      Endpoint: { Spec: {} },
    } satisfies Omit<Service, 'Version' | 'CreatedAt' | 'UpdatedAt'>),
  );
}

test('a secret is created with a swarmkit ID and its data kept only in a file its owner reads', async () => {
  const { ID } = await createSecret(ctx, { Name: 'db-password', Labels: { env: 'prod' }, Data: b64('hunter2') });
  expect(ID).toMatch(/^[0-9a-z]{25}$/);
  const file = path.join(ctx.root, 'swarm', 'secrets', `${ID}.json`);
  expect(JSON.parse(readFileSync(file, 'utf8')).Spec.Data).toBe(b64('hunter2'));
});

test("inspect and list never return a secret's data", async () => {
  const { ID } = await createSecret(ctx, { Name: 'token', Labels: {}, Data: b64('s3cret') });
  const inspected = await inspectSecret(ctx, 'token');
  expect(inspected.ID).toBe(ID);
  expect(inspected.Spec).toEqual({ Name: 'token', Labels: {} });
  expect((await listSecrets(ctx)).map((s) => s.Spec.Data)).toEqual([undefined]);
});

test("a config's data is shown by inspect: configs are not secret", async () => {
  await createConfig(ctx, { Name: 'nginx.conf', Labels: {}, Data: b64('server {}') });
  expect((await inspectConfig(ctx, 'nginx.conf')).Spec.Data).toBe(b64('server {}'));
});

test.each([
  ['', 'rpc error: code = InvalidArgument desc = name must be provided'],
  ['-leading-dash', 'rpc error: code = InvalidArgument desc = invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]'],
  ['x'.repeat(65), 'rpc error: code = InvalidArgument desc = invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]'],
])('the name %j is refused in swarmkit words', async (name, message) => {
  await expect(createSecret(ctx, { Name: name, Labels: {}, Data: b64('x') })).rejects.toMatchObject({ code: 'InvalidArgument', message });
});

test('a secret needs data, and less than 500 KiB of it; a config less than 1000 KiB', async () => {
  await expect(createSecret(ctx, { Name: 'empty', Labels: {} })).rejects.toThrow('secret data must be larger than 0 and less than 512000 bytes');
  await expect(createSecret(ctx, { Name: 'big', Labels: {}, Data: Buffer.alloc(500 * 1024).toString('base64') })).rejects.toThrow('less than 512000 bytes');
  await expect(createConfig(ctx, { Name: 'big', Labels: {}, Data: Buffer.alloc(1000 * 1024).toString('base64') })).rejects.toThrow('config data must be larger than 0 and less than 1024000 bytes');
  await expect(createConfig(ctx, { Name: 'fits', Labels: {}, Data: Buffer.alloc(1000 * 1024 - 1).toString('base64') })).resolves.toHaveProperty('ID');
});

test('a second secret of the same name is refused as dockerd passes swarmkit’s error on', async () => {
  await createSecret(ctx, { Name: 'dup', Labels: {}, Data: b64('a') });
  await expect(createSecret(ctx, { Name: 'dup', Labels: {}, Data: b64('b') })).rejects.toMatchObject({
    code: 'AlreadyExists',
    message: 'rpc error: code = AlreadyExists desc = secret dup already exists',
  });
});

test('secrets are listed by names, name prefix, ID prefix and labels as swarmkit filters them', async () => {
  const a = await createSecret(ctx, { Name: 'app-key', Labels: { tier: 'web' }, Data: b64('1') });
  await createSecret(ctx, { Name: 'app-cert', Labels: { tier: 'db' }, Data: b64('2') });
  await createSecret(ctx, { Name: 'other', Labels: {}, Data: b64('3') });
  const names = async (filters: Record<string, string[]>): Promise<string[]> => (await listSecrets(ctx, filters)).map((s) => s.Spec.Name).sort();
  expect(await names({ name: ['app'] })).toEqual(['app-cert', 'app-key']);
  expect(await names({ names: ['other', 'app-key'] })).toEqual(['app-key', 'other']);
  expect(await names({ id: [a.ID.slice(0, 8)] })).toEqual(['app-key']);
  expect(await names({ name: ['app'], label: ['tier=db'] })).toEqual(['app-cert']);
  expect(await names({ label: ['tier'] })).toEqual(['app-cert', 'app-key']);
  await expect(listSecrets(ctx, { driver: ['x'] })).rejects.toThrow("invalid filter 'driver'");
  await expect(listConfigs(ctx, { names: ['x'] })).rejects.toThrow("invalid filter 'names'");
});

test('inspect finds a secret by ID, name or ID prefix, and says when none matches', async () => {
  const { ID } = await createSecret(ctx, { Name: 'found', Labels: {}, Data: b64('x') });
  for (const input of [ID, 'found', ID.slice(0, 5)]) expect((await inspectSecret(ctx, input)).ID).toBe(ID);
  await expect(inspectSecret(ctx, 'missing')).rejects.toMatchObject({ code: 'NotFound', message: 'secret missing not found' });
});

test('an update may change the labels only', async () => {
  const { ID } = await createSecret(ctx, { Name: 'keep', Labels: {}, Data: b64('data') });
  const version = (await inspectSecret(ctx, ID)).Version.Index;
  await updateSecret(ctx, ID, version, { Name: 'keep', Labels: { a: 'b' } });
  expect((await inspectSecret(ctx, ID)).Spec.Labels).toEqual({ a: 'b' });
  const now = (await inspectSecret(ctx, ID)).Version.Index;
  const refused = 'rpc error: code = InvalidArgument desc = only updates to Labels are allowed';
  await expect(updateSecret(ctx, ID, now, { Name: 'renamed', Labels: {} })).rejects.toThrow(refused);
  await expect(updateSecret(ctx, ID, now, { Name: 'keep', Labels: {}, Data: b64('other') })).rejects.toThrow(refused);
  await expect(updateSecret(ctx, ID, version, { Name: 'keep', Labels: {} })).rejects.toThrow('update out of sequence');
});

test('a secret or config in use by a service is not removed', async () => {
  const secret = await createSecret(ctx, { Name: 'used', Labels: {}, Data: b64('x') });
  const config = await createConfig(ctx, { Name: 'conf', Labels: {}, Data: b64('y') });
  await serviceUsing('web', { secret: { id: secret.ID, name: 'used' }, config: { id: config.ID, name: 'conf' } });
  await expect(removeSecret(ctx, 'used')).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: "rpc error: code = InvalidArgument desc = secret 'used' is in use by the following service: web",
  });
  await expect(removeConfig(ctx, 'conf')).rejects.toThrow("config 'conf' is in use by the following service: web");
  await ctx.store.transaction((tx) => tx.delete('services', 'svcweb'));
  await removeSecret(ctx, 'used');
  await expect(inspectSecret(ctx, secret.ID)).rejects.toThrow('not found');
});

test('a task gets its secrets under /run/secrets and its configs at the root, decoded, 0444 root-owned by default', async () => {
  const secret = await createSecret(ctx, { Name: 'pw', Labels: {}, Data: b64('hunter2') });
  const config = await createConfig(ctx, { Name: 'app.conf', Labels: {}, Data: b64('a=1') });
  const secrets = await secretFiles(ctx, [
    { SecretID: secret.ID, SecretName: 'pw', File: { Name: 'pw', UID: '0', GID: '0', Mode: 0o444 } },
    { SecretID: secret.ID, SecretName: 'pw', File: { Name: '/etc/pw', UID: '1000', GID: '1000', Mode: 0o400 } },
  ]);
  expect(secrets.map((f) => ({ ...f, data: f.data.toString() }))).toEqual([
    { name: 'pw', target: '/run/secrets/pw', data: 'hunter2', uid: '0', gid: '0', mode: 0o444 },
    { name: 'pw', target: '/etc/pw', data: 'hunter2', uid: '1000', gid: '1000', mode: 0o400 },
  ]);
  const configs = await configFiles(ctx, [{ ConfigID: config.ID, ConfigName: 'app.conf' }]);
  expect(configs.map((f) => [f.target, f.data.toString(), f.mode])).toEqual([['/app.conf', 'a=1', 0o444]]);
});

test('a target that climbs out with ".." is refused', async () => {
  const secret = await createSecret(ctx, { Name: 'climber', Labels: {}, Data: b64('x') });
  await expect(secretFiles(ctx, [{ SecretID: secret.ID, SecretName: 'climber', File: { Name: '../../etc/shadow', UID: '0', GID: '0', Mode: 0o444 } }])).rejects.toMatchObject({
    code: 'InvalidArgument',
    message: 'secret climber: target ../../etc/shadow leaves /run/secrets',
  });
});

test('a config update keeps its data', async () => {
  const { ID } = await createConfig(ctx, { Name: 'c', Labels: {}, Data: b64('body') });
  const { Version } = await inspectConfig(ctx, ID);
  await updateConfig(ctx, ID, Version.Index, { Name: 'c', Labels: { x: 'y' }, Data: b64('body') });
  const after = await inspectConfig(ctx, ID);
  expect([after.Spec.Labels, after.Spec.Data]).toEqual([{ x: 'y' }, b64('body')]);
});
