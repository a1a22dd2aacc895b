import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CtrError, notFound } from '@ctr/errors';
import { goJsonEscaped, MediaTypes, type Descriptor, type Digest, type Platform } from '@ctr/image';

/** One image manifest of a local manifest list: docker's types.ImageManifest. */
export interface ManifestEntry {
  /** The manifest's normalized reference: `docker.io/library/busybox:latest`. */
  ref: string;
  descriptor: Descriptor;
  /** The manifest's bytes as its registry sent them: what the list's digest for it names. */
  raw: Buffer;
}

/**
 * JSON text re-laid as Go's json.Compact (no `indent`) or json.Indent does it: every token
 * kept as written (key order, numbers, escapes), only the space between them changed, so a
 * manifest printed or stored this way still reads as the bytes its digest names.
 */
export function goJsonLayout(text: string, indent?: string): string {
  let out = '';
  let depth = 0;
  let opened = false;
  const newline = (): string => (indent === undefined ? '' : `\n${indent.repeat(depth)}`);
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    const closing = c === '}' || c === ']';
    if (opened) {
      opened = false;
      // Go writes an empty object or array closed on the line it opened.
      if (closing) {
        out += c;
        continue;
      }
      depth++;
      out += newline();
    } else if (closing) {
      depth--;
      out += newline() + c;
      continue;
    }
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      out += text.slice(i, end + 1);
      i = end;
    } else if (c === '{' || c === '[') {
      out += c;
      opened = true;
    } else if (c === ',') {
      out += c + newline();
    } else if (c === ':') {
      out += indent === undefined ? ':' : ': ';
    } else {
      out += c;
    }
  }
  return out;
}

/** A platform in the order and with the fields Go writes an OCI platform (ocispec.Platform). */
export function goPlatform(platform: Platform): Platform {
  return {
    architecture: platform.architecture ?? '',
    os: platform.os ?? '',
    ...(platform['os.version'] ? { 'os.version': platform['os.version'] } : {}),
    ...(platform['os.features']?.length ? { 'os.features': platform['os.features'] } : {}),
    ...(platform.variant ? { variant: platform.variant } : {}),
  };
}

function goDescriptor(d: Descriptor): Descriptor {
  const annotations = d.annotations && Object.keys(d.annotations).length > 0 ? d.annotations : undefined;
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.urls?.length ? { urls: d.urls } : {}),
    // Go writes a map's keys sorted.
    ...(annotations ? { annotations: Object.fromEntries(Object.entries(annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) } : {}),
    ...(d.data ? { data: d.data } : {}),
    ...(d.platform ? { platform: goPlatform(d.platform) } : {}),
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
  };
}

/** Which of docker's fields holds the manifest itself, by its kind. */
function manifestField(entry: ManifestEntry): 'SchemaV2Manifest' | 'OCIManifest' {
  return entry.descriptor.mediaType === MediaTypes.dockerManifest ? 'SchemaV2Manifest' : 'OCIManifest';
}

/** An entry as docker's json.Marshal writes types.ImageManifest (compact; `goJsonLayout` indents it). */
export function entryJson(entry: ManifestEntry): string {
  const fields = [
    `"Ref":${JSON.stringify(entry.ref)}`,
    `"Descriptor":${JSON.stringify(goDescriptor(entry.descriptor))}`,
    `"Raw":"${entry.raw.toString('base64')}"`,
    `"${manifestField(entry)}":${goJsonLayout(entry.raw.toString('utf8'))}`,
  ];
  return goJsonEscaped(`{${fields.join(',')}}`, true);
}

/** docker's makeFilesafeName. */
const fileSafe = (ref: string): string => ref.replace(/:/g, '-').replace(/\//g, '_');

/**
 * Local manifest lists, laid out as docker's CLI lays them out under its config directory
 * (`manifests/<list>/<manifest>`, each file a types.ImageManifest), so that either tool
 * reads the other's. References are normalized (`docker.io/library/x:latest`).
 */
export class ManifestStore {
  constructor(private readonly root: string) {}

  /** The store in a CLI config directory. */
  static in(configDir: string): ManifestStore {
    return new ManifestStore(path.join(configDir, 'manifests'));
  }

  private listDir(listRef: string): string {
    return path.join(this.root, fileSafe(listRef));
  }

  async get(listRef: string, ref: string): Promise<ManifestEntry> {
    return this.read(path.join(this.listDir(listRef), fileSafe(ref)), ref);
  }

  /** The list's entries in docker's order (its files' names, sorted); NotFound when there is no such list. */
  async getList(listRef: string): Promise<ManifestEntry[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.listDir(listRef));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`No such manifest: ${listRef}`);
      throw error;
    }
    // By UTF-16 code unit, which for these ASCII file names is Go's byte order.
    names.sort();
    const entries: ManifestEntry[] = [];
    for (const name of names) entries.push(await this.read(path.join(this.listDir(listRef), name), listRef));
    return entries;
  }

  async save(listRef: string, ref: string, entry: ManifestEntry): Promise<void> {
    await fs.mkdir(this.listDir(listRef), { recursive: true, mode: 0o755 });
    await fs.writeFile(path.join(this.listDir(listRef), fileSafe(ref)), entryJson(entry), { mode: 0o644 });
  }

  async remove(listRef: string): Promise<void> {
    await fs.rm(this.listDir(listRef), { recursive: true, force: true });
  }

  private async read(file: string, ref: string): Promise<ManifestEntry> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`No such manifest: ${ref}`);
      throw error;
    }
    const stored = parseStored(text);
    if (stored === undefined) throw new CtrError('Internal', `invalid manifest file ${file}: not an image manifest docker's CLI or ctr wrote`);
    return stored;
  }
}

interface StoredEntry {
  Ref?: unknown;
  Descriptor?: Partial<Descriptor>;
  Raw?: unknown;
  SchemaV2Manifest?: unknown;
  OCIManifest?: unknown;
}

/** A stored entry; without `Raw` (older docker CLIs), the manifest field's JSON is its bytes, as docker then reads it. */
function parseStored(text: string): ManifestEntry | undefined {
  let stored: StoredEntry;
  try {
    stored = JSON.parse(text) as StoredEntry;
  } catch {
    return undefined;
  }
  const d = stored.Descriptor;
  if (typeof stored.Ref !== 'string' || typeof d !== 'object' || d === null || typeof d.digest !== 'string' || typeof d.mediaType !== 'string') return undefined;
  const manifest = stored.SchemaV2Manifest ?? stored.OCIManifest;
  const raw = typeof stored.Raw === 'string' ? Buffer.from(stored.Raw, 'base64') : manifest !== undefined ? Buffer.from(JSON.stringify(manifest)) : undefined;
  if (raw === undefined) return undefined;
  return { ref: stored.Ref, descriptor: { ...d, mediaType: d.mediaType, digest: d.digest as Digest, size: typeof d.size === 'number' ? d.size : raw.length }, raw };
}
