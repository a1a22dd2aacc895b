import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = join(__dirname, '..');

/** A copy of the launcher, ctr.js and the bundle, laid out as an install has them: its caches and snapshot are one test's alone. */
export interface InstallCopy {
  /** The directory holding `cli/bin` and `cli/dist`. */
  dir: string;
  bin: string;
  dist: string;
  remove(): Promise<void>;
}

export async function installCopy(prefix: string): Promise<InstallCopy> {
  const dir = await mkdtemp(join(tmpdir(), `ctr-${prefix}-`));
  const bin = join(dir, 'cli', 'bin');
  const dist = join(dir, 'cli', 'dist');
  await mkdir(bin, { recursive: true });
  await mkdir(dist);
  for (const file of ['ctr', 'ctr.js']) await copyFile(join(cli, 'bin', file), join(bin, file));
  await copyFile(join(cli, 'dist', 'ctr.bundle.js'), join(dist, 'ctr.bundle.js'));
  return { dir, bin, dist, remove: () => rm(dir, { recursive: true, force: true }) };
}
