import { docker } from '../../api/test/fixture';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { localCtr, type LocalCtr } from './local-ctr';

/**
 * `ctr trust inspect` writes its JSON as docker's CLI does (json.Marshal of its trustRepo,
 * indented by four): `<`, `>` and `&` escaped as \u003c, \u003e and \u0026. A tag signed by
 * another Notary client can hold them. A Notary and a registry on 127.0.0.1.
 */
describe('ctr trust inspect JSON', () => {
  let ctr: LocalCtr;
  let servers: TrustServers;
  beforeAll(async () => {
    [ctr, servers] = await Promise.all([localCtr('trust-inspect-json'), startTrustServers('ctr-cli-trust-inspect-json-')]);
  }, 60_000);
  afterAll(async () => {
    await ctr?.cleanup();
    await servers?.close();
  });

  test('a signed tag holding <, > and & is printed HTML-escaped, the rest as JSON indented by four', async () => {
    const gun = `${servers.registry.host}/trust/escaped`;
    await servers.client(gun, servers.newConfig()).sign({ name: '<v1>&', digest: `sha256:${'ab'.repeat(32)}`, size: 10 });
    const inspected = await ctr.runWith({ env: servers.trusting(process.env, { DOCKER_CONTENT_TRUST: undefined }) }, 'trust', 'inspect', gun);
    expect(inspected).toMatchObject({ code: 0, stderr: '' });
    expect(inspected.stdout).toContain(`"SignedTag": "\\u003cv1\\u003e\\u0026",\n                "Digest": "${'ab'.repeat(32)}",`);
    const parsed = JSON.parse(inspected.stdout) as unknown;
    const escaped = JSON.stringify(parsed, null, 4).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
    expect(inspected.stdout).toBe(`${escaped}\n`);
  });

  test('what it prints is byte for byte what docker trust inspect prints of the same repository', async () => {
    const gun = `${servers.registry.host}/trust/escaped-both`;
    await servers.client(gun, servers.newConfig()).sign({ name: 'a<b>&c', digest: `sha256:${'cd'.repeat(32)}`, size: 10 });
    const env = (): NodeJS.ProcessEnv => servers.trusting({ PATH: process.env.PATH, HOME: servers.work }, { DOCKER_CONTENT_TRUST: undefined });
    const theirs = await docker(env(), ['trust', 'inspect', gun]);
    expect(theirs).toMatchObject({ code: 0 });
    expect(theirs.stdout).toContain('"SignedTag": "a\\u003cb\\u003e\\u0026c"');
    expect(await ctr.runWith({ env: { ...process.env, ...env() } }, 'trust', 'inspect', gun)).toMatchObject({ code: 0, stdout: theirs.stdout });
  });
});
