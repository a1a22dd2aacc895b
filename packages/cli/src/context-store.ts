import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alreadyExists, conflict, CtrError, goErrnoWords, internal, invalidArgument, notFound } from '@ctr/errors';
import { encodeTarHeader, goJsonEscaped, goJsonSyntaxError, isJsonObject, TAR_END, tarDataEntry, TarReader, tarErrorReason } from '@ctr/image';

/** The name of the built-in context: the in-process engine (or `$CTR_HOST`/`$DOCKER_HOST`). */
export const DEFAULT_CONTEXT = 'default';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

/** Where a context's daemon is, as docker's `Endpoints.docker` holds it. */
export interface DockerEndpoint {
  Host: string;
  SkipTLSVerify: boolean;
}

/** TLS files of an endpoint: docker keeps copies beside the metadata, not the paths given. */
export interface EndpointTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** One context's `meta.json`, in docker's format. */
export interface ContextMeta {
  Name: string;
  Metadata: { Description?: string };
  Endpoints: { docker: DockerEndpoint };
}

export interface StoredContext {
  meta: ContextMeta;
  tls: EndpointTls;
  /** Directories docker's `context inspect` reports as `Storage`. */
  metaPath: string;
  tlsPath: string;
}

const TLS_FILES = ['ca', 'cert', 'key'] as const;

/** `$CTR_CONFIG`, else `~/.ctr`: ctr's counterpart of `~/.docker`. */
export function configDir(env: NodeJS.ProcessEnv): string {
  return env.CTR_CONFIG || path.join(env.HOME || os.homedir(), '.ctr');
}

export function checkContextName(name: string): void {
  if (name === '') throw invalidArgument('context name cannot be empty');
  if (name === DEFAULT_CONTEXT) throw invalidArgument(`"${DEFAULT_CONTEXT}" is a reserved context name`);
  if (!NAME.test(name)) throw invalidArgument(`context name "${name}" is invalid, names are validated against regexp "${NAME.source}"`);
}

/**
 * Named daemons, stored the way docker stores them so the layout is familiar:
 * `contexts/meta/<sha256 of name>/meta.json`, TLS copies under `contexts/tls/<same>/docker/`,
 * and the current context as `currentContext` in `config.json`.
 */
export class ContextStore {
  constructor(readonly dir: string) {}

  private id(name: string): string {
    return createHash('sha256').update(name).digest('hex');
  }

  private metaDir(name: string): string {
    return path.join(this.dir, 'contexts', 'meta', this.id(name));
  }

  private tlsDir(name: string): string {
    return path.join(this.dir, 'contexts', 'tls', this.id(name));
  }

  private configFile(): string {
    return path.join(this.dir, 'config.json');
  }

  private async readConfig(): Promise<Record<string, unknown>> {
    // Directly: every command reads this small file (most often to find it absent) before
    // anything else, and a thread-pool round trip then is time nothing else fills.
    let text = '';
    try {
      text = readFileSync(this.configFile(), 'utf8');
    } catch {
      // no config yet: the default context
    }
    if (!text.trim()) return {};
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw invalidArgument(`${this.configFile()} is not valid JSON`);
    }
  }

  /** The context `config.json` names, or `default`. */
  async current(): Promise<string> {
    const value = (await this.readConfig()).currentContext;
    return typeof value === 'string' && value ? value : DEFAULT_CONTEXT;
  }

  /** config.json's `detachKeys`: the detach keys of a command given none (docker's setting of the same name). */
  async detachKeys(): Promise<string | undefined> {
    const value = (await this.readConfig()).detachKeys;
    return typeof value === 'string' && value ? value : undefined;
  }

  async setCurrent(name: string): Promise<void> {
    const config = await this.readConfig();
    if (name === DEFAULT_CONTEXT) delete config.currentContext;
    else config.currentContext = name;
    await writeAtomic(this.configFile(), `${JSON.stringify(config, null, '\t')}\n`);
  }

  /** docker's words for a context that is not there: the store's own failure to open its metadata. */
  notFoundError(name: string): CtrError {
    return notFound(`context "${name}": context not found: open ${path.join(this.metaDir(name), 'meta.json')}: no such file or directory`);
  }

  async get(name: string): Promise<StoredContext> {
    const metaPath = this.metaDir(name);
    const meta = await this.readMeta(metaPath, `context "${name}"`);
    if (meta === undefined) throw this.notFoundError(name);
    return this.withTls(meta, metaPath);
  }

  /**
   * A context's `meta.json`, undefined when there is none (or the file's `absent` errno). One
   * that cannot be read, or is not JSON (hand-edited, cut), is said with where it is, after
   * `what`, as docker's store says it.
   */
  private async readMeta(metaPath: string, what: string, absent: readonly string[] = ['ENOENT']): Promise<ContextMeta | undefined> {
    const file = path.join(metaPath, 'meta.json');
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      if (absent.includes(code ?? '')) return undefined;
      // Go opens a directory, then fails to read it.
      throw internal(`${what}: ${code === 'EISDIR' ? 'read' : 'open'} ${file}: ${goErrnoWords(error)}`, { cause: error });
    }
    const problem = goJsonSyntaxError(text);
    if (problem) throw invalidArgument(`${what}: parsing ${file}: ${problem}`);
    return JSON.parse(text) as ContextMeta;
  }

  private async withTls(meta: ContextMeta, metaPath: string): Promise<StoredContext> {
    const tlsPath = this.tlsDir(meta.Name);
    const tls: EndpointTls = {};
    for (const file of TLS_FILES) {
      const data = await fs.readFile(path.join(tlsPath, 'docker', `${file}.pem`)).catch(() => undefined);
      if (data) tls[file] = data;
    }
    return { meta, tls, metaPath, tlsPath };
  }

  async exists(name: string): Promise<boolean> {
    return fs.stat(path.join(this.metaDir(name), 'meta.json')).then(() => true, () => false);
  }

  async list(): Promise<StoredContext[]> {
    const metaRoot = path.join(this.dir, 'contexts', 'meta');
    const ids = await fs.readdir(metaRoot).catch(() => [] as string[]);
    const contexts: StoredContext[] = [];
    for (const id of ids) {
      // docker's store walks for meta.json files: a directory of that name is none.
      const meta = await this.readMeta(path.join(metaRoot, id), 'failed to read metadata', ['ENOENT', 'EISDIR']);
      if (meta) contexts.push(await this.withTls(meta, path.join(metaRoot, id)));
    }
    return contexts.sort((a, b) => a.meta.Name.localeCompare(b.meta.Name));
  }

  /** That `name` can be given to a new context, as docker's checkContextNameForCreation says. */
  async checkNewName(name: string): Promise<void> {
    checkContextName(name);
    if (await this.exists(name)) throw alreadyExists(`context "${name}" already exists`);
  }

  async create(meta: ContextMeta, tls: EndpointTls): Promise<void> {
    await this.checkNewName(meta.Name);
    await this.add(meta, tls);
  }

  /** Create `name` from a docker context archive; on any failure nothing of it is left. */
  async import(name: string, source: AsyncIterable<Uint8Array>): Promise<void> {
    const { meta, tls } = await readContextArchive(name, source);
    await this.add(meta, tls);
  }

  /**
   * A new context, its name taken only once: the metadata directory is made exclusively, so of
   * two `create`s or `import`s of one name (the check that it is free passed for both) one fails
   * in docker's words, and the clean-up after a failed write removes only this one's files.
   * `meta.json` is written last: until then the context is not there for anyone to read.
   */
  private async add(meta: ContextMeta, tls: EndpointTls): Promise<void> {
    const dir = this.metaDir(meta.Name);
    await fs.mkdir(path.dirname(dir), { recursive: true });
    try {
      await fs.mkdir(dir, { mode: 0o755 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(`context "${meta.Name}" already exists`);
      throw error;
    }
    try {
      await this.write(meta, tls);
    } catch (error) {
      await this.discard(meta.Name);
      throw error;
    }
  }

  /** Replace a context's metadata and TLS files (what `update` computed from the old ones). */
  async write(meta: ContextMeta, tls: EndpointTls): Promise<void> {
    const tlsDir = path.join(this.tlsDir(meta.Name), 'docker');
    await fs.rm(this.tlsDir(meta.Name), { recursive: true, force: true });
    for (const file of TLS_FILES) {
      const data = tls[file];
      if (!data) continue;
      await fs.mkdir(tlsDir, { recursive: true, mode: 0o700 });
      await writeAtomic(path.join(tlsDir, `${file}.pem`), data, 0o600);
    }
    await fs.mkdir(this.metaDir(meta.Name), { recursive: true, mode: 0o755 });
    await writeAtomic(path.join(this.metaDir(meta.Name), 'meta.json'), JSON.stringify(meta));
  }

  /**
   * Remove a context; the current one only with `force` (the current context becomes `default`).
   * As docker's, `force` also skips the check that it exists: removing nothing then succeeds.
   */
  async remove(name: string, force: boolean): Promise<void> {
    if (name === DEFAULT_CONTEXT) throw invalidArgument(`context "${DEFAULT_CONTEXT}" cannot be removed`);
    if (!force && !(await this.exists(name))) throw notFound(`context "${name}" does not exist`);
    const current = (await this.current()) === name;
    if (current && !force) throw conflict(`context "${name}" is in use, set -f flag to force remove`);
    if (current) await this.setCurrent(DEFAULT_CONTEXT);
    await this.discard(name).catch((error: unknown) => Promise.reject(internal(`failed to remove context ${name}: ${(error as Error).message}`, { cause: error })));
  }

  /** TLS files first: the name stays taken until they are gone, so a new context of it never loses its own to this. */
  private async discard(name: string): Promise<void> {
    await fs.rm(this.tlsDir(name), { recursive: true, force: true });
    await fs.rm(this.metaDir(name), { recursive: true, force: true });
  }
}

async function writeAtomic(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, data, { mode });
  await fs.rename(temp, file);
}

// ---- docker's `context export` / `context import` archives ----

/** docker's store.Import reads at most this much of an archive (its maxAllowedFileSizeToImport). */
const IMPORT_LIMIT = 10 << 20;

/**
 * A context as docker's store.Export writes it, entry for entry: `meta.json`, a `tls`
 * directory, and the endpoint's TLS files under `tls/docker/`, all owned by root with no
 * time. Unlike docker's (whose writer is closed after its pipe), the archive is terminated.
 */
export async function* contextArchive(context: { meta: ContextMeta; tls: EndpointTls }): AsyncGenerator<Buffer> {
  const { Name, Metadata, Endpoints } = context.meta;
  yield* tarDataEntry({ name: 'meta.json', mode: 0o644 }, Buffer.from(goJsonEscaped(JSON.stringify({ Name, Metadata, Endpoints }), true)));
  yield encodeTarHeader({ name: 'tls', type: 'dir', mode: 0o700 });
  const files = TLS_FILES.filter((f) => context.tls[f] !== undefined);
  if (files.length > 0) yield encodeTarHeader({ name: 'tls/docker', type: 'dir', mode: 0o700 });
  for (const f of files) yield* tarDataEntry({ name: `tls/docker/${f}.pem`, mode: 0o600 }, context.tls[f] as Buffer);
  yield TAR_END;
}

/** One regular file of an archive being imported. */
interface ArchiveFile {
  name: string;
  data: () => Promise<Buffer>;
}

/**
 * The context a docker context archive (tar, or zip as docker also takes) holds, named `name`,
 * refused in docker's words when a path is not one docker writes, `meta.json` is missing or not
 * JSON, or the archive passes docker's 10 MiB limit. TLS files of other endpoints, or other
 * than `ca.pem`/`cert.pem`/`key.pem`, are dropped: ctr's contexts have nowhere to use them.
 */
async function readContextArchive(name: string, source: AsyncIterable<Uint8Array>): Promise<{ meta: ContextMeta; tls: EndpointTls }> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > IMPORT_LIMIT) throw invalidArgument('read exceeds the defined limit');
    parts.push(Buffer.from(chunk));
  }
  // Whole in memory (10 MiB at most): docker's own zip import buffers it the same way.
  const body = Buffer.concat(parts);
  let meta: ContextMeta | undefined;
  const tls: EndpointTls = {};
  const files = body.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1')) ? zipFiles(body) : tarFiles(body);
  for await (const file of files) {
    const problem = archivePathProblem(file.name);
    if (problem) throw invalidArgument(`${file.name}: ${problem}`);
    if (file.name === 'meta.json') {
      meta = importedMeta(name, (await file.data()).toString('utf8'));
      continue;
    }
    const [endpoint, fileName] = splitOnce(file.name.slice('tls/'.length), '/');
    if (fileName === undefined) throw invalidArgument('archive format is invalid');
    const key = TLS_FILES.find((f) => `${f}.pem` === fileName);
    const data = await file.data();
    if (endpoint === 'docker' && key) tls[key] = data;
  }
  if (!meta) throw invalidArgument('invalid context: no metadata found');
  return { meta, tls };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/** Why docker's import refuses an entry name (only `meta.json` and clean paths under `tls/`), if it does. */
function archivePathProblem(name: string): string | undefined {
  if (name !== 'meta.json' && !name.startsWith('tls/')) return 'unexpected context file';
  if (path.posix.normalize(name) !== name || name.endsWith('/')) return 'unexpected path format';
  if (name.includes('\\')) return "unexpected '\\' in path";
  return undefined;
}

/** The regular files of a tar, its errors in Go's archive/tar words as docker prints them. */
async function* tarFiles(body: Buffer): AsyncGenerator<ArchiveFile> {
  const goError = (error: unknown): unknown => {
    const reason = tarErrorReason(error);
    if (reason === 'truncated') return invalidArgument('unexpected EOF', { cause: error });
    if (reason === 'too-long') return invalidArgument('archive/tar: header field too long', { cause: error });
    return reason ? invalidArgument('archive/tar: invalid tar header', { cause: error }) : error;
  };
  const reader = new TarReader((async function* () {
    yield body;
  })());
  for (;;) {
    const entry = await reader.next().catch((error: unknown) => Promise.reject(goError(error)));
    if (!entry) return;
    if (entry.header.typeflag !== '0') continue;
    const data = async (): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of entry.data()) chunks.push(Buffer.from(chunk));
      } catch (error) {
        throw goError(error);
      }
      return Buffer.concat(chunks);
    };
    yield { name: entry.header.name, data };
  }
}

/** The regular files of a zip, by its central directory (Go's archive/zip, which docker uses, reads it so). */
function* zipFiles(body: Buffer): Generator<ArchiveFile> {
  const invalid = (): CtrError => invalidArgument('zip: not a valid zip file');
  // The end-of-central-directory record: 22 bytes, then a comment of up to 64 KiB.
  let end = -1;
  for (let at = body.length - 22; at >= Math.max(0, body.length - 22 - 0xffff); at--) {
    if (body.readUInt32LE(at) === 0x06054b50) {
      end = at;
      break;
    }
  }
  if (end === -1) throw invalid();
  const count = body.readUInt16LE(end + 10);
  let at = body.readUInt32LE(end + 16);
  // Entries may all name the same data: what they hold together is bounded, not only each, or a
  // small archive inflates its one stream tens of thousands of times.
  let budget = IMPORT_LIMIT;
  const spend = (data: Buffer): Buffer => {
    budget -= data.length;
    if (budget < 0) throw invalidArgument('read exceeds the defined limit');
    return data;
  };
  for (let i = 0; i < count; i++) {
    if (at + 46 > body.length || body.readUInt32LE(at) !== 0x02014b50) throw invalid();
    const madeBy = body.readUInt8(at + 5);
    const method = body.readUInt16LE(at + 10);
    const compressed = body.readUInt32LE(at + 20);
    const nameLength = body.readUInt16LE(at + 28);
    const external = body.readUInt32LE(at + 38);
    const local = body.readUInt32LE(at + 42);
    const next = at + 46 + nameLength + body.readUInt16LE(at + 30) + body.readUInt16LE(at + 32);
    // Go's reader, short of a record's name, extra field or comment.
    if (next > body.length) throw invalidArgument('unexpected EOF');
    const name = body.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    at = next;
    // Go's FileInfo().Mode(): Unix-made entries carry st_mode in the high bits; otherwise a trailing '/' is a directory.
    const unixType = madeBy === 3 ? (external >>> 16) & 0o170000 : 0;
    if (name.endsWith('/') || (unixType !== 0 && unixType !== 0o100000)) continue;
    const data = async (): Promise<Buffer> => {
      if (local + 30 > body.length || body.readUInt32LE(local) !== 0x04034b50) throw invalid();
      const start = local + 30 + body.readUInt16LE(local + 26) + body.readUInt16LE(local + 28);
      const raw = body.subarray(start, start + compressed);
      if (raw.length < compressed) throw invalidArgument('unexpected EOF');
      if (method === 0) return spend(Buffer.from(raw));
      if (method !== 8) throw invalidArgument('zip: unsupported compression algorithm');
      const zlib = require('node:zlib') as typeof import('node:zlib');
      let inflated: Buffer;
      try {
        inflated = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(budget, 1) });
      } catch (error) {
        throw (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? invalidArgument('read exceeds the defined limit') : invalidArgument('flate: corrupt input', { cause: error });
      }
      return spend(inflated);
    };
    yield { name, data };
  }
}

/** What Go's encoding/json calls a JSON value's kind in an unmarshal error. */
function goKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** An archive's `meta.json` as the context `name`, refused as docker's json.Unmarshal into store.Metadata refuses it. */
function importedMeta(name: string, text: string): ContextMeta {
  const syntax = goJsonSyntaxError(text);
  if (syntax) throw invalidArgument(syntax);
  const value = JSON.parse(text) as unknown;
  if (value !== null && !isJsonObject(value)) throw invalidArgument(`json: cannot unmarshal ${goKind(value)} into Go value of type store.Metadata`);
  const fields = value ?? {};
  const field = (key: string, type: string, ok: (v: unknown) => boolean, holder = fields, struct = 'Metadata'): void => {
    const v = holder[key];
    if (v !== undefined && v !== null && !ok(v)) throw invalidArgument(`json: cannot unmarshal ${goKind(v)} into Go struct field ${struct}.${key} of type ${type}`);
  };
  field('Name', 'string', (v) => typeof v === 'string');
  field('Endpoints', 'map[string]interface {}', isJsonObject);
  const endpoints = isJsonObject(fields.Endpoints) ? fields.Endpoints : {};
  const docker = isJsonObject(endpoints.docker) ? endpoints.docker : {};
  field('Host', 'string', (v) => typeof v === 'string', docker, 'EndpointMeta');
  field('SkipTLSVerify', 'bool', (v) => typeof v === 'boolean', docker, 'EndpointMeta');
  return {
    Name: name,
    Metadata: isJsonObject(fields.Metadata) ? (fields.Metadata as ContextMeta['Metadata']) : {},
    Endpoints: { ...endpoints, docker: { Host: typeof docker.Host === 'string' ? docker.Host : '', SkipTLSVerify: docker.SkipTLSVerify === true } },
  };
}
