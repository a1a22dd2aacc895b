import { Readable } from 'node:stream';
import type { RegistryClient } from '@ctr/registry';
import type { BlobProvider, Descriptor, Digest, Platform, Reference } from '@ctr/image';
import { CtrError, invalidArgument, isCtrError, isNotFound, isUnauthorized, notFound } from '@ctr/errors';
import type { Command, Io } from '../command';
import { configDir } from '../context-store';
import { imageModule, insecureRegistries, println, registryModule } from '../context';
import { bool, list, str } from '../flags';
import { entryJson, goJsonLayout, goPlatform, ManifestStore, type ManifestEntry } from './manifest-store';

/**
 * `ctr manifest`: docker's manifest lists (docker/cli's cli/command/manifest), made locally
 * from manifests already in a registry, annotated, then pushed as one list or index.
 */

/** os/arch pairs docker's annotate accepts (its validOSArches). */
const VALID_OS_ARCH = new Set(
  [
    'darwin/386', 'darwin/amd64', 'darwin/arm', 'darwin/arm64', 'dragonfly/amd64',
    'freebsd/386', 'freebsd/amd64', 'freebsd/arm',
    'linux/386', 'linux/amd64', 'linux/arm', 'linux/arm64', 'linux/ppc64le', 'linux/mips64', 'linux/mips64le', 'linux/riscv64', 'linux/s390x',
    'netbsd/386', 'netbsd/amd64', 'netbsd/arm', 'openbsd/386', 'openbsd/amd64', 'openbsd/arm',
    'plan9/386', 'plan9/amd64', 'solaris/amd64', 'windows/386', 'windows/amd64',
  ],
);

/** What docker's platform struct is when nothing set it: its two fields empty (they have no omitempty). */
const NO_PLATFORM: Platform = { architecture: '', os: '' };

const manifestStore = (io: Io): ManifestStore => ManifestStore.in(configDir(io.env));

/** docker's normalizeReference: a name without tag or digest means `:latest`. */
function normalized(text: string): Reference {
  return imageModule().parseNormalizedReference(text);
}

const refText = (ref: Reference): string => imageModule().formatReference(ref);

/** A client for the reference's registry: `--insecure` adds it to the `--insecure-registry` list. */
function registryClient(io: Io, ref: Reference, insecure: boolean): RegistryClient {
  const { RegistryClient } = registryModule();
  return new RegistryClient({ dockerConfig: { env: io.env }, insecureRegistries: insecure ? [...insecureRegistries(), ref.domain] : insecureRegistries() });
}

async function withClient<T>(io: Io, ref: Reference, insecure: boolean, work: (client: RegistryClient) => Promise<T>): Promise<T> {
  return withClients(io, insecure, (clientFor) => work(clientFor(ref)));
}

/**
 * `work` given a client per registry, each made when first asked for and kept to the end:
 * a client keeps its connections and tokens, which several manifests of one registry share.
 */
async function withClients<T>(io: Io, insecure: boolean, work: (clientFor: (ref: Reference) => RegistryClient) => Promise<T>): Promise<T> {
  const clients = new Map<string, RegistryClient>();
  const clientFor = (ref: Reference): RegistryClient => {
    const client = clients.get(ref.domain) ?? registryClient(io, ref, insecure);
    clients.set(ref.domain, client);
    return client;
  };
  try {
    return await work(clientFor);
  } finally {
    await Promise.all([...clients.values()].map((client) => client.close()));
  }
}

/** What a registry says it lacks (or will not show) is docker's `no such manifest`. */
function noSuchManifest(ref: Reference, error: unknown): unknown {
  return isNotFound(error) || isUnauthorized(error) ? notFound(`no such manifest: ${refText(ref)}`, { cause: error }) : error;
}

/** The platform an image config names (docker unmarshals the config into an OCI platform). */
function configPlatform(config: Buffer): Platform {
  const fields = imageModule().parseJsonObject(config, { what: 'image config' });
  const text = (key: string): string | undefined => (typeof fields[key] === 'string' ? (fields[key] as string) : undefined);
  const features = fields['os.features'];
  // goPlatform leaves out the optional fields left empty.
  return goPlatform({
    architecture: text('architecture') ?? '',
    os: text('os') ?? '',
    'os.version': text('os.version') ?? '',
    'os.features': Array.isArray(features) ? features.filter((f): f is string => typeof f === 'string') : [],
    variant: text('variant') ?? '',
  });
}

/** An image manifest fetched as docker's registry client makes an entry of it: its platform from its config. */
async function manifestEntry(client: RegistryClient, ref: Reference, descriptor: Descriptor, raw: Buffer): Promise<ManifestEntry> {
  const parsed = imageModule().parseManifestOrIndex(raw, descriptor.mediaType);
  if (parsed.kind === 'index') throw invalidArgument(`${refText(ref)} is a manifest list`);
  const config = await client.fetchSmallBlob(ref, parsed.manifest.config.digest);
  return { ref: refText(ref), descriptor: { mediaType: parsed.mediaType, digest: descriptor.digest, size: descriptor.size, platform: configPlatform(config) }, raw };
}

type Remote = { kind: 'manifest'; entry: ManifestEntry } | { kind: 'list'; entries: ManifestEntry[] };

/** A manifest, or each manifest of a list or index (its platform the list's for it), from the registry. */
async function fetchRemote(client: RegistryClient, ref: Reference): Promise<Remote> {
  try {
    const fetched = await client.fetchManifest(ref);
    const parsed = imageModule().parseManifestOrIndex(fetched.bytes, fetched.descriptor.mediaType);
    if (parsed.kind === 'manifest') return { kind: 'manifest', entry: await manifestEntry(client, ref, fetched.descriptor, fetched.bytes) };
    const entries: ManifestEntry[] = [];
    for (const child of parsed.index.manifests) {
      const childRef = { ...ref, digest: child.digest };
      const got = await client.fetchManifest(childRef);
      if (!imageModule().isManifestType(got.descriptor.mediaType)) throw invalidArgument(`unsupported manifest type: ${got.descriptor.mediaType}`);
      const entry = await manifestEntry(client, childRef, got.descriptor, got.bytes);
      entries.push({ ...entry, descriptor: { ...entry.descriptor, platform: goPlatform(child.platform ?? NO_PLATFORM) } });
    }
    return { kind: 'list', entries };
  } catch (error) {
    throw noSuchManifest(ref, error);
  }
}

/** docker's getManifest: the list's own entry for it if it has one, else the registry's manifest. */
async function lookUpManifest(store: ManifestStore, listRef: string, ref: Reference, clientFor: (ref: Reference) => RegistryClient): Promise<ManifestEntry> {
  try {
    return await store.get(listRef, refText(ref));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const registry = clientFor(ref);
  let fetched;
  try {
    fetched = await registry.fetchManifest(ref);
  } catch (error) {
    throw noSuchManifest(ref, error);
  }
  return manifestEntry(registry, ref, fetched.descriptor, fetched.bytes);
}

interface BuiltList {
  descriptor: Descriptor;
  bytes: Buffer;
}

/**
 * The list docker builds from the entries (manifestlist.FromDescriptors): an OCI index when the
 * first entry is an OCI manifest, else a Docker manifest list, laid out as docker lays it out.
 */
function buildList(entries: readonly ManifestEntry[], target: Reference): BuiltList {
  const { MediaTypes, digestOf, parseReference } = imageModule();
  const manifests = entries.map((entry) => {
    const domain = parseReference(entry.ref).domain;
    if (domain !== target.domain) throw invalidArgument(`cannot use source images from a different registry than the target image: ${domain} != ${target.domain}`);
    const { mediaType, size, digest, platform } = entry.descriptor;
    return { mediaType, size, digest, platform: goPlatform(platform ?? NO_PLATFORM) };
  });
  const mediaType = entries[0]?.descriptor.mediaType === MediaTypes.ociManifest ? MediaTypes.ociIndex : MediaTypes.dockerManifestList;
  const bytes = Buffer.from(imageModule().goJsonEscaped(JSON.stringify({ schemaVersion: 2, mediaType, manifests }, null, 3), true));
  return { descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length }, bytes };
}

function printManifest(io: Io, entry: ManifestEntry, verbose: boolean): void {
  println(io, verbose ? goJsonLayout(entryJson(entry), '\t') : goJsonLayout(entry.raw.toString('utf8'), '\t'));
}

function printList(io: Io, ref: Reference, entries: readonly ManifestEntry[], verbose: boolean): void {
  if (verbose) return println(io, goJsonLayout(`[${entries.map(entryJson).join(',')}]`, '\t'));
  let built: BuiltList;
  try {
    built = buildList(entries, ref);
  } catch (error) {
    if (!isCtrError(error)) throw error;
    throw new CtrError(error.code, `failed to assemble ManifestDescriptor: ${error.message}`, { cause: error });
  }
  println(io, built.bytes.toString('utf8'));
}

const inspect: Command = {
  name: 'inspect',
  usage: '[OPTIONS] [MANIFEST_LIST] MANIFEST',
  description: 'Display an image manifest, or manifest list',
  flags: [
    { name: 'insecure', type: 'bool', description: 'Allow communication with an insecure registry' },
    { name: 'verbose', short: 'v', type: 'bool', description: 'Output additional info including layers and platform' },
  ],
  args: [1, 2],
  async run(args, io) {
    const verbose = bool(args, 'verbose');
    const [first, second] = args.positionals as [string, string | undefined];
    const ref = normalized(second ?? first);
    const store = manifestStore(io);
    if (second !== undefined) {
      printManifest(io, await store.get(refText(normalized(first)), refText(ref)), verbose);
      return 0;
    }
    // As docker's: only a list that is not there (or has no entries) sends it to the registry; a stored one it cannot read is an error.
    const local = await store.getList(refText(ref)).catch((error: unknown) => (isNotFound(error) ? [] : Promise.reject(error)));
    if (local.length > 0) {
      printList(io, ref, local, verbose);
      return 0;
    }
    const remote = await withClient(io, ref, bool(args, 'insecure'), (client) => fetchRemote(client, ref));
    if (remote.kind === 'manifest') printManifest(io, remote.entry, verbose);
    else printList(io, ref, remote.entries, verbose);
    return 0;
  },
};

/** The list's reference, a bad one said as docker says it for `what`. */
function listReference(text: string, what: string): Reference {
  try {
    return normalized(text);
  } catch (error) {
    if (!isCtrError(error)) throw error;
    throw new CtrError(error.code, `${what} ${text}: ${error.message}`, { cause: error });
  }
}

const create: Command = {
  name: 'create',
  usage: 'MANIFEST_LIST MANIFEST [MANIFEST...]',
  description: 'Create a local manifest list for annotating and pushing to a registry',
  flags: [
    { name: 'amend', short: 'a', type: 'bool', description: 'Amend an existing manifest list' },
    { name: 'insecure', type: 'bool', description: 'Allow communication with an insecure registry' },
  ],
  args: [2, Infinity],
  async run(args, io) {
    const [listText, ...manifests] = args.positionals as [string, ...string[]];
    const listRef = refText(listReference(listText, 'error parsing name for manifest list'));
    const store = manifestStore(io);
    const exists = await store.getList(listRef).then(
      () => true,
      (error: unknown) => (isNotFound(error) ? false : Promise.reject(error)),
    );
    if (exists && !bool(args, 'amend')) throw new CtrError('AlreadyExists', 'refusing to amend an existing manifest list with no --amend flag');
    // As docker: each manifest is stored as it is found; one that is not ends the command there.
    await withClients(io, bool(args, 'insecure'), async (clientFor) => {
      for (const text of manifests) {
        const ref = normalized(text);
        await store.save(listRef, refText(ref), await lookUpManifest(store, listRef, ref, clientFor));
      }
    });
    println(io, `Created manifest list ${listRef}`);
    return 0;
  },
};

const annotate: Command = {
  name: 'annotate',
  usage: '[OPTIONS] MANIFEST_LIST MANIFEST',
  description: 'Add additional information to a local image manifest',
  flags: [
    { name: 'arch', type: 'string', description: 'Set architecture' },
    { name: 'os', type: 'string', description: 'Set operating system' },
    { name: 'os-features', type: 'list', valueName: 'strings', description: 'Set operating system feature' },
    { name: 'os-version', type: 'string', description: 'Set operating system version' },
    { name: 'variant', type: 'string', description: 'Set architecture variant' },
  ],
  args: [2, 2],
  async run(args, io) {
    const [listText, imageText] = args.positionals as [string, string];
    const listRef = refText(listReference(listText, 'annotate: error parsing name for manifest list'));
    const ref = refText(listReference(imageText, 'annotate: error parsing name for manifest'));
    const store = manifestStore(io);
    let entry: ManifestEntry;
    try {
      entry = await store.get(listRef, ref);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw notFound(`manifest for image ${imageText} does not exist in ${listText}`, { cause: error });
    }
    const os = str(args, 'os') ?? '';
    const arch = str(args, 'arch') ?? '';
    const platform: Platform = { ...(entry.descriptor.platform ?? NO_PLATFORM) };
    if (os) platform.os = os;
    if (arch) platform.architecture = arch;
    // A string-slice flag, as pflag's: each value may hold several, comma-separated.
    for (const feature of list(args, 'os-features').flatMap((value) => value.split(','))) {
      if (!(platform['os.features'] ?? []).includes(feature)) platform['os.features'] = [...(platform['os.features'] ?? []), feature];
    }
    const variant = str(args, 'variant');
    if (variant) platform.variant = variant;
    const osVersion = str(args, 'os-version');
    if (osVersion) platform['os.version'] = osVersion;
    // docker names the flags it was given in the refusal, not the combination it checked.
    if (!VALID_OS_ARCH.has(`${platform.os}/${platform.architecture}`)) throw invalidArgument(`manifest entry for image has unsupported os/arch combination: ${os}/${arch}`);
    await store.save(listRef, ref, { ...entry, descriptor: { ...entry.descriptor, platform } });
    return 0;
  },
};

/** The bytes a list's push sends itself (the list and its manifests); the blobs go by mount, as docker's do. */
function pushSource(documents: ReadonlyMap<Digest, Buffer>, missing: (digest: Digest) => CtrError): BlobProvider {
  const held = (digest: Digest): Buffer => {
    const bytes = documents.get(digest);
    if (bytes === undefined) throw missing(digest);
    return bytes;
  };
  return {
    info: async (digest) => ({ digest, size: held(digest).length }),
    read: async (digest) => Readable.from([held(digest)]),
  };
}

/**
 * Push the list's entries as the list `target`, printing what docker prints: a manifest from
 * another repository of the registry has its blobs mounted into the target repository and is
 * put there by digest (a line each), then the list goes up and its digest is printed.
 */
async function pushList(io: Io, target: Reference, entries: readonly ManifestEntry[], insecure: boolean): Promise<void> {
  for (const entry of entries) {
    const platform = entry.descriptor.platform;
    if (!platform?.architecture || !platform.os) throw invalidArgument(`manifest ${entry.ref} must have an OS and Architecture to be pushed to a registry`);
  }
  const list = buildList(entries, target);
  const { parseManifestOrIndex, parseReference } = imageModule();
  const mountFrom = new Map<Digest, string[]>();
  const fromElsewhere = entries.filter((entry) => parseReference(entry.ref).path !== target.path);
  for (const entry of fromElsewhere) {
    const parsed = parseManifestOrIndex(entry.raw, entry.descriptor.mediaType);
    if (parsed.kind !== 'manifest') continue;
    const source = parseReference(entry.ref).path;
    for (const blob of [parsed.manifest.config, ...parsed.manifest.layers]) mountFrom.set(blob.digest, [...new Set([...(mountFrom.get(blob.digest) ?? []), source])]);
  }
  const documents = new Map<Digest, Buffer>([[list.descriptor.digest, list.bytes], ...entries.map((entry): [Digest, Buffer] => [entry.descriptor.digest, entry.raw])]);
  const missing = (digest: Digest): CtrError => {
    const from = mountFrom.get(digest)?.[0];
    return from === undefined
      ? notFound(`blob ${digest} is not in ${target.domain}/${target.path}`)
      : new CtrError('Unavailable', `error mounting ${target.domain}/${from}@${digest} to ${refText(target)}`);
  };
  const store = pushSource(documents, missing);
  await withClient(io, target, insecure, (client) => client.push(target, { store, manifest: list.descriptor, mountFrom }));
  for (const { descriptor } of fromElsewhere) println(io, `Pushed ref ${target.domain}/${target.path}@${descriptor.digest} with digest: ${descriptor.digest}`);
  println(io, list.descriptor.digest);
}

const push: Command = {
  name: 'push',
  usage: '[OPTIONS] MANIFEST_LIST',
  description: 'Push a manifest list to a repository',
  flags: [
    { name: 'insecure', type: 'bool', description: 'Allow push to an insecure registry' },
    { name: 'purge', short: 'p', type: 'bool', description: 'Remove the local manifest list after push' },
  ],
  args: [1, 1],
  async run(args, io) {
    const target = normalized(args.positionals[0] as string);
    const listRef = refText(target);
    const store = manifestStore(io);
    const entries = await store.getList(listRef);
    if (entries.length === 0) throw notFound(`${listRef} not found`);
    await pushList(io, target, entries, bool(args, 'insecure'));
    if (bool(args, 'purge')) await store.remove(listRef);
    return 0;
  },
};

const rm: Command = {
  name: 'rm',
  usage: 'MANIFEST_LIST [MANIFEST_LIST...]',
  description: 'Delete one or more manifest lists from local storage',
  flags: [],
  args: [1, Infinity],
  async run(args, io) {
    const store = manifestStore(io);
    // As docker: every list is tried; what failed is said at the end, one line each.
    const failed: CtrError[] = [];
    for (const text of args.positionals) {
      try {
        const listRef = refText(normalized(text));
        await store.getList(listRef);
        await store.remove(listRef);
      } catch (error) {
        if (!isCtrError(error)) throw error;
        failed.push(error);
      }
    }
    if (failed.length === 0) return 0;
    throw new CtrError((failed[0] as CtrError).code, failed.map((error) => error.message).join('\n'));
  },
};

export const manifestCommands: Command[] = [annotate, create, inspect, push, rm];
