import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { notFound } from '@ctr/errors';
import type { ImageConfig } from '@ctr/image';
import type { BuildBackend, CachedStep, ImageSpec, RunIO, RunResult, RunStep } from '@ctr/dockerfile';

const execFileAsync = promisify(execFile);

/** A state of the fake backend: a directory holding the whole filesystem, and the layer IDs that made it. */
export interface DirState {
  dir: string;
  layers: string[];
}

export interface FakeImage {
  files?: Record<string, string>;
  config?: Partial<ImageConfig>;
}

/** What a fake RUN does: change files under `root`, write output, return the exit code. */
export type RunHandler = (step: RunStep, root: string, io: RunIO) => Promise<number> | number;

/**
 * A directory-per-state backend for unit tests of the builder's logic: every state is a full
 * copy of the filesystem on disk, RUN is interpreted by a tiny fake shell (echo, redirection,
 * cat, mkdir, true/false/exit), images come from a table.
 */
export class DirBackend implements BuildBackend<DirState> {
  readonly runs: RunStep[] = [];
  readonly applies: number[] = [];
  readonly committed = new Map<string, { state: DirState; spec: ImageSpec }>();
  readonly cacheMap = new Map<string, CachedStep<DirState>>();
  private counter = 0;

  constructor(
    readonly root: string,
    private readonly images: Record<string, FakeImage> = {},
    private readonly handler: RunHandler = fakeShell,
  ) {}

  static async create(images: Record<string, FakeImage> = {}, handler?: RunHandler): Promise<DirBackend> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-dockerfile-test-'));
    return new DirBackend(root, images, handler);
  }

  async dispose(): Promise<void> {
    await fs.rm(this.root, { recursive: true, force: true });
  }

  private async newDir(from?: DirState): Promise<string> {
    const dir = path.join(this.root, `state-${++this.counter}`);
    // cp -a: a state is a full copy, owners and modes included
    if (from) await execFileAsync('cp', ['-a', from.dir, dir]);
    else await fs.mkdir(dir);
    return dir;
  }

  async resolveImage(ref: string): Promise<{ id: string; config: ImageConfig; state: DirState }> {
    const image = this.images[ref];
    if (!image) throw notFound(`pull access denied for ${ref}, repository does not exist`);
    const dir = await this.newDir();
    for (const [name, content] of Object.entries(image.files ?? {})) {
      await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await fs.writeFile(path.join(dir, name), content);
    }
    const config: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, ...image.config };
    const id = 'sha256:' + createHash('sha256').update(JSON.stringify({ ref, image })).digest('hex');
    return { id, config, state: { dir, layers: [id] } };
  }

  async scratch(): Promise<DirState> {
    return { dir: await this.newDir(), layers: [] };
  }

  async run(state: DirState, step: RunStep, io: RunIO): Promise<RunResult<DirState>> {
    this.runs.push(step);
    const dir = await this.newDir(state);
    const exitCode = await this.handler(step, dir, io);
    if (exitCode !== 0) {
      await fs.rm(dir, { recursive: true, force: true });
      return { exitCode };
    }
    return { exitCode: 0, state: { dir, layers: [...state.layers, `run-${this.counter}`] } };
  }

  async apply(state: DirState, layer: Readable): Promise<DirState> {
    const dir = await this.newDir(state);
    const hash = createHash('sha256');
    const extract = tar.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        const target = path.join(dir, header.name);
        void (async () => {
          await fs.mkdir(path.dirname(target), { recursive: true });
          if (header.type === 'directory') {
            await fs.mkdir(target, { recursive: true });
            await fs.chmod(target, header.mode!);
          } else if (header.type === 'symlink') {
            await fs.rm(target, { force: true });
            await fs.symlink(header.linkname!, target);
          } else if (header.type === 'link') {
            await fs.link(path.join(dir, header.linkname!), target);
          } else {
            const chunks: Buffer[] = [];
            for await (const c of stream) chunks.push(c as Buffer);
            await fs.rm(target, { force: true });
            await fs.writeFile(target, Buffer.concat(chunks), { mode: header.mode! });
            await fs.chmod(target, header.mode!);
          }
          await fs.lchown(target, header.uid ?? 0, header.gid ?? 0);
          stream.resume();
        })().then(() => next(), reject);
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
    });
    layer.on('data', (c: Buffer) => hash.update(c));
    layer.on('error', (e) => extract.destroy(e));
    layer.pipe(extract);
    await done;
    const id = hash.digest('hex');
    this.applies.push(this.applies.length);
    return { dir, layers: [...state.layers, id] };
  }

  async view<T>(state: DirState, use: (root: string) => Promise<T>): Promise<T> {
    return use(state.dir);
  }

  readonly cache = {
    get: async (key: string): Promise<CachedStep<DirState> | undefined> => this.cacheMap.get(key),
    put: async (key: string, step: CachedStep<DirState>): Promise<void> => void this.cacheMap.set(key, step),
  };

  async commit(state: DirState, spec: ImageSpec): Promise<{ id: string }> {
    const id = 'sha256:' + createHash('sha256').update(JSON.stringify({ layers: state.layers, spec })).digest('hex');
    this.committed.set(id, { state, spec });
    return { id };
  }

  image(id: string): { state: DirState; spec: ImageSpec } {
    const found = this.committed.get(id);
    if (!found) throw new Error(`no image ${id}`);
    return found;
  }
}

/** The fake shell: `cmd && cmd`, with echo [> file | >> file], cat, mkdir -p, true, false, exit N, env. */
export async function fakeShell(step: RunStep, root: string, io: RunIO): Promise<number> {
  const viaShell = step.args.length === 3 && step.args[1] === '-c';
  const script = viaShell ? step.args[2]! : step.args.join(' ');
  const abs = (p: string): string => path.join(root, p.startsWith('/') ? p : path.posix.join(step.workdir, p));
  for (const command of script.split('&&').map((c) => c.trim())) {
    const [word, ...rest] = command.split(/\s+/);
    const text = rest.join(' ');
    if (word === 'false') return 1;
    if (word === 'exit') return Number(rest[0] ?? 0);
    if (word === 'true' || word === '') continue;
    if (word === 'env') io.stdout.write(step.env.join('\n') + '\n');
    else if (word === 'mkdir') await fs.mkdir(abs(rest[rest.length - 1]!), { recursive: true });
    else if (word === 'cat') io.stdout.write(await fs.readFile(abs(rest[0]!)));
    else if (word === 'echo') {
      const m = /^(.*?)\s*(>>?)\s*(\S+)$/.exec(text);
      if (!m) io.stdout.write(text + '\n');
      else {
        await fs.mkdir(path.dirname(abs(m[3]!)), { recursive: true });
        if (m[2] === '>>') await fs.appendFile(abs(m[3]!), m[1] + '\n');
        else await fs.writeFile(abs(m[3]!), m[1] + '\n');
      }
    } else {
      io.stderr.write(`${word}: not found\n`);
      return 127;
    }
  }
  return 0;
}

/** Write a context directory from a table of files (`name: content`, or `{ symlink }`). */
export async function makeContext(files: Record<string, string | { symlink: string }>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-dockerfile-ctx-'));
  for (const [name, content] of Object.entries(files)) {
    const full = path.join(dir, name);
    await fs.mkdir(path.dirname(full), { recursive: true });
    if (typeof content === 'string') await fs.writeFile(full, content);
    else await fs.symlink(content.symlink, full);
  }
  return dir;
}

export const busybox: FakeImage = {
  files: { 'bin/sh': '#!fake', 'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n', 'etc/group': 'root:x:0:\nstaff:x:50:\napp:x:1001:\n' },
  config: {
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ' }, { created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true }],
  },
};
