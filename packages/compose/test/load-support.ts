import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadProject, type LoadOptions } from '../src/load';
import type { ComposeProject } from '../src/model';

const dirs: string[] = [];

/** A fresh directory (under a parent named `app`, the project's default name) holding `files`. */
export async function fixture(files: Record<string, string>, name = 'app'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ctr-compose-load-'));
  dirs.push(root);
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

/** Loads `compose.yaml` (and whatever else) from a fixture, with an empty process environment unless given. */
export async function load(files: Record<string, string>, options: LoadOptions = {}): Promise<ComposeProject> {
  const dir = await fixture(files);
  return loadProject({ env: {}, cwd: dir, ...options });
}

export async function removeFixtures(): Promise<void> {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
