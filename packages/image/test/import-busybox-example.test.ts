import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadArchive, MemoryContentStore } from '@ctr/image';
import { main } from '../../../examples/import-busybox';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..', '..');

describe('examples/import-busybox', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-example-busybox-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('imports, lists, unpacks and saves busybox:latest; the archive loads back with the same image ID', async () => {
    const lines: string[] = [];
    const result = await main([dir], (line) => lines.push(line));
    expect(lines).toContainEqual(expect.stringMatching(/^docker\.io\/library\/busybox:latest {2}[0-9a-f]{12} /));
    expect((await stat(join(result.rootfsDir, 'bin', 'busybox'))).isFile()).toBe(true);
    const loaded = await loadArchive(new MemoryContentStore(), createReadStream(result.archive));
    expect(loaded.images).toEqual([
      expect.objectContaining({ names: ['docker.io/library/busybox:latest'], imageId: result.imageId }),
    ]);
  });

  it('runs from the command line with examples/run.js and no build', async () => {
    const { stdout } = await run(process.execPath, [join(repo, 'examples', 'run.js'), 'import-busybox', dir], { cwd: repo });
    expect(stdout).toMatch(/saved .*busybox\.tar \(image ID sha256:[0-9a-f]{64}\)/);
  });
});
