import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileInRoot, resolveInRoot } from '../src';

/**
 * `resolveInRoot` sees a directory as a chrooted process would: `..` stops at the root and
 * every symlink is re-rooted (SECURITY-CASES §0.1; T3/T4 for layers, B3 for build contexts,
 * C1/C4 for `docker cp`). Each test has a root with a host directory beside it that holds
 * what an escape would reach.
 */

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctr-root-path-'));
  root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), 'inside\n');
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc', 'passwd'), 'HOST\n');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const link = (target: string, name: string): void => symlinkSync(target, join(root, name));

/** Every path below `dir`, to show that resolving left nothing behind. */
const listing = (): string[] => readdirSync(dir, { recursive: true }).map(String).sort();

test('a plain path resolves to its host path below the root, with what is there', () => {
  const resolved = resolveInRoot(root, '/etc/passwd');
  expect(resolved).toMatchObject({ rel: 'etc/passwd', abs: join(root, 'etc/passwd') });
  expect(resolved.stat?.isFile()).toBe(true);
  expect(resolved.unresolved).toBeUndefined();
});

test('absolute and relative targets name the same path', () => {
  expect(resolveInRoot(root, 'etc/passwd').abs).toBe(resolveInRoot(root, '/etc/passwd').abs);
  expect(resolveInRoot(root, './etc/./passwd').abs).toBe(join(root, 'etc/passwd'));
});

test('the root itself is "" and its own directory', () => {
  for (const target of ['', '/', '.', '/..', '../..']) {
    const resolved = resolveInRoot(root, target);
    expect(resolved).toMatchObject({ rel: '', abs: root });
    expect(resolved.stat?.isDirectory()).toBe(true);
  }
});

test('.. at the root stays at the root (T1)', () => {
  expect(resolveInRoot(root, '/../../../etc/passwd').abs).toBe(join(root, 'etc/passwd'));
});

test('a path ending in .. names the parent', () => {
  const resolved = resolveInRoot(root, '/etc/passwd/..');
  // passwd is a file, so the kernel would say ENOTDIR: reported, and rel still names the parent
  expect(resolved.rel).toBe('etc');
  expect(resolved.unresolved).toEqual({ at: 'etc/passwd', reason: 'not-a-directory' });
  mkdirSync(join(root, 'etc', 'sub'));
  const parent = resolveInRoot(root, '/etc/sub/..');
  expect(parent.rel).toBe('etc');
  expect(parent.stat?.isDirectory()).toBe(true);
});

test('an absolute symlink pointing outside is re-rooted at the root (T3, B3)', () => {
  link('/etc', 'abs');
  link(join(dir, 'etc', 'passwd'), 'host-path');
  expect(resolveInRoot(root, '/abs/passwd').abs).toBe(join(root, 'etc/passwd'));
  // a link to the host's own path of a file: taken as a path inside the root, where nothing is
  const escaped = resolveInRoot(root, '/host-path');
  expect(escaped.abs.startsWith(`${root}/`)).toBe(true);
  expect(escaped.stat).toBeUndefined();
});

test('a relative symlink climbing above the root stops at the root (T4)', () => {
  link('../../../../..', 'up');
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  link('../../../../etc', join('a', 'b', 'up'));
  expect(resolveInRoot(root, '/up/etc/passwd').abs).toBe(join(root, 'etc/passwd'));
  expect(resolveInRoot(root, '/a/b/up/passwd').abs).toBe(join(root, 'etc/passwd'));
});

test('a relative symlink resolves from the directory that holds it', () => {
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(root, 'usr', 'bin', 'sh'), '');
  link('usr/bin', 'bin');
  link('../etc/passwd', join('usr', 'pw'));
  expect(resolveInRoot(root, '/bin/sh').rel).toBe('usr/bin/sh');
  expect(resolveInRoot(root, '/usr/pw').rel).toBe('etc/passwd');
});

test('.. after a symlink climbs from where the link leads, as in the kernel', () => {
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  link('/usr/bin', 'bin');
  expect(resolveInRoot(root, '/bin/..').rel).toBe('usr');
});

test('the last symlink is followed by default', () => {
  link('/etc/passwd', 'pw');
  const resolved = resolveInRoot(root, '/pw');
  expect(resolved.rel).toBe('etc/passwd');
  expect(resolved.stat?.isFile()).toBe(true);
});

test('with followLast false the last symlink is named, not followed; links above it still are', () => {
  link('/etc', 'abs');
  link('/etc/passwd', join('etc', 'pw'));
  const resolved = resolveInRoot(root, '/abs/pw', { followLast: false });
  expect(resolved.rel).toBe('etc/pw');
  expect(resolved.stat?.isSymbolicLink()).toBe(true);
});

test('a dangling last symlink resolves to where it points, with nothing there', () => {
  link('/etc/nowhere', 'dangling');
  const resolved = resolveInRoot(root, '/dangling');
  expect(resolved).toMatchObject({ rel: 'etc/nowhere', abs: join(root, 'etc/nowhere'), stat: undefined });
  expect(resolved.unresolved).toBeUndefined();
});

test('a missing last component has no stat and is not unresolved', () => {
  const resolved = resolveInRoot(root, '/etc/shadow');
  expect(resolved).toMatchObject({ rel: 'etc/shadow', abs: join(root, 'etc/shadow'), stat: undefined });
  expect(resolved.unresolved).toBeUndefined();
});

test('a missing directory on the way is reported; the rest is kept as written', () => {
  const resolved = resolveInRoot(root, '/new/dir/file');
  expect(resolved).toMatchObject({ rel: 'new/dir/file', stat: undefined, unresolved: { at: 'new', reason: 'missing' } });
});

test('a file used as a directory is reported as not a directory', () => {
  const resolved = resolveInRoot(root, '/etc/passwd/x');
  expect(resolved).toMatchObject({ rel: 'etc/passwd/x', stat: undefined, unresolved: { at: 'etc/passwd', reason: 'not-a-directory' } });
});

test('a path that climbs back out of a missing directory names nothing, but stays resolved inside', () => {
  link('/', 'slash');
  const resolved = resolveInRoot(root, '/missing/../slash/etc/passwd');
  // the kernel says ENOENT; callers that create the path (COPY) still get a safe place
  expect(resolved).toMatchObject({ rel: 'etc/passwd', stat: undefined, unresolved: { at: 'missing', reason: 'missing' } });
});

test('a symlink loop is an InvalidArgument and leaves nothing behind', () => {
  link('loop-b', 'loop-a');
  link('loop-a', 'loop-b');
  link('self', 'self');
  const before = listing();
  for (const target of ['/loop-a', '/loop-a/x', '/self']) {
    expect(() => resolveInRoot(root, target)).toThrow(
      expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('too many levels of symbolic links') }),
    );
  }
  expect(listing()).toEqual(before);
});

test('a last symlink loop is named, not followed, with followLast false', () => {
  link('self', 'self');
  expect(resolveInRoot(root, '/self', { followLast: false }).stat?.isSymbolicLink()).toBe(true);
});

test('a chain of 40 symlinks resolves, as in Linux; 41 is a loop', () => {
  for (let i = 0; i < 41; i++) link(i === 0 ? '/etc/passwd' : `/l${i - 1}`, `l${i}`);
  expect(resolveInRoot(root, '/l39').rel).toBe('etc/passwd');
  expect(() => resolveInRoot(root, '/l40')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
});

test('a NUL byte in the path is an InvalidArgument', () => {
  expect(() => resolveInRoot(root, '/etc/pass\0wd')).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('NUL') }));
});

test('resolving a missing path creates nothing', () => {
  const before = listing();
  resolveInRoot(root, '/a/b/c');
  resolveInRoot(root, '/etc/passwd/x/y');
  expect(listing()).toEqual(before);
});

describe('readFileInRoot', () => {
  test('reads a file through links re-rooted inside the root, never the host file', () => {
    link(join(dir, 'etc', 'passwd'), 'host-path');
    link('../../../etc/passwd', 'climb');
    expect(readFileInRoot(root, '/climb')).toBe('inside\n');
    expect(readFileInRoot(root, '/host-path')).toBeUndefined();
  });

  test('is undefined for a missing file, a directory or a fifo', () => {
    execFileSync('mkfifo', [join(root, 'fifo')]);
    expect(readFileInRoot(root, '/etc/shadow')).toBeUndefined();
    expect(readFileInRoot(root, '/etc')).toBeUndefined();
    expect(readFileInRoot(root, '/fifo')).toBeUndefined();
  });

  test('a file larger than the limit is an InvalidArgument', () => {
    expect(() => readFileInRoot(root, '/etc/passwd', 3)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});
