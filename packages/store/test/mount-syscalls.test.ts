import { execFile, spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isCtrError } from '@ctr/errors';
import { launchDetached, mountAll, openStore, removeTreeBehind, spreadSubdirectories, unmount } from '@ctr/store';

let base: string;
let overlay: { lower: string; upper: string; work: string; merged: string };

const mounted = (dir: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === dir);
const overlayMount = (extra: string[] = []): { type: string; source: string; options: string[] } => ({
  type: 'overlay',
  source: 'overlay',
  options: [`lowerdir=${overlay.lower}`, `upperdir=${overlay.upper}`, `workdir=${overlay.work}`, ...extra],
});

/** The flags `lsattr -d` shows for a directory (`-------------Te-------`). */
function attributesOf(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('lsattr', ['-d', dir], (error, stdout) => (error ? reject(error) : resolve(stdout.split(' ')[0] ?? '')));
  });
}

/** A script that runs `body` (async, with the built @ctr/store as `s` and `fs`). */
function nodeScript(body: string): string {
  const store = path.join(__dirname, '..', 'dist', 'index.js');
  return `const s = require(${JSON.stringify(store)}); const fs = require('node:fs'); (async () => { ${body} })().catch((e) => { console.error(e.message); process.exit(1); });`;
}

/** Run `body` in a node process of its own. */
function runNode(body: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', nodeScript(body)], { env, timeout: 20_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
  });
}

/** Run `body` in a node process leading a session and process group of its own, as a terminal's does: the signal that ends it. */
function runNodeInSession(body: string): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', nodeScript(body)], { detached: true, stdio: 'ignore', timeout: 20_000 });
    child.once('error', reject);
    child.once('exit', (_code, signal) => resolve(signal));
  });
}

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ctr-mount-syscalls-'));
  overlay = { lower: path.join(base, 'lower'), upper: path.join(base, 'upper'), work: path.join(base, 'work'), merged: path.join(base, 'merged') };
  for (const dir of Object.values(overlay)) await fs.mkdir(dir);
  await fs.writeFile(path.join(overlay.lower, 'from-lower'), 'lower\n');
});

afterEach(async () => {
  await unmount(overlay.merged).catch(() => undefined);
  await fs.rm(base, { recursive: true, force: true });
});

test('an overlay mount and its unmount need no mount or umount program', async () => {
  // A PATH with perl and nothing else: mount(8) and umount(8) cannot be found.
  const bin = path.join(base, 'bin');
  await fs.mkdir(bin);
  await fs.symlink('/usr/bin/perl', path.join(bin, 'perl'));
  const output = await runNode(
    `await s.mountAll([${JSON.stringify(overlayMount())}], ${JSON.stringify(overlay.merged)});
     console.log(fs.readFileSync(${JSON.stringify(path.join(overlay.merged, 'from-lower'))}, 'utf8').trim());
     fs.writeFileSync(${JSON.stringify(path.join(overlay.merged, 'written'))}, 'upper\\n');
     await s.unmount(${JSON.stringify(overlay.merged)});`,
    { PATH: bin },
  );
  expect(output.trim()).toBe('lower');
  expect(mounted(overlay.merged)).toBe(false);
  expect(await fs.readFile(path.join(overlay.upper, 'written'), 'utf8')).toBe('upper\n');
});

test('mount flags among the options apply: ro makes the mount read-only', async () => {
  await mountAll([overlayMount(['ro'])], overlay.merged);
  await expect(fs.writeFile(path.join(overlay.merged, 'nope'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
});

test('a mount the kernel refuses is an Internal CtrError naming the target, and nothing is mounted', async () => {
  const error = await mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${path.join(base, 'missing')}`] }], overlay.merged).catch((e: unknown) => e);
  expect(isCtrError(error) && error.code).toBe('Internal');
  expect((error as Error).message).toContain(overlay.merged);
  expect(mounted(overlay.merged)).toBe(false);
});

test('unmounting a directory that is not a mount point is not an error', async () => {
  await expect(unmount(overlay.merged)).resolves.toBeUndefined();
  await expect(unmount(path.join(base, 'does-not-exist'))).resolves.toBeUndefined();
});

test('a program that mounted and unmounted exits by itself (the mount relay never keeps it alive)', async () => {
  const output = await runNode(
    `await s.mountAll([${JSON.stringify(overlayMount())}], ${JSON.stringify(overlay.merged)});
     await s.unmount(${JSON.stringify(overlay.merged)});
     console.log('done');`,
  );
  expect(output.trim()).toBe('done');
  expect(mounted(overlay.merged)).toBe(false);
});

/** Wait (a bounded while) for `check` to hold: the relay's removals finish in a process of their own. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let waited = 0; waited < 5000; waited += 20) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

const gone = (dir: string) => (): Promise<boolean> => fs.access(dir).then(() => false, () => true);

test('removeTreeBehind deletes a tree and resolves once it is gone', async () => {
  const tree = path.join(base, 'tree');
  await fs.mkdir(path.join(tree, 'a', 'b'), { recursive: true });
  await fs.writeFile(path.join(tree, 'a', 'b', 'file'), 'x');
  await fs.symlink('/etc/hostname', path.join(tree, 'link'));
  await removeTreeBehind(tree);
  expect(await gone(tree)()).toBe(true);
  expect(readFileSync('/etc/hostname', 'utf8').length).toBeGreaterThan(0);
});

test('a tree handed to removeTreeBehind is deleted even when the process that asked exits at once', async () => {
  const tree = path.join(base, 'tree');
  for (let i = 0; i < 200; i++) await fs.mkdir(path.join(tree, `d${i}`, 'x'), { recursive: true });
  await runNode(`s.removeTreeBehind(${JSON.stringify(tree)}); await new Promise((r) => setImmediate(r)); process.exit(0);`);
  expect(await eventually(gone(tree))).toBe(true);
});

test('a tree handed to removeTreeBehind is deleted even when a hangup ends the process group that asked (a terminal closing under ctr run -it --rm)', async () => {
  const tree = path.join(base, 'tree');
  for (let i = 0; i < 2000; i++) await fs.mkdir(path.join(tree, `d${i}`, 'x'), { recursive: true });
  const signal = await runNodeInSession(`s.removeTreeBehind(${JSON.stringify(tree)}); await new Promise((r) => setImmediate(r)); process.kill(-process.pid, 'SIGHUP');`);
  expect(signal).toBe('SIGHUP');
  expect(await eventually(gone(tree))).toBe(true);
});

test('removeTreeBehind never deletes into a filesystem mounted inside the tree, and says it left something', async () => {
  const tree = path.join(base, 'tree');
  const inner = path.join(tree, 'mnt');
  await fs.mkdir(inner, { recursive: true });
  await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], inner);
  try {
    await fs.writeFile(path.join(inner, 'keep'), 'kept');
    await expect(removeTreeBehind(tree)).rejects.toMatchObject({ code: 'Internal' });
    expect(readFileSync(path.join(inner, 'keep'), 'utf8')).toBe('kept');
  } finally {
    await unmount(inner);
  }
});

test('without perl, the first tree is deleted by rm from the caller, and later requests are declined at once', async () => {
  const bin = path.join(base, 'bin');
  await fs.mkdir(bin);
  await fs.symlink('/bin/rm', path.join(bin, 'rm'));
  const trees = [path.join(base, 'first'), path.join(base, 'second')];
  for (const tree of trees) await fs.mkdir(path.join(tree, 'a'), { recursive: true });
  const output = await runNode(
    `await s.removeTreeBehind(${JSON.stringify(trees[0])});
     console.log(fs.existsSync(${JSON.stringify(trees[0])}), s.removeTreeBehind(${JSON.stringify(trees[1])}) === undefined);`,
    { PATH: bin },
  );
  expect(output.trim()).toBe('false true');
});

test('a tree whose path holds a tab and a newline is deleted like any other', async () => {
  const tree = path.join(base, 'odd\tname\nhere');
  await fs.mkdir(path.join(tree, 'a'), { recursive: true });
  await removeTreeBehind(tree);
  expect(await gone(tree)()).toBe(true);
});

/** What a launched program writes on its fd 3, once the relay is up (it has answered a request). */
async function launchedOutput(argv: string[], env: Record<string, string>, cwd = base): Promise<string> {
  await unmount(path.join(base, 'nothing-mounted-here'));
  const sync = launchDetached(argv, env, cwd);
  if (!sync) throw new Error('no relay');
  let text = '';
  for await (const chunk of sync) text += String(chunk);
  return text;
}

test('a launched program runs in a session of its own, on /dev/null, with its environment, directory and fd 3', async () => {
  // Descriptors beyond 3 would be the relay's own pipes leaking into the program.
  const script = 'read -r _ _ _ _ _ session _ < /proc/$$/stat; extra=; for fd in $(seq 4 64); do [ -e /proc/$$/fd/$fd ] && extra="$extra $fd"; done; echo "$GREETING $PWD $(( session == $$ )) $(readlink /proc/$$/fd/1) [$extra]" >&3';
  const output = await launchedOutput(['/bin/sh', '-c', script], { GREETING: 'hello', PATH: '/usr/bin:/bin' });
  expect(output).toBe(`hello ${base} 1 /dev/null []\n`);
});

test('a launched program gets its arguments as given, an empty last one too', async () => {
  expect(await launchedOutput(['/bin/sh', '-c', 'echo "$# [$1]" >&3', 'sh', ''], { PATH: '/usr/bin:/bin' })).toBe('1 []\n');
});

test('a program that cannot be executed ends its fd 3 without a word', async () => {
  expect(await launchedOutput([path.join(base, 'no-such-program')], {})).toBe('');
});

/** The soft and hard limits on open files of process `pid`, as /proc shows them. */
function openFileLimits(pid: number): [string, string] {
  const [, soft = '', hard = ''] = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8')) ?? [];
  return [soft, hard];
}

/** Set the soft limit on open files of process `pid`; the hard one stays (nothing here may raise it). */
function limitOpenFiles(pid: number, soft: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('prlimit', ['--pid', String(pid), `--nofile=${soft}:${openFileLimits(pid)[1]}`], (error) => (error ? reject(error) : resolve()));
  });
}

test('a launch the relay cannot make (no descriptor left for its pipe) fails the stream with the reason, and the relay answers on', async () => {
  const relay = Number(await launchedOutput(['/bin/sh', '-c', 'echo $PPID >&3'], { PATH: '/usr/bin:/bin' }));
  const [soft] = openFileLimits(relay);
  await limitOpenFiles(relay, '3');
  try {
    await expect(launchedOutput(['/bin/sh', '-c', 'echo never >&3'], { PATH: '/usr/bin:/bin' })).rejects.toThrow(/^cannot start the program: pipe: Too many open files$/);
  } finally {
    await limitOpenFiles(relay, soft);
  }
  expect(await launchedOutput(['/bin/sh', '-c', 'echo answering >&3'], { PATH: '/usr/bin:/bin' })).toBe('answering\n');
});

test('a launch from a directory whose name holds a tab and a newline runs there, one request like any other', async () => {
  const dir = path.join(base, 'odd\tname\nhere');
  await fs.mkdir(dir);
  expect(await launchedOutput(['/bin/sh', '-c', 'pwd >&3'], { PATH: '/usr/bin:/bin' }, dir)).toBe(`${dir}\n`);
  expect(await launchedOutput(['/bin/sh', '-c', 'echo still answering >&3'], { PATH: '/usr/bin:/bin' })).toBe('still answering\n');
});

test("a directory marked to spread its subdirectories carries ext4's top-directory flag, as after chattr +T", async () => {
  const dir = path.join(base, 'spread');
  await fs.mkdir(dir);
  await spreadSubdirectories(dir);
  expect(await attributesOf(dir)).toContain('T');
});

test('marking a directory on a filesystem without that flag (tmpfs) leaves it as it is, without an error', async () => {
  const dir = await fs.mkdtemp('/dev/shm/ctr-spread-');
  try {
    await expect(spreadSubdirectories(dir)).resolves.toBeUndefined();
    await expect(fs.readdir(dir)).resolves.toEqual([]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test("a new store's snapshots directory spreads the snapshots' directories; its others are left alone", async () => {
  await openStore({ root: path.join(base, 'store') });
  expect(await attributesOf(path.join(base, 'store', 'snapshots'))).toContain('T');
  expect(await attributesOf(path.join(base, 'store', 'images'))).not.toContain('T');
});
