/**
 * The Notary endpoints obey the registry's own auth: writes (and server key creation) need
 * push, reads need pull, and a refusal is a 401 with the challenge, in notary's error JSON.
 */
import { issueRegistryToken } from '@ctr/registry';
import { startRegistry, type RunningRegistry } from './support/servers';
import { call, notaryError, TestRepo } from './support/trust-server-helpers';

describe('basic auth', () => {
  let registry: RunningRegistry;
  const basic = `Basic ${Buffer.from('alice:secret').toString('base64')}`;

  beforeAll(async () => {
    registry = await startRegistry({ auth: { type: 'basic', users: { alice: 'secret' } } });
  });
  afterAll(() => registry.stop());

  test('an upload without credentials is 401 UNAUTHORIZED with the Basic challenge', async () => {
    const r = new TestRepo(registry.url, `${registry.host}/app`);
    const reply = await call(r.url(''), { method: 'POST', body: Buffer.from('x'), headers: { 'Content-Type': 'multipart/form-data; boundary=b' } });
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe('Basic realm="ctr-registry"');
    expect(notaryError(reply).code).toBe('UNAUTHORIZED');
  });

  test('with credentials a repository is published and read', async () => {
    const r = new TestRepo(registry.url, `${registry.host}/app`, undefined, { Authorization: basic });
    expect((await r.publish()).status).toBe(200);
    expect((await r.get('timestamp.json')).status).toBe(200);
  });
});

describe('token auth', () => {
  let registry: RunningRegistry;
  const auth = { type: 'token' as const, realm: 'http://127.0.0.1:9/token', service: 'ctr-test', secret: 'token-secret' };
  const token = (gun: string, actions: ('pull' | 'push')[]): Record<string, string> => ({
    Authorization: `Bearer ${issueRegistryToken({ secret: auth.secret, service: auth.service, access: [{ type: 'repository', name: gun, actions }] })}`,
  });

  beforeAll(async () => {
    registry = await startRegistry({ auth });
  });
  afterAll(() => registry.stop());

  test('a pull token reads trust data', async () => {
    const gun = `${registry.host}/reader`;
    await new TestRepo(registry.url, gun, undefined, token(gun, ['pull', 'push'])).publish();
    const reply = await call(`${registry.url}/v2/${gun}/_trust/tuf/root.json`, { headers: token(gun, ['pull']) });
    expect(reply.status).toBe(200);
  });

  test('a pull token may not create a server key: insufficient scope, asking for push', async () => {
    const gun = `${registry.host}/keys`;
    const reply = await call(`${registry.url}/v2/${gun}/_trust/tuf/timestamp.key`, { headers: token(gun, ['pull']) });
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe(`Bearer realm="${auth.realm}",service="${auth.service}",scope="repository:${gun}:pull,push",error="insufficient_scope"`);
  });

  test('a token for another GUN does not read this one', async () => {
    const gun = `${registry.host}/private`;
    const reply = await call(`${registry.url}/v2/${gun}/_trust/tuf/root.json`, { headers: token(`${registry.host}/other`, ['pull']) });
    expect(reply.status).toBe(401);
  });
});
