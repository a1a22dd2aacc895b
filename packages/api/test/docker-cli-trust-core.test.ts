/**
 * The TUF core of ctr's content trust against notary's own client, as the real docker CLI
 * (28.2) carries it: the metadata docker signs — root and targets on `docker push` with trust
 * on, a delegation on `docker trust sign` — verifies with ctr's verifyMetadata over ctr's
 * canonical JSON, and every key ID ctr computes is the one notary computes (the IDs in docker's
 * metadata, the `trust/private/<id>.key` files docker writes, what `docker trust inspect` prints).
 * The Notary is ctr's (HTTPS on 127.0.0.1, a throwaway certificate), images go through ctrd to
 * ctr's registry.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  canonicalJson,
  canonicalKeyId,
  certificateInfo,
  decodePem,
  keyId,
  parseMetadata,
  verifyMetadata,
  verifyRoot,
  type RootMeta,
  type TargetsMeta,
  type TufPublicKey,
  type RegistryServer,
} from '@ctr/registry';
import { startTrustServers, type TrustServers } from '../../registry/test/support/notary';
import { call } from '../../registry/test/support/trust-server-helpers';
import { docker, useTestDaemon } from './fixture';

const t = useTestDaemon();
let servers: TrustServers;
let work: string;
let registry: RegistryServer;
let notary: RegistryServer;

beforeAll(async () => {
  servers = await startTrustServers('ctr-docker-trust-core-');
  ({ work, registry, notary } = servers);
});

afterAll(async () => {
  await servers?.close();
});

/** One docker config directory (keys, notary's cache) for the whole file, trust on, the test's Notary. */
const trusting = (): NodeJS.ProcessEnv => servers.trusting(t.env, { DOCKER_CONFIG: join(work, 'docker-config') });

/** `role`'s metadata for `gun` as docker published it: the bytes the Notary serves, as notary's client signed them. */
async function published(gun: string, role: string): Promise<Buffer> {
  const reply = await call(`${notary.url}/v2/${gun}/_trust/tuf/${role}.json`, { ca: servers.ca });
  expect(reply.status).toBe(200);
  return reply.body;
}

/** docker's private key files: key ID (the file's name) → its PEM headers. */
async function privateKeys(): Promise<Map<string, Record<string, string>>> {
  const dir = join(work, 'docker-config', 'trust', 'private');
  const out = new Map<string, Record<string, string>>();
  for (const file of await fs.readdir(dir)) out.set(file.replace(/\.key$/, ''), decodePem(await fs.readFile(join(dir, file), 'utf8'))?.headers ?? {});
  return out;
}

interface Inspected {
  SignedTags: { SignedTag: string; Digest: string; Signers: string[] }[];
  Signers: { Name: string; Keys: { ID: string }[] }[];
  AdministrativeKeys: { Name: string; Keys: { ID: string }[] }[];
}

async function inspect(ref: string): Promise<Inspected> {
  const inspected = await docker(trusting(), ['trust', 'inspect', ref]);
  expect(inspected).toMatchObject({ code: 0, stderr: '' });
  return (JSON.parse(inspected.stdout) as Inspected[])[0] as Inspected;
}

describe('what docker push signs', () => {
  let gun: string;
  let digest: string;
  let size: number;
  let rootBytes: Buffer;
  let root: RootMeta;

  beforeAll(async () => {
    gun = `${registry.host}/trust/core`;
    expect((await docker(t.env, ['tag', 'busybox', `${gun}:v1`])).code).toBe(0);
    const pushed = await docker(trusting(), ['push', `${gun}:v1`]);
    expect(pushed).toMatchObject({ code: 0 });
    const match = /v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(pushed.stdout);
    digest = match?.[1] as string;
    size = Number(match?.[2]);
    rootBytes = await published(gun, 'root');
  }, 120_000);

  test("ctr's canonical JSON of the root is byte for byte what notary signed", () => {
    const meta = parseMetadata<RootMeta>(rootBytes, 'root');
    expect(rootBytes.includes(Buffer.concat([Buffer.from('{"signed":'), canonicalJson(meta.signed), Buffer.from(',"signatures":')]))).toBe(true);
  });

  test('the root verifies, signed by its own root key (an ecdsa-x509 certificate made out to the GUN)', () => {
    root = verifyRoot(parseMetadata<RootMeta>(rootBytes, 'root'));
    const rootKey = root.keys[root.roles.root.keyids[0] as string] as TufPublicKey;
    expect(rootKey.keytype).toBe('ecdsa-x509');
    expect(certificateInfo(rootKey).commonName).toBe(gun);
  });

  test('every key ID in the root is the one ctr computes from the key', () => {
    root ??= verifyRoot(parseMetadata<RootMeta>(rootBytes, 'root'));
    expect(Object.keys(root.keys)).toHaveLength(4);
    for (const [id, key] of Object.entries(root.keys)) expect(keyId(key)).toBe(id);
  });

  test('targets verifies against the root, naming the digest and size pushed', async () => {
    root ??= verifyRoot(parseMetadata<RootMeta>(rootBytes, 'root'));
    const targets = verifyMetadata(parseMetadata<TargetsMeta>(await published(gun, 'targets'), 'targets'), 'targets', root.keys, root.roles.targets);
    const v1 = targets.targets.v1;
    expect({ sha256: Buffer.from(v1?.hashes.sha256 ?? '', 'base64').toString('hex'), length: v1?.length }).toEqual({ sha256: digest.slice(7), length: size });
  });

  test("the root key's canonical ID is the name of docker's root key file, its certificate ID what docker trust inspect prints", async () => {
    root ??= verifyRoot(parseMetadata<RootMeta>(rootBytes, 'root'));
    const certId = root.roles.root.keyids[0] as string;
    const keys = await privateKeys();
    const rootFiles = [...keys].filter(([, headers]) => headers.role === 'root').map(([id]) => id);
    expect(rootFiles).toEqual([canonicalKeyId(root.keys[certId] as TufPublicKey)]);
    const administrative = (await inspect(`${gun}:v1`)).AdministrativeKeys;
    expect(administrative.find((k) => k.Name === 'Root')?.Keys).toEqual([{ ID: certId }]);
  });

  test("the targets key's ID is the name of docker's key file for the GUN, and what docker trust inspect prints", async () => {
    root ??= verifyRoot(parseMetadata<RootMeta>(rootBytes, 'root'));
    const targetsId = root.roles.targets.keyids[0] as string;
    expect((await privateKeys()).get(targetsId)).toMatchObject({ role: 'targets', gun });
    expect((await inspect(`${gun}:v1`)).AdministrativeKeys.find((k) => k.Name === 'Repository')?.Keys).toEqual([{ ID: targetsId }]);
  });
});

describe('what docker trust sign signs as a delegation', () => {
  test("a signer key docker generates has the ID ctr computes from its public key, and targets/releases signed with it verifies", async () => {
    const gun = `${registry.host}/trust/delegated`;
    const keyDir = join(work, 'keys');
    await fs.mkdir(keyDir, { recursive: true });
    expect(await docker(trusting(), ['trust', 'key', 'generate', 'alice', '--dir', keyDir])).toMatchObject({ code: 0 });
    const pem = decodePem(await fs.readFile(join(keyDir, 'alice.pub'), 'utf8'));
    expect(pem?.type).toBe('PUBLIC KEY');
    const alice: TufPublicKey = { keytype: 'ecdsa', keyval: { public: (pem?.body as Buffer).toString('base64'), private: null } };
    const aliceId = keyId(alice);
    expect((await privateKeys()).get(aliceId)).toMatchObject({ role: 'alice' });

    expect(await docker(trusting(), ['trust', 'signer', 'add', '--key', join(keyDir, 'alice.pub'), 'alice', gun])).toMatchObject({ code: 0 });
    expect((await docker(t.env, ['tag', 'busybox', `${gun}:v1`])).code).toBe(0);
    const signed = await docker(trusting(), ['trust', 'sign', `${gun}:v1`]);
    expect(signed).toMatchObject({ code: 0 });
    const digest = /v1: digest: (sha256:[0-9a-f]{64})/.exec(signed.stdout)?.[1] as string;

    const root = verifyRoot(parseMetadata<RootMeta>(await published(gun, 'root'), 'root'));
    const targets = verifyMetadata(parseMetadata<TargetsMeta>(await published(gun, 'targets'), 'targets'), 'targets', root.keys, root.roles.targets);
    for (const [id, key] of Object.entries(targets.delegations.keys)) expect(keyId(key)).toBe(id);
    const releases = targets.delegations.roles.find((r) => r.name === 'targets/releases');
    expect(releases?.keyids).toEqual([aliceId]);
    const signedReleases = verifyMetadata(parseMetadata<TargetsMeta>(await published(gun, 'targets/releases'), 'targets/releases'), 'targets/releases', targets.delegations.keys, releases!);
    expect(Buffer.from(signedReleases.targets.v1?.hashes.sha256 ?? '', 'base64').toString('hex')).toBe(digest.slice(7));
    expect((await inspect(`${gun}:v1`)).Signers).toEqual([{ Name: 'alice', Keys: [{ ID: aliceId }] }]);
  });
});
