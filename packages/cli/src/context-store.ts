import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alreadyExists, conflict, invalidArgument, notFound } from '@ctr/errors';

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

  async get(name: string): Promise<StoredContext> {
    const metaPath = this.metaDir(name);
    const text = await fs.readFile(path.join(metaPath, 'meta.json'), 'utf8').catch(() => undefined);
    if (text === undefined) throw notFound(`context "${name}" does not exist`);
    const meta = JSON.parse(text) as ContextMeta;
    const tlsPath = this.tlsDir(name);
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
    const ids = await fs.readdir(path.join(this.dir, 'contexts', 'meta')).catch(() => [] as string[]);
    const contexts: StoredContext[] = [];
    for (const id of ids) {
      const text = await fs.readFile(path.join(this.dir, 'contexts', 'meta', id, 'meta.json'), 'utf8').catch(() => undefined);
      if (text) contexts.push(await this.get((JSON.parse(text) as ContextMeta).Name));
    }
    return contexts.sort((a, b) => a.meta.Name.localeCompare(b.meta.Name));
  }

  async create(meta: ContextMeta, tls: EndpointTls): Promise<void> {
    checkContextName(meta.Name);
    if (await this.exists(meta.Name)) throw alreadyExists(`context "${meta.Name}" already exists`);
    await this.write(meta, tls);
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

  /** Remove a context; the current one only with `force` (the current context becomes `default`). */
  async remove(name: string, force: boolean): Promise<void> {
    if (name === DEFAULT_CONTEXT) throw invalidArgument(`context "${DEFAULT_CONTEXT}" cannot be removed`);
    if (!(await this.exists(name))) throw notFound(`context "${name}" does not exist`);
    const current = (await this.current()) === name;
    if (current && !force) throw conflict(`context "${name}" is in use, set -f flag to force remove`);
    await fs.rm(this.metaDir(name), { recursive: true, force: true });
    await fs.rm(this.tlsDir(name), { recursive: true, force: true });
    if (current) await this.setCurrent(DEFAULT_CONTEXT);
  }
}

async function writeAtomic(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, data, { mode });
  await fs.rename(temp, file);
}
