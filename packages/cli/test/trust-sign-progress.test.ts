import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { RegistryServer } from '@ctr/registry';
import { runProcess } from '../../../test/support/run-process';
import { docker } from '../../api/test/fixture';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { localCtr, type LocalCtr } from './local-ctr';
import { startTestDaemon, type TestDaemon } from './remote-fixture';

/**
 * `ctr trust sign` of a tag the registry does not have pushes it first, showing the push as
 * `docker push` does (docker-cli's sign.go hands dockerd's push messages to
 * PushTrustedReference, which displays them): "The push refers to repository [...]", the
 * layers, the digest line; then the signing lines. The docker side is the real docker CLI
 * against ctrd. A Notary and a registry on 127.0.0.1.
 */
describe('ctr trust sign of a tag not pushed yet', () => {
  let ctr: LocalCtr;
  let daemon: TestDaemon;
  let servers: TrustServers;
  let registry: RegistryServer;
  beforeAll(async () => {
    [ctr, daemon, servers] = await Promise.all([localCtr('trust-sign-progress'), startTestDaemon(), startTrustServers('ctr-cli-trust-sign-progress-')]);
    ({ registry } = servers);
  }, 120_000);
  afterAll(async () => {
    await ctr?.cleanup();
    await daemon?.cleanup();
    await servers?.close();
  });

  /** `base` with a docker config of its own logged in to the test registry as alice, this Notary the trust server. */
  async function aliceOn(base: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
    const env = servers.trusting(base, { DOCKER_CONTENT_TRUST: undefined });
    await fs.mkdir(env.DOCKER_CONFIG as string, { recursive: true });
    await fs.writeFile(join(env.DOCKER_CONFIG as string, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('alice:secret').toString('base64') } } }));
    return env;
  }

  /** `output` with the repository's path, each layer's ID and the digest (the two sides' busybox images differ) made placeholders. */
  const normalized = (output: string, repo: string): string =>
    output.split(repo).join('REPO').replace(/^[0-9a-f]{12}: /gm, 'LAYER: ').replace(/sha256:[0-9a-f]{64}/g, 'DIGEST');

  test('without a terminal, the push lines come before the signing ones, line for line as docker trust sign shows them through ctrd', async () => {
    const mine = `${registry.host}/progress/by-ctr`;
    const theirs = `${registry.host}/progress/by-docker`;
    expect((await ctr.run('tag', 'busybox', `${mine}:v1`)).code).toBe(0);
    expect((await docker(daemon.env, ['tag', 'busybox', `${theirs}:v1`])).code).toBe(0);

    const signed = await ctr.runWith({ env: await aliceOn(process.env) }, 'trust', 'sign', `${mine}:v1`);
    const reference = await docker(await aliceOn(daemon.env), ['trust', 'sign', `${theirs}:v1`]);
    expect(signed.code).toBe(0);
    expect(reference.code).toBe(0);
    expect(signed.stdout).toMatch(
      new RegExp(
        `^Created signer: alice\\nFinished initializing signed repository for ${mine}:v1\\nThe push refers to repository \\[${mine}\\]\\n[0-9a-f]{12}: Preparing\\n[0-9a-f]{12}: Pushed\\nv1: digest: sha256:[0-9a-f]{64} size: \\d+\\nSigning and pushing trust metadata\\nSuccessfully signed ${mine}:v1\\n$`,
      ),
    );
    expect(normalized(signed.stdout, mine)).toBe(normalized(reference.stdout, theirs));
    expect(normalized(signed.stderr, mine)).toBe(normalized(reference.stderr, theirs));
  });

  test('on a terminal, the layers are drawn in place exactly as ctr push draws them', async () => {
    const signedRepo = `${registry.host}/progress/tty-signed`;
    const pushedRepo = `${registry.host}/progress/tty-pushed`;
    expect((await ctr.run('tag', 'busybox', `${signedRepo}:v1`)).code).toBe(0);
    expect((await ctr.run('tag', 'busybox', `${pushedRepo}:v1`)).code).toBe(0);
    const env = await aliceOn(process.env);
    const signed = await onTerminal(env, ctr.argv('trust', 'sign', `${signedRepo}:v1`));
    const pushed = await onTerminal(env, ctr.argv('push', '--disable-content-trust', `${pushedRepo}:v1`));
    // A layer line is redrawn where it is: cursor up to it, erase, the line, back down.
    expect(pushed).toMatch(/\x1b\[1A\x1b\[2K\r[0-9a-f]{12}: Preparing/);
    const pushPart = (output: string, repo: string): string => normalized(output.slice(output.indexOf('The push refers to'), output.indexOf('Signing and pushing trust metadata\r\n')), repo);
    expect(pushPart(signed, signedRepo)).toBe(pushPart(`${pushed}Signing and pushing trust metadata\r\n`, pushedRepo));
  });
});

/** `argv` on a terminal of 150 columns (a pty of util-linux's script): everything it wrote there. */
async function onTerminal(env: NodeJS.ProcessEnv, argv: string[]): Promise<string> {
  const quoted = argv.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = await runProcess('script', ['-qec', `stty cols 150 rows 50; ${quoted}`, '/dev/null'], { env });
  if (result.code !== 0) throw new Error(`${argv.join(' ')} on a terminal: exit ${result.code}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}
