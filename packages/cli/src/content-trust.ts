import type { Digest, Platform } from '@ctr/image';
import type { TrustClient, TrustKeyStore, TrustTarget } from '@ctr/registry';
import { CtrError, isCtrError } from '@ctr/errors';
import type { Io } from './command';
import { imageModule, insecureRegistries, registryModule, type CliEngine } from './context';
import { bool, type FlagSpec, type ParsedArgs } from './flags';
import { prompt } from './prompt';

/** docker's rule: DOCKER_CONTENT_TRUST turns trust on unless it is a false boolean ('0', 'false', 'F'…); anything else counts as on. */
function contentTrustEnabled(env: NodeJS.ProcessEnv): boolean {
  const value = env.DOCKER_CONTENT_TRUST;
  if (value === undefined || value === '') return false;
  return !['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value);
}

/**
 * `--disable-content-trust` of the commands the docker CLI verifies signatures for (pull, push,
 * run, create, build): its default follows DOCKER_CONTENT_TRUST as docker's does.
 */
export const contentTrustFlag: FlagSpec = {
  name: 'disable-content-trust',
  type: 'bool',
  description: 'Skip image verification',
  default: !contentTrustEnabled(process.env),
};

/**
 * Whether a command resolves `image` through its trust server: trust is on, and the image is
 * named by tag — a digest reference or an image ID names its content already, and docker's
 * CLI asks no Notary for it either.
 */
export function verifiesTrust(args: ParsedArgs, image?: string): boolean {
  if (bool(args, 'disable-content-trust')) return false;
  return image === undefined || !(image.includes('@') || /^(sha256:)?[0-9a-f]{64}$/.test(image));
}

/**
 * The trust client for `name`'s repository, as docker's GetNotaryRepository makes it: the
 * server by docker's trust.Server rule, its certificate unchecked for a registry that is not
 * secure (loopback, or named by `--insecure-registry`), the registry's credentials, its keys and
 * pinned metadata under `$DOCKER_CONFIG/trust`, passphrases from the environment or asked on stdin.
 */
async function openTrust(io: Io, name: string): Promise<TrustClient> {
  const { TrustClient, dockerTrustDirectory, loadDockerConfigAuth, trustServer, trustServerVerified } = registryModule();
  const { domain, path } = imageModule().parseReference(name);
  return new TrustClient({
    gun: `${domain}/${path}`,
    registry: domain,
    server: trustServer(domain, io.env),
    trustDirectory: dockerTrustDirectory(io.env),
    keys: trustKeyStore(io),
    credentials: (registry) => loadDockerConfigAuth(registry, { env: io.env }),
    verifyCertificate: trustServerVerified(domain, insecureRegistries()),
  });
}

/** The keys under `$DOCKER_CONFIG/trust`, their passphrases from the environment or asked on this command's terminal. */
export function trustKeyStore(io: Io): TrustKeyStore {
  const { TrustKeyStore, dockerTrustDirectory, dockerPassphraseRetriever } = registryModule();
  const passphrases = dockerPassphraseRetriever(io.env, {
    ask: (question) => prompt(io, question, io.stdin.isTTY === true),
    say: (line) => void io.stdout.write(`${line}\n`),
  });
  return new TrustKeyStore(dockerTrustDirectory(io.env), passphrases);
}

/** Run `work` with the trust client for `name`, closed after. */
export async function withTrust<T>(io: Io, name: string, work: (client: TrustClient) => Promise<T>): Promise<T> {
  const client = await openTrust(io, name);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/**
 * The digest reference a tagged `image` is signed as (docker's TrustedReference), in the
 * familiar form docker gives the daemon: `app@sha256:…`.
 */
export async function trustedReference(io: Io, image: string): Promise<TrustedBase> {
  const { familiarString, parseNormalizedReference, withDigest } = imageModule();
  const reference = parseNormalizedReference(image);
  const target = await withTrust(io, image, (client) => client.target(reference.tag as string));
  return { digestRef: familiarString(withDigest(reference, target.digest as Digest)), tagRef: familiarString(reference) };
}

/**
 * docker's FROM line (rewriteDockerfileFromForContentTrust): at a line's start, `FROM` and the
 * image. Unlike docker's, `--flag=value` words before the image are stepped over (docker reads
 * `--platform=…` as the image and fails), and a stage name after `AS` is noted.
 */
const FROM_LINE = /^(\uFEFF?[\s]*FROM(?:[ \f\r\t\v]+--[^ \f\r\t\v\n#]*)*[ \f\r\t\v]+)([^ \f\r\t\v\n#]+)(?:[ \f\r\t\v]+AS[ \f\r\t\v]+([^ \f\r\t\v\n#]+))?/i;

/** A base image a build resolved through trust: built from the digest, tagged after (docker's resolvedTag). */
export interface TrustedBase {
  digestRef: string;
  tagRef: string;
}

/**
 * docker's build with trust on, client-side: every `FROM <image>` naming a registry image by
 * tag (`latest` when none) is replaced by the digest the tag is signed as. `scratch`, digest
 * references and the names of earlier stages are left alone; a build argument in FROM is not a
 * reference, and fails as docker's parse fails. Lines other than those rewritten keep their bytes.
 */
export async function trustedDockerfile(io: Io, dockerfile: string): Promise<{ dockerfile: string; resolved: TrustedBase[] }> {
  const { parseNormalizedReference } = imageModule();
  const stages = new Set<string>();
  const resolved: TrustedBase[] = [];
  const lines = dockerfile.split('\n');
  for (const [index, line] of lines.entries()) {
    const match = FROM_LINE.exec(line);
    if (match === null) continue;
    const [, prefix, image, stage] = match as unknown as [string, string, string, string | undefined];
    const isStage = stages.has(image.toLowerCase());
    if (stage !== undefined) stages.add(stage.toLowerCase());
    if (image === 'scratch' || isStage || parseNormalizedReference(image).digest !== undefined) continue;
    const trusted = await trustedReference(io, image);
    resolved.push(trusted);
    lines[index] = `${prefix}${trusted.digestRef}${line.slice(prefix.length + image.length)}`;
  }
  return { dockerfile: lines.join('\n'), resolved };
}

/** docker's TagTrusted: the digest pulled gets the tag it was signed as, said on stderr. */
export async function tagTrusted(engine: CliEngine, io: Io, resolved: TrustedBase): Promise<void> {
  io.stderr.write(`Tagging ${resolved.digestRef} as ${resolved.tagRef}\n`);
  await engine.tag(resolved.digestRef, resolved.tagRef);
}

export interface TrustedPullOptions {
  quiet: boolean;
  allTags: boolean;
  platform?: Platform;
  /** Pull a reference as `ctr pull` shows it (`pullShowingProgress` on stdout). */
  pull(ref: string): Promise<unknown>;
}

/**
 * docker's trustedPull: resolve the tag (every signed tag with `-a`) through verified trust
 * data, then for each: `Pull (i of n): name:tag@digest`, pull by digest, tag it.
 */
export async function trustedPull(engine: CliEngine, io: Io, ref: string, options: TrustedPullOptions): Promise<void> {
  const { familiarName, familiarString, parseReference, withDigest } = imageModule();
  const reference = parseReference(ref);
  const targets: TrustTarget[] = await withTrust(io, ref, (client) => (options.allTags ? client.releasedTargets() : client.target(reference.tag ?? 'latest').then((t) => [t])));
  for (const [index, target] of targets.entries()) {
    io.stdout.write(`Pull (${index + 1} of ${targets.length}): ${familiarName(reference)}:${target.name}@${target.digest}\n`);
    const digestRef = familiarString(withDigest(reference, target.digest as Digest));
    await options.pull(digestRef);
    await tagTrusted(engine, io, { digestRef, tagRef: `${familiarName(reference)}:${target.name}` });
  }
}

/**
 * docker's PushTrustedReference after the push: sign the tag pushed into the repository's trust
 * data, initializing it first when the server has none. Failures of the signing itself are
 * "failed to sign NAME:TAG: …", as docker wraps them.
 */
export async function signPushed(io: Io, ref: string, pushed: { tag: string; digest: string; size: number }): Promise<void> {
  io.stdout.write('Signing and pushing trust metadata\n');
  await withTrust(io, ref, async (client) => {
    try {
      await client.sign({ name: pushed.tag, digest: pushed.digest, size: pushed.size }, () => void io.stdout.write(`Finished initializing "${client.gun}"\n`));
    } catch (error) {
      if (registryModule().trustProblem(error) !== undefined || !isCtrError(error)) throw error;
      throw new CtrError(error.code, `failed to sign ${client.gun}:${pushed.tag}: ${error.message}`, { cause: error, details: error.details });
    }
    io.stdout.write(`Successfully signed ${client.gun}:${pushed.tag}\n`);
  });
}

/** The tags run/create resolved through trust, by the options that now name the digest. */
const resolvedForCreate = new WeakMap<object, TrustedBase>();

/**
 * docker's create with trust on: a tagged image (`latest` when none) is replaced by the digest
 * it is signed as, so the container is made from verified content; the tag follows a pull.
 */
export async function withTrustedImage<T extends { image: string }>(args: ParsedArgs, io: Io, options: T): Promise<T> {
  if (!verifiesTrust(args, options.image)) return options;
  const resolved = await trustedReference(io, options.image);
  const trusted = { ...options, image: resolved.digestRef };
  resolvedForCreate.set(trusted, resolved);
  return trusted;
}

/** After run/create pulled a digest they resolved through trust: tag it as docker's TagTrusted does. */
export async function tagTrustedPull(engine: CliEngine, io: Io, options: object): Promise<void> {
  const resolved = resolvedForCreate.get(options);
  if (resolved !== undefined) await tagTrusted(engine, io, resolved);
}
