import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { Engine } from '@ctr/engine';
import { NetworkManager } from '@ctr/network';

/** An engine on a throwaway root with `busybox:latest` imported from the host's static busybox. */
export interface TestEngine {
  engine: Engine;
  root: string;
  runRoot: string;
  cleanup(): Promise<void>;
}

export async function testEngine(): Promise<TestEngine> {
  const root = await mkdtemp(join(tmpdir(), 'ctr-engine-'));
  const runRoot = await mkdtemp(join(tmpdir(), 'ctr-engine-run-'));
  const engine = new Engine({ root, runRoot });
  await engine.importBusybox();
  return {
    engine,
    root,
    runRoot,
    async cleanup() {
      for (const c of await engine.ps({ all: true })) await engine.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
      // Bridges, rules and the DNS server of this root live outside it: remove them before the root goes.
      await new NetworkManager({ root, runRoot }).gc();
      // Retried: an exit's work done in the background (a probe, a monitor's last write) may still be making directories in them.
      await rm(root, { recursive: true, force: true, maxRetries: 5 });
      await rm(runRoot, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

/**
 * An engine on `root` as the ctr command runs it, daemonless: conmon's exit command for its
 * containers is the built engine's `handleExit`, what `ctr container cleanup` runs.
 */
export function daemonlessEngine(root: string, runRoot: string): Engine {
  const handleExit = `new (require(${JSON.stringify(join(__dirname, '..'))}).Engine)({ root: process.argv[1], runRoot: process.argv[2] }).handleExit(process.argv[3])`;
  return new Engine({ root, runRoot, exitCommand: [process.execPath, '-e', handleExit, root, runRoot] });
}

/** A describe's engine (made once) and an empty host directory for each of its tests, both removed after. */
export interface EngineAndHostDir {
  readonly t: TestEngine;
  readonly host: string;
}

/**
 * Registers the hooks of `EngineAndHostDir` in the calling describe: the host directory named
 * from `prefix`; with `clean`, each test's containers and volumes go after it too.
 */
export function engineAndHostDir(prefix: string, options: { clean?: boolean } = {}): EngineAndHostDir {
  const made = {} as { t: TestEngine; host: string };
  beforeAll(async () => {
    made.t = await testEngine();
  });
  afterAll(async () => {
    await made.t?.cleanup();
  });
  beforeEach(async () => {
    made.host = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    if (options.clean) {
      for (const c of await made.t.engine.ps({ all: true })) await made.t.engine.remove(c.Id, { force: true, volumes: true });
      for (const v of await made.t.engine.volumes()) await made.t.engine.removeVolume(v.Name);
    }
    await rm(made.host, { recursive: true, force: true });
  });
  return made;
}

/** A writable that collects what is written to it. */
export function collector(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => chunks.push(c));
  return Object.assign(stream, { text: () => Buffer.concat(chunks).toString('utf8') });
}

/** What `cat FILE` prints in container `id` (an exec). */
export async function catIn(t: TestEngine, id: string, file: string): Promise<string> {
  const out = collector();
  await t.engine.exec(id, { cmd: ['cat', file], stdout: out });
  return out.text();
}

/** Poll until `check` holds (work done in the background); gives the last value after ~15 s. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 150 && !check(value); i++) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

export { mountsUnder } from '../../../test/support/mounts';

/**
 * A build in a child Node process (`builder`, a script run with `args`), resolved once its RUN
 * step prints `running`; `done` settles with its last line. The child joins `children`, for the
 * caller to kill: what a build killed mid-step leaves is what these tests are about.
 */
export async function childBuild(builder: string, args: readonly string[], children: ChildProcess[]): Promise<{ child: ChildProcess; done: Promise<string> }> {
  const child = spawn(process.execPath, ['-e', builder, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  const running = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()).includes('running\n') && resolve());
    child.once('exit', () => reject(new Error(`the build ended before its RUN step: ${out}`)));
  });
  const done = new Promise<string>((resolve) => child.once('close', () => resolve(out.trim().split('\n').pop() ?? '')));
  await running;
  return { child, done };
}
