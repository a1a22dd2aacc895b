import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryContentStore } from '@ctr/image';
import { RegistryServer, TrustClient, TrustKeyStore, dockerPassphraseRetriever, dockerTrustDirectory, type PassphraseRetriever } from '@ctr/registry';
import { makeTlsCertificates } from '../../../../test/support/tls-certs';

/** The passphrases every content-trust test's keys are made and opened with, as docker reads them from the environment. */
export const PASSPHRASES = { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root passphrase', DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'repository passphrase' };

/**
 * What content-trust tests run against: a Notary (ctr's registry over HTTPS on 127.0.0.1, a
 * throwaway certificate docker leaves unchecked for a loopback server), a plain registry for the
 * images, and a scratch directory holding the certificates, both servers' data and the docker configs.
 */
export interface TrustServers {
  work: string;
  /** The CA (PEM) the Notary's certificate is signed by. */
  ca: string;
  registry: RegistryServer;
  notary: RegistryServer;
  /** A docker config directory of its own (keys, pinned metadata), not made yet. */
  newConfig(): string;
  /**
   * `base` with trust on, a new docker config, the passphrases and this Notary as
   * DOCKER_CONTENT_TRUST_SERVER; `extra` last (a DOCKER_CONFIG of its own, trust unset…).
   */
  trusting(base?: NodeJS.ProcessEnv, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /**
   * A TrustClient of `gun` on this Notary, as docker's CLI makes one: keys and pinned metadata in
   * `config`, passphrases from `options.env` over PASSPHRASES, the certificate unchecked.
   */
  client(gun: string, config: string, options?: { env?: NodeJS.ProcessEnv; now?: () => Date; passphrases?: PassphraseRetriever }): TrustClient;
  /** Closes the clients `client` made (for afterEach). */
  closeClients(): Promise<void>;
  /** Rewrites digest `from` as `to` in the Notary's stored targets metadata for `gun` (same length: only checksums tell). */
  tamperTargets(gun: string, from: string, to: string): Promise<void>;
  /** Closes the clients and both servers, and removes the scratch directory. */
  close(): Promise<void>;
}

export async function startTrustServers(workPrefix: string): Promise<TrustServers> {
  const work = await mkdtemp(join(tmpdir(), workPrefix));
  const clients: TrustClient[] = [];
  let configs = 0;
  let registry: RegistryServer | undefined;
  let notary: RegistryServer | undefined;
  const closeClients = async (): Promise<void> => {
    for (const client of clients.splice(0)) await client.close();
  };
  const close = async (): Promise<void> => {
    await closeClients();
    await notary?.close();
    await registry?.close();
    await rm(work, { recursive: true, force: true });
  };
  try {
    await makeTlsCertificates(work);
    registry = new RegistryServer({ store: new MemoryContentStore(), root: join(work, 'registry') });
    await registry.listen();
    notary = new RegistryServer({
      store: new MemoryContentStore(),
      root: join(work, 'notary'),
      tls: { cert: await fs.readFile(join(work, 'server-cert.pem')), key: await fs.readFile(join(work, 'server-key.pem')) },
    });
    await notary.listen();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  const server = notary;
  const newConfig = (): string => join(work, `config-${++configs}`);
  return {
    work,
    ca: await fs.readFile(join(work, 'ca.pem'), 'utf8'),
    registry,
    notary,
    newConfig,
    trusting: (base = process.env, extra = {}) => ({ ...base, ...PASSPHRASES, DOCKER_CONFIG: newConfig(), DOCKER_CONTENT_TRUST: '1', DOCKER_CONTENT_TRUST_SERVER: server.url, ...extra }),
    client(gun, config, options = {}) {
      const env = { ...PASSPHRASES, DOCKER_CONFIG: config, ...options.env };
      const trustDirectory = dockerTrustDirectory(env);
      const made = new TrustClient({
        gun,
        registry: gun.split('/')[0] as string,
        server: server.url,
        trustDirectory,
        keys: new TrustKeyStore(trustDirectory, options.passphrases ?? dockerPassphraseRetriever(env)),
        verifyCertificate: false,
        ...(options.now ? { now: options.now } : {}),
      });
      clients.push(made);
      return made;
    },
    closeClients,
    async tamperTargets(gun, from, to) {
      const meta = join(work, 'notary', 'trust', createHash('sha256').update(gun).digest('hex'), 'meta');
      const base64 = (digest: string): string => Buffer.from(digest.slice('sha256:'.length), 'hex').toString('base64');
      for (const name of await fs.readdir(meta)) {
        if (!name.startsWith('targets.')) continue;
        const file = join(meta, name);
        await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(base64(from), base64(to)));
      }
    },
    close,
  };
}
