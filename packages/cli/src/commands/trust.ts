import { createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SignedTarget, TrustClient, TufPublicKey } from '@ctr/registry';
import { CtrError, invalidArgument, isCtrError } from '@ctr/errors';
import type { Command, CommandGroup, Io } from '../command';
import { signPushed, trustKeyStore, withTrust } from '../content-trust';
import { getEngine, imageModule, println, registryModule } from '../context';
import { bool, list, str } from '../flags';
import { formatList, goJson } from '../format';
import { confirm } from '../prompt';
import { pushShowingProgress } from './pull-output';

/** docker's name for what `targets` and `targets/releases` sign. */
const REPO_ADMIN = 'Repo Admin';
const isReleased = (role: string): boolean => role === 'targets' || role === 'targets/releases';
/** docker's notaryRoleToSigner. */
const signerOf = (role: string): string => (isReleased(role) ? REPO_ADMIN : role.replace(/^targets\//, ''));
/** key and signer names docker accepts. */
const validName = (name: string): boolean => /^[a-z0-9][a-z0-9_-]*$/.test(name);

interface SignedTagRow {
  SignedTag: string;
  Digest: string;
  Signers: string[];
}

/** docker's matchReleasedSignatures: each tag+digest signed into a released role, with the other roles that signed the same. */
function releasedSignatures(targets: readonly SignedTarget[]): SignedTagRow[] {
  const rows = new Map<string, SignedTagRow>();
  const keyOf = (t: SignedTarget): string => `${t.name}\n${t.digest}`;
  for (const target of targets) if (isReleased(target.role)) rows.set(keyOf(target), { SignedTag: target.name, Digest: target.digest.replace(/^sha256:/, ''), Signers: [] });
  for (const target of targets) if (!isReleased(target.role)) rows.get(keyOf(target))?.Signers.push(signerOf(target.role));
  return [...rows.values()].sort((a, b) => a.SignedTag.localeCompare(b.SignedTag, 'en', { numeric: true }));
}

interface TrustInfo {
  rows: SignedTagRow[];
  admin: { name: string; keyIds: string[] }[];
  /** Signer name → key IDs (the delegations but targets/releases). */
  signers: Map<string, string[]>;
}

/** docker's lookupTrustInfo, its failure in docker's words. */
async function lookupTrustInfo(io: Io, remote: string): Promise<TrustInfo> {
  const tag = imageModule().parseReference(remote).tag;
  return withTrust(io, remote, async (client) => {
    let targets: SignedTarget[];
    try {
      targets = await client.signedTargets(tag);
    } catch (error) {
      throw new CtrError('NotFound', `no signatures or cannot access ${remote}`, { cause: error });
    }
    const { base, delegations } = await client.roles().catch((error: unknown) => Promise.reject(new CtrError('NotFound', `no signers for ${remote}`, { cause: error })));
    const signers = new Map<string, string[]>();
    for (const role of delegations) if (role.name !== 'targets/releases') signers.set(signerOf(role.name), role.keyIds);
    return { rows: releasedSignatures(targets), admin: base.map((role) => ({ name: role.name, keyIds: role.keyIds })), signers };
  });
}

const byNameDescending = <T extends { Name: string }>(a: T, b: T): number => (a.Name < b.Name ? 1 : a.Name > b.Name ? -1 : 0);

/** docker's trustRepo JSON for one image. */
async function trustRepo(io: Io, remote: string): Promise<object> {
  const info = await lookupTrustInfo(io, remote);
  const keys = (ids: readonly string[]): { ID: string }[] => ids.map((id) => ({ ID: id }));
  const names: Record<string, string> = { root: 'Root', targets: 'Repository' };
  return {
    Name: remote,
    SignedTags: info.rows.map((row) => ({ ...row, Signers: row.Signers.length === 0 ? [REPO_ADMIN] : row.Signers })),
    Signers: [...info.signers].map(([name, ids]) => ({ Name: name, Keys: keys(ids) })).sort(byNameDescending),
    AdministrativeKeys: info.admin
      .filter((role) => names[role.name] !== undefined)
      .map((role) => ({ Name: names[role.name] as string, Keys: keys(role.keyIds) }))
      .sort(byNameDescending),
  };
}

/** docker's prettyPrintTrustInfo. */
async function prettyTrustInfo(io: Io, remote: string): Promise<string> {
  const info = await lookupTrustInfo(io, remote);
  let out = '';
  if (info.rows.length > 0) {
    const rows = info.rows.map((row) => ({ SignedTag: row.SignedTag, Digest: row.Digest, Signers: (row.Signers.length === 0 ? [`(${REPO_ADMIN})`] : [...row.Signers].sort()).join(', ') }));
    out += `\nSignatures for ${remote}\n\n${formatList('table {{.SignedTag}}\t{{.Digest}}\t{{.Signers}}', rows, { SignedTag: 'SIGNED TAG', Digest: 'DIGEST', Signers: 'SIGNERS' })}`;
  } else {
    out += `\nNo signatures for ${remote}\n\n`;
  }
  if (info.signers.size > 0) {
    const rows = [...info.signers]
      .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
      .map(([name, ids]) => ({ Signer: name, Keys: [...ids].sort().map((id) => id.slice(0, 12)).join(', ') }));
    out += `\nList of signers and their keys for ${remote}\n\n${formatList('table {{.Signer}}\t{{.Keys}}', rows, { Signer: 'SIGNER', Keys: 'KEYS' })}`;
  }
  out += `\nAdministrative keys for ${remote}\n\n`;
  const labels: Record<string, string> = { targets: 'Repository Key', root: 'Root Key' };
  for (const role of [...info.admin].sort((a, b) => (a.name < b.name ? 1 : -1))) {
    if (labels[role.name] !== undefined) out += `  ${labels[role.name]}:\t${[...role.keyIds].sort().join(', ')}\n`;
  }
  return out;
}

const inspect: Command = {
  name: 'inspect',
  usage: 'IMAGE[:TAG] [IMAGE[:TAG]...]',
  description: 'Return low-level information about keys and signatures',
  flags: [{ name: 'pretty', type: 'bool', description: 'Print the information in a human friendly format' }],
  args: [1, Infinity],
  async run(args, io) {
    if (bool(args, 'pretty')) {
      // As docker: the first failure ends it; images are separated by a blank line.
      const parts: string[] = [];
      for (const remote of args.positionals) parts.push(await prettyTrustInfo(io, remote));
      io.stdout.write(parts.join('\n\n'));
      return 0;
    }
    // As docker's inspect.Inspect: what was found is printed, then every failure, exit 1.
    const found: object[] = [];
    const errors: string[] = [];
    for (const remote of args.positionals) {
      try {
        found.push(await trustRepo(io, remote));
      } catch (error) {
        if (!isCtrError(error)) throw error;
        errors.push(error.message);
      }
    }
    // docker's CLI marshals the trust data itself (json.Marshal): `<`, `>` and `&` come out escaped.
    println(io, goJson(found, { indent: 4, marshal: true }));
    if (errors.length === 0) return 0;
    io.stderr.write(`${errors.join('\n')}\n`);
    return 1;
  },
};

/** A tagged IMAGE:TAG, refused as docker refuses the others (validateTag). */
function requireTag(image: string): string {
  const reference = imageModule().parseReference(image);
  if (reference.tag !== undefined) return reference.tag;
  if (reference.digest !== undefined) throw invalidArgument('cannot use a digest reference for IMAGE:TAG');
  throw invalidArgument(`no tag specified for ${image}`);
}

const sign: Command = {
  name: 'sign',
  usage: 'IMAGE:TAG',
  description: 'Sign an image',
  flags: [{ name: 'local', type: 'bool', description: 'Sign a locally tagged image' }],
  args: [1, 1],
  async run(args, io) {
    const image = args.positionals[0] as string;
    const tag = requireTag(image);
    const name = imageModule().referenceName(imageModule().parseReference(image));
    const released = await withTrust(io, image, async (client) => {
      if (!(await client.initialized())) {
        await initializeWithUserSigner(io, client, image);
        return undefined;
      }
      return bool(args, 'local') ? undefined : releasedTarget(client, tag);
    });
    if (released === undefined) {
      // Not signed yet (or --local): docker pushes the local image and signs what it pushed.
      const engine = await getEngine();
      await engine.inspectImage(image);
      io.stderr.write(`Signing and pushing trust data for local image ${image}, may overwrite remote trust data\n`);
      // What dockerd's push says comes first, as `docker push` shows it (docker's PushTrustedReference displays it).
      const [pushed] = await pushShowingProgress(engine, image, io.stdout);
      await signPushed(io, image, pushed);
      return 0;
    }
    println(io, `Signing and pushing trust metadata for ${image}`);
    await withTrust(io, image, async (client) => {
      const existing = releasedSignatures(await client.signedTargets(tag))[0];
      println(io, `Existing signatures for tag ${existing?.SignedTag ?? ''} digest ${existing?.Digest ?? ''} from:\n${[...(existing?.Signers ?? [])].sort().join(', ')}`);
      await client.sign({ name: tag, digest: released.digest, size: released.size });
    });
    println(io, `Successfully signed ${name}:${tag}`);
    return 0;
  },
};

/**
 * docker trust sign of a repository without trust data: once the image is known to be here,
 * the repository is made with a signer named for the user logged in to its registry
 * (`targets/<username>`, and targets/releases), so the tag goes into both. A user not logged in
 * has no name, and docker fails then; so does ctr, in docker's words.
 */
async function initializeWithUserSigner(io: Io, client: TrustClient, image: string): Promise<void> {
  await (await getEngine()).inspectImage(image);
  const { loadDockerConfigAuth } = registryModule();
  const username = (await loadDockerConfigAuth(imageModule().parseReference(image).domain, { env: io.env }))?.username ?? '';
  await client.initializeWithSigner(username);
  // The name as the user has it (docker prints the username): signerOf would call `releases` Repo Admin.
  println(io, `Created signer: ${username}`);
  println(io, `Finished initializing signed repository for ${image}`);
}

/** The tag's released target, or undefined when the repository or the tag has no trust data. */
async function releasedTarget(client: TrustClient, tag: string): Promise<{ digest: string; size: number } | undefined> {
  try {
    return await client.target(tag);
  } catch (error) {
    const problem = registryModule().trustProblem(error);
    if (problem === 'not-exist' || (isCtrError(error) && error.details.trust === 'no-target')) return undefined;
    throw error;
  }
}

const revoke: Command = {
  name: 'revoke',
  usage: '[OPTIONS] IMAGE[:TAG]',
  description: 'Remove trust for an image',
  flags: [{ name: 'yes', short: 'y', type: 'bool', description: 'Do not prompt for confirmation' }],
  args: [1, 1],
  async run(args, io) {
    const remote = args.positionals[0] as string;
    const reference = imageModule().parseReference(remote);
    if (reference.tag === undefined && reference.digest !== undefined) throw invalidArgument('cannot use a digest reference for IMAGE:TAG');
    if (reference.tag === undefined && !bool(args, 'yes') && !(await confirm(io, `Confirm you would like to delete all signature data for ${remote}?`))) {
      throw new CtrError('Aborted', 'trust revoke has been cancelled');
    }
    await withTrust(io, remote, async (client) => {
      try {
        if (reference.tag !== undefined) await client.target(reference.tag);
        else await client.releasedTargets().catch((error: unknown) => Promise.reject(isCtrError(error) && error.details.trust === 'no-target' ? new Error('no signed tags to remove') : error));
        await client.revoke(reference.tag);
      } catch (error) {
        // docker wraps notary's own words here, not its NotaryError's.
        throw new CtrError(isCtrError(error) ? error.code : 'Internal', `could not remove signature for ${remote}: ${registryModule().trustReason(error)}`, { cause: error });
      }
    });
    println(io, `Successfully deleted signature for ${remote}`);
    return 0;
  },
};

const keyNameError = (name: string): CtrError => invalidArgument(`key name "${name}" must start with lowercase alphanumeric characters and can include "-" or "_" after the first character`);

const keyGenerate: Command = {
  name: 'generate',
  usage: 'NAME',
  description: 'Generate and load a signing key-pair',
  flags: [{ name: 'dir', type: 'string', description: 'Directory to generate key in, defaults to current directory' }],
  args: [1, 1],
  async run(args, io) {
    const name = args.positionals[0] as string;
    const dir = str(args, 'dir') || process.cwd();
    if (!validName(name)) throw keyNameError(name);
    if (!(await fs.stat(dir).catch(() => undefined))) throw invalidArgument(`public key path does not exist: "${dir}"`);
    const file = path.join(dir, `${name}.pub`);
    if (await fs.stat(file).catch(() => undefined)) throw invalidArgument(`public key file already exists: "${file}"`);
    println(io, `Generating key for ${name}...`);
    const { generateKey, encodePem } = registryModule();
    const key = generateKey();
    await trustKeyStore(io).add(key.privateKey, name);
    await fs.writeFile(file, encodePem('PUBLIC KEY', Buffer.from(key.public.keyval.public, 'base64'), { role: name }), { mode: 0o600 });
    println(io, `Successfully generated and loaded private key. Corresponding public key available: ${file}`);
    return 0;
  },
};

const keyLoad: Command = {
  name: 'load',
  usage: '[OPTIONS] KEYFILE',
  description: 'Load a private key file for signing',
  flags: [{ name: 'name', type: 'string', description: 'Name for the loaded key', default: 'signer' }],
  args: [1, 1],
  async run(args, io) {
    const file = args.positionals[0] as string;
    const name = str(args, 'name') ?? 'signer';
    if (name !== '' && !validName(name)) throw keyNameError(name);
    println(io, `Loading key from "${file}"...`);
    const refused = (reason: string): CtrError => invalidArgument(`refusing to load key from ${file}: ${reason}`);
    const stat = await fs.stat(file).catch((error: NodeJS.ErrnoException) => Promise.reject(refused(error.message)));
    if ((stat.mode & 0o077) !== 0) throw refused(`private key file ${file} must not be readable or writable by others`);
    const { decodePem } = registryModule();
    const block = decodePem(await fs.readFile(file, 'utf8'));
    if (block === undefined || !/PRIVATE KEY$/.test(block.type)) {
      throw invalidArgument(`error importing key from ${file}: provided file ${file} is not a supported private key - to add a signer's public key use docker trust signer add`);
    }
    const store = trustKeyStore(io);
    let key;
    try {
      key = await store.decrypt(block, '', 'encrypted');
    } catch (error) {
      throw invalidArgument(`error importing key from ${file}: cannot load key from provided file ${file}: could not decrypt key`, { cause: error });
    }
    await store.add(key, name);
    println(io, `Successfully imported key from ${file}`);
    return 0;
  },
};

/** notary's key for a PUBLIC KEY block: ecdsa or rsa by what the SubjectPublicKeyInfo holds. */
function publicKeyOf(spki: Buffer): TufPublicKey {
  const type = createPublicKey({ key: spki, format: 'der', type: 'spki' }).asymmetricKeyType;
  if (type !== 'ec' && type !== 'rsa') throw invalidArgument(`unsupported public key type ${type ?? 'unknown'}`);
  return { keytype: type === 'ec' ? 'ecdsa' : 'rsa', keyval: { public: spki.toString('base64'), private: null } };
}

/** A signer's public keys from PEM files (`--key`), as docker's ingestPublicKeys reads them. */
async function publicKeys(files: readonly string[]): Promise<TufPublicKey[]> {
  const { decodePem } = registryModule();
  const out: TufPublicKey[] = [];
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8').catch((error: Error) => Promise.reject(invalidArgument(`unable to read public key from file: ${error.message}`)));
    const block = decodePem(text);
    if (block?.type === 'PUBLIC KEY') out.push(publicKeyOf(block.body));
    else if (block?.type === 'CERTIFICATE') out.push({ keytype: 'ecdsa-x509', keyval: { public: Buffer.from(text).toString('base64'), private: null } });
    else throw invalidArgument(`could not parse public key from file: ${file}: no valid public key found`);
  }
  return out;
}

const signerAdd: Command = {
  name: 'add',
  usage: 'OPTIONS NAME REPOSITORY [REPOSITORY...]',
  description: 'Add a signer',
  flags: [{ name: 'key', type: 'list', description: "Path to the signer's public key file" }],
  args: [2, Infinity],
  async run(args, io) {
    const [signer, ...repos] = args.positionals as [string, ...string[]];
    if (!validName(signer)) throw invalidArgument(`signer name "${signer}" must start with lowercase alphanumeric characters and can include "-" or "_" after the first character`);
    if (signer === 'releases') throw invalidArgument('releases is a reserved keyword, use a different signer name');
    if (list(args, 'key').length === 0) throw invalidArgument('path to a public key must be provided using the `--key` flag');
    const keys = await publicKeys(list(args, 'key'));
    const failed: string[] = [];
    for (const repo of repos) {
      println(io, `Adding signer "${signer}" to ${repo}...`);
      try {
        await withTrust(io, repo, async (client) => {
          const initialized = await client.addSigner(signer, keys, () => println(io, `Initializing signed repository for ${repo}...`));
          if (initialized) println(io, `Successfully initialized "${repo}"`);
        });
        println(io, `Successfully added signer: ${signer} to ${repo}\n`);
      } catch (error) {
        // docker's addSignerToRepo names the repository as typed in its NotaryError.
        io.stderr.write(`${(registryModule().trustErrorNaming(error, repo) as Error).message}\n\n`);
        failed.push(repo);
      }
    }
    if (failed.length > 0) throw new CtrError('Internal', `failed to add signer to: ${failed.join(', ')}`);
    return 0;
  },
};

const signerRemove: Command = {
  name: 'remove',
  usage: '[OPTIONS] NAME REPOSITORY [REPOSITORY...]',
  description: 'Remove a signer',
  flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation before removing the most recent signer' }],
  args: [2, Infinity],
  async run(args, io) {
    const [signer, ...repos] = args.positionals as [string, ...string[]];
    const failed: string[] = [];
    for (const repo of repos) {
      println(io, `Removing signer "${signer}" from ${repo}...`);
      try {
        if (signer === 'releases') throw invalidArgument('releases is a reserved keyword and cannot be removed');
        const removed = await withTrust(io, repo, async (client) => {
          const { delegations } = await client.roles().catch((error: unknown) =>
            Promise.reject(new CtrError(isCtrError(error) ? error.code : 'Internal', `error retrieving signers for ${repo}: ${registryModule().trustReason(error)}`, { cause: error })),
          );
          const role = delegations.find((r) => r.name === `targets/${signer}`);
          if (role === undefined) throw new CtrError('NotFound', `no signer ${signer} for repository ${repo}`);
          const last = !bool(args, 'force') && (await lastReleasesSigner(client, role.keyIds));
          if (last && !(await confirm(io, `The signer "${signer}" signed the last released version of ${repo}. Removing this signer will make ${repo} unpullable. Are you sure you want to continue?`))) return false;
          await client.removeSigner(signer);
          return true;
        });
        println(io, removed ? `Successfully removed ${signer} from ${repo}\n` : '\nAborting action.');
      } catch (error) {
        io.stderr.write(`${(error as Error).message}\n\n`);
        failed.push(repo);
      }
    }
    if (failed.length > 0) throw new CtrError('Internal', `error removing signer from: ${failed.join(', ')}`);
    return 0;
  },
};

/** docker's isLastSignerForReleases: removing these keys leaves targets/releases short of its threshold. */
async function lastReleasesSigner(client: TrustClient, keyIds: readonly string[]): Promise<boolean> {
  const releases = await client.roleSignatures('targets/releases');
  if (releases === undefined || releases.signatureKeyIds.length === 0) throw new CtrError('Conflict', 'all signed tags are currently revoked, use docker trust sign to fix');
  const left = releases.signatureKeyIds.filter((id) => !keyIds.includes(id)).length;
  return left < releases.threshold;
}

/** A command that dispatches to a group of its own (`ctr trust key generate`), as cobra nests them. */
function nested(group: CommandGroup): Command {
  return {
    name: group.name.split(' ').at(-1) as string,
    usage: 'COMMAND',
    description: group.description,
    flags: [],
    passThrough: true,
    run(args, io) {
      const { runGroup } = require('../main') as typeof import('../main');
      return runGroup(group, args.positionals, io, false);
    },
  };
}

export const trustCommands: Command[] = [
  inspect,
  revoke,
  sign,
  nested({ name: 'trust key', description: 'Manage keys for signing Docker images', commands: [keyGenerate, keyLoad] }),
  nested({ name: 'trust signer', description: 'Manage entities who can sign Docker images', commands: [signerAdd, signerRemove] }),
];
