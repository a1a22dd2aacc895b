/**
 * Docker Content Trust: the script serves a private registry on 127.0.0.1 and, beside it, a
 * Notary (trust) server over HTTPS (as Docker Hub has notary.docker.io), pushes busybox and
 * signs the tag (as `DOCKER_CONTENT_TRUST=1 docker push` does), then resolves the tag through
 * the signed, verified metadata and runs the image by the digest it is signed as — and shows
 * an unsigned tag refused.
 *
 *   node examples/run.js content-trust
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certifiedRootKey, generateKey, RegistryServer, TrustClient, TrustKeyStore, trustServerVerified } from '@ctr/registry';
import { openStore } from '@ctr/store';
import { lines, sandbox } from './lib/sandbox';

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ signed: string; resolved: string; output: string[]; unsigned: string }> {
  const { engine, cleanup } = await sandbox('trust');
  const scratch = await mkdtemp(join(tmpdir(), 'ctr-example-trust-'));
  const store = await openStore({ root: join(scratch, 'store') });
  // docker asks for HTTPS to a trust server; on 127.0.0.1 it does not verify the certificate, so a self-signed one serves.
  const tlsKey = generateKey();
  const certificate = Buffer.from(certifiedRootKey(tlsKey, '127.0.0.1').public.keyval.public, 'base64');
  const registry = new RegistryServer({ store: store.content, root: join(scratch, 'registry') });
  const notary = new RegistryServer({ store: store.content, root: join(scratch, 'notary'), tls: { cert: certificate, key: tlsKey.privateKey.export({ format: 'pem', type: 'pkcs8' }) } });
  try {
    const host = new URL(await registry.listen()).host;
    const url = await notary.listen();
    log(`registry on ${host}, trust server on ${url}`);
    const trustFor = (repository: string): TrustClient =>
      new TrustClient({
        gun: `${host}/${repository}`,
        registry: host,
        server: url,
        trustDirectory: join(scratch, 'trust'),
        // The passphrases docker reads from DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE / _REPOSITORY_PASSPHRASE.
        keys: new TrustKeyStore(join(scratch, 'trust'), async () => ({ passphrase: 'example passphrase', giveUp: false })),
        verifyCertificate: trustServerVerified(host),
      });

    const name = `${host}/tools/busybox:stable`;
    await engine.tag('busybox', name);
    const pushed = await engine.push(name);
    const publisher = trustFor('tools/busybox');
    await publisher.sign({ name: 'stable', digest: pushed.digest, size: pushed.size }, () => log(`Finished initializing "${host}/tools/busybox"`));
    await publisher.close();
    log(`Successfully signed ${name} (${pushed.digest})`);

    // A consumer: the tag is resolved through timestamp → snapshot → targets, each signature checked.
    const consumer = trustFor('tools/busybox');
    const target = await consumer.target('stable');
    await consumer.close();
    log(`${name} is signed as ${target.digest} by ${target.role}`);
    const output: string[] = [];
    const byDigest = `${host}/tools/busybox@${target.digest}`;
    await engine.run({ image: byDigest, network: 'none', autoRemove: true, cmd: ['echo', 'running the signed image'], stdout: lines((line) => (output.push(line), log(line))) });

    const unsignedName = `${host}/tools/unsigned:latest`;
    await engine.tag('busybox', unsignedName);
    await engine.push(unsignedName);
    const stranger = trustFor('tools/unsigned');
    const unsigned = await stranger.target('latest').then(
      () => 'accepted',
      (error: Error) => error.message,
    );
    await stranger.close();
    log(`an unsigned tag: ${unsigned}`);
    return { signed: pushed.digest, resolved: target.digest, output, unsigned };
  } finally {
    await registry.close();
    await notary.close();
    await rm(scratch, { recursive: true, force: true });
    await cleanup();
  }
}
