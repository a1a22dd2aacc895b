import type { Engine } from '@ctr/engine';
import type { Io } from './command';

let engine: Engine | undefined;
let engineOptions: { root?: string; runRoot?: string; insecureRegistries?: string[] } = {};

export function configureEngine(options: typeof engineOptions): void {
  engineOptions = options;
}

/** The global `--root` / `--runroot` given to ctr, for commands that start their own engine. */
export function rootFlags(): string[] {
  return [...(engineOptions.root ? ['--root', engineOptions.root] : []), ...(engineOptions.runRoot ? ['--runroot', engineOptions.runRoot] : [])];
}

/**
 * The engine package, loaded on first use so that `ctr --help` stays quick. `require`, not
 * `import()`: the build is CommonJS, and a native dynamic import would go through the ESM loader.
 */
export function engineModule(): typeof import('@ctr/engine') {
  return require('@ctr/engine') as typeof import('@ctr/engine');
}

export async function getEngine(): Promise<Engine> {
  if (!engine) {
    const { Engine } = engineModule();
    engine = new Engine({
      ...(engineOptions.root ? { root: engineOptions.root } : {}),
      ...(engineOptions.runRoot ? { runRoot: engineOptions.runRoot } : {}),
      ...(engineOptions.insecureRegistries?.length ? { registry: { insecureRegistries: engineOptions.insecureRegistries } } : {}),
    });
  }
  return engine;
}

export function println(io: Io, text = ''): void {
  io.stdout.write(`${text}\n`);
}

export function eprintln(io: Io, text: string): void {
  io.stderr.write(`${text}\n`);
}
