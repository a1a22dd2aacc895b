/**
 * The file watching under compose watch, on real directories: what is seen below a root as
 * files and directories come, go and move, and how changes are gathered into batches.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Batcher, TreeWatcher, watchError } from '../src/watch-files';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-compose-watch-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A started watcher of `roots`, and a wait for a path to be reported. */
async function watching(roots: string[], pruned: (dir: string) => boolean = () => false): Promise<{ seen: Set<string>; reported(file: string): Promise<void>; close(): void }> {
  const seen = new Set<string>();
  const waiting = new Map<string, () => void>();
  const watcher = new TreeWatcher(
    roots,
    (file) => {
      seen.add(file);
      waiting.get(file)?.();
    },
    pruned,
    (error) => {
      throw error;
    },
  );
  await watcher.start();
  return {
    seen,
    reported: (file) => (seen.has(file) ? Promise.resolve() : new Promise((resolve) => waiting.set(file, resolve))),
    close: () => watcher.close(),
  };
}

describe('TreeWatcher', () => {
  test('reports files written in a directory made after it started, and below it', async () => {
    const w = await watching([dir]);
    try {
      await mkdir(join(dir, 'a', 'b'), { recursive: true });
      await writeFile(join(dir, 'a', 'b', 'one'), '1');
      await w.reported(join(dir, 'a', 'b', 'one'));
      await writeFile(join(dir, 'a', 'b', 'two'), '2');
      await w.reported(join(dir, 'a', 'b', 'two'));
    } finally {
      w.close();
    }
  });

  test('follows a root that is a file through an editor\'s atomic saves', async () => {
    const file = join(dir, 'package.json');
    await writeFile(file, '{}');
    const w = await watching([file]);
    try {
      for (const version of ['1', '2']) {
        w.seen.clear();
        await writeFile(join(dir, '.package.json.tmp'), version);
        await rename(join(dir, '.package.json.tmp'), file);
        await w.reported(file);
      }
      expect(w.seen.has(join(dir, '.package.json.tmp'))).toBe(false);
    } finally {
      w.close();
    }
  });

  test('sees a root that does not exist yet once it is made', async () => {
    const root = join(dir, 'later', 'src');
    const w = await watching([root]);
    try {
      await mkdir(root, { recursive: true });
      await writeFile(join(root, 'main.c'), 'x');
      await w.reported(join(root, 'main.c'));
    } finally {
      w.close();
    }
  });

  test('follows a directory under its new name once renamed', async () => {
    await mkdir(join(dir, 'old'));
    const w = await watching([dir]);
    try {
      await rename(join(dir, 'old'), join(dir, 'new'));
      await w.reported(join(dir, 'new'));
      await writeFile(join(dir, 'new', 'file'), 'x');
      await w.reported(join(dir, 'new', 'file'));
    } finally {
      w.close();
    }
  });

  test('does not watch a pruned directory, nor report what is written in it', async () => {
    await mkdir(join(dir, 'node_modules'));
    const w = await watching([dir], (d) => d.endsWith('/node_modules'));
    try {
      await writeFile(join(dir, 'node_modules', 'dep.js'), 'x');
      await writeFile(join(dir, 'index.js'), 'x');
      await w.reported(join(dir, 'index.js'));
      expect(w.seen.has(join(dir, 'node_modules', 'dep.js'))).toBe(false);
    } finally {
      w.close();
    }
  });
});

describe('TreeWatcher, directories made again', () => {
  test('a directory removed and made again under the same name is watched again', async () => {
    await mkdir(join(dir, 'out'));
    const w = await watching([dir]);
    try {
      for (const round of ['1', '2', '3']) {
        await rm(join(dir, 'out'), { recursive: true });
        await mkdir(join(dir, 'out'));
        await writeFile(join(dir, 'out', `file${round}`), round);
        await w.reported(join(dir, 'out', `file${round}`));
      }
    } finally {
      w.close();
    }
  });
});

describe('Batcher', () => {
  test('a change added once it is closed is dropped', async () => {
    const batches: string[][] = [];
    const batcher = new Batcher(10, async (files) => {
      batches.push(files);
    });
    await batcher.close();
    batcher.add('late');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(batches).toEqual([]);
  });

  test('hands on a burst of changes as one batch once quiet, each path once', async () => {
    const batches: string[][] = [];
    let handled: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (handled = resolve));
    const batcher = new Batcher(50, async (files) => {
      batches.push(files);
      handled();
    });
    for (const file of ['a', 'b', 'a', 'c']) batcher.add(file);
    await done;
    await batcher.close();
    expect(batches).toEqual([['a', 'b', 'c']]);
  });
});

describe('watchError', () => {
  const failure = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed`), { code });

  test.each([
    ['ENOSPC', 'ResourceExhausted', "cannot watch /p: the system's limit of inotify watches is reached"],
    ['EMFILE', 'ResourceExhausted', "cannot watch /p: the system's limit of inotify instances or open files is reached"],
    ['EACCES', 'Denied', 'cannot watch /p: permission denied'],
  ])('tells %s as %s, with what to do', (code, expected, message) => {
    const error = watchError(failure(code), '/p');
    expect(error).toMatchObject({ code: expected, message });
    expect(error.hint).toBeTruthy();
  });
});
