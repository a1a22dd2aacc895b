import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CtrError } from '@ctr/errors';

/**
 * mount(2) and umount2(2) without starting a program each time. Node cannot make these
 * system calls, and spawning `mount` from a large Node process costs several milliseconds —
 * a good part of starting and removing a container. One small Perl process (perl-base is
 * part of every Debian system; @ctr/runtime's attach relay uses it too) stays beside the
 * Node process and makes the calls on request, one line each way.
 *
 * It also deletes directory trees behind its caller: a forked child runs `rm -rf
 * --one-file-system` (never into a mount left inside) and says when it is done on the same
 * pipe, tagged, so a removal neither holds up the mounts queued behind it nor depends on the
 * Node process living until it is done (`ctr run --rm` ends first).
 */

/** System call numbers where this is known; elsewhere ctr runs mount(8) and umount(8). */
const SYSCALLS: Partial<Record<NodeJS.Architecture, { mount: number; umount2: number }>> = {
  x64: { mount: 165, umount2: 166 },
  arm64: { mount: 40, umount2: 39 },
};

/** Mount options that are flags to mount(2) rather than data for the filesystem. */
const FLAGS: Record<string, number> = { ro: 1, nosuid: 2, nodev: 4, noexec: 8, sync: 16, dirsync: 128, noatime: 1024, nodiratime: 2048, relatime: 1 << 21, strictatime: 1 << 24 };
const NEUTRAL = new Set(['rw', 'suid', 'dev', 'exec', 'async', 'defaults']);
const MNT_DETACH = 2;

const RELAY = `
$| = 1;
$SIG{CHLD} = 'IGNORE';
my ($mount, $umount2) = @ARGV;
while (my $line = <STDIN>) {
  chomp $line;
  my ($op, @a) = split /\\t/, $line, -1;
  if ($op eq 'R') {
    my $pid = fork();
    if (defined $pid && $pid == 0) {
      $SIG{PIPE} = 'IGNORE';
      $SIG{CHLD} = 'DEFAULT';
      my $status = system { '/bin/rm' } 'rm', '-rf', '--one-file-system', '--', $a[1];
      print "R\\t$a[0]\\t" . ($status == 0 ? '' : "rm -rf exited with status $?") . "\\n";
      exit 0;
    }
    print "R\\t$a[0]\\tfork: $!\\n" unless defined $pid;
    next;
  }
  my $r = -1;
  if ($op eq 'M') {
    if (!length($a[5]) || chdir($a[5])) { $r = syscall($mount, $a[0], $a[1], $a[2], 0 + $a[3], $a[4]); }
    chdir('/');
  } elsif ($op eq 'U') {
    $r = syscall($umount2, $a[0], 0 + $a[1]);
  }
  print $r == 0 ? "0\\n" : (0 + $!) . "\\t$!\\n";
}`;

type Reply = { errno: number; message: string };

class MountRelay {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly waiting: Array<(reply: Reply) => void> = [];
  private readonly removing = new Map<string, (problem: string) => void>();
  private nextRemoval = 0;
  private pending = '';

  constructor(numbers: { mount: number; umount2: number }) {
    this.child = spawn('perl', ['-e', RELAY, String(numbers.mount), String(numbers.umount2)], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      this.pending += text;
      for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
        const fields = this.pending.slice(0, nl).split('\t');
        this.pending = this.pending.slice(nl + 1);
        if (fields[0] === 'R') {
          const done = this.removing.get(fields[1] ?? '');
          this.removing.delete(fields[1] ?? '');
          done?.(fields[2] ?? '');
        } else {
          const [errno = '', message = ''] = fields;
          this.waiting.shift()?.({ errno: Number(errno), message });
        }
        if (this.waiting.length === 0 && this.removing.size === 0) this.hold(false);
      }
    });
    const gone = (): void => {
      if (relay === this) relay = undefined;
      for (const reply of this.waiting.splice(0)) reply({ errno: -1, message: 'the mount relay exited' });
      for (const done of this.removing.values()) done('the mount relay exited');
      this.removing.clear();
    };
    this.child.on('error', gone);
    this.child.on('exit', gone);
    this.child.stdin.on('error', gone);
    this.hold(false);
  }

  request(fields: Array<string | number>): Promise<Reply> {
    if (fields.some((f) => /[\t\n]/.test(String(f)))) return Promise.resolve({ errno: 22, message: 'Invalid argument' });
    return new Promise((resolve) => {
      this.hold(true);
      this.waiting.push(resolve);
      this.child.stdin.write(`${fields.join('\t')}\n`);
    });
  }

  /** Resolves with '' once the tree is gone, or with what went wrong. */
  removeTree(dir: string): Promise<string> {
    if (/[\t\n]/.test(dir)) return Promise.resolve('a path with a tab or newline');
    const tag = String(this.nextRemoval++);
    return new Promise((resolve) => {
      this.hold(true);
      this.removing.set(tag, resolve);
      this.child.stdin.write(`R\t${tag}\t${dir}\n`);
    });
  }

  /** Held (referenced) only while a request is pending: it never keeps a finished program alive. */
  private hold(held: boolean): void {
    for (const handle of [this.child, this.child.stdout, this.child.stdin] as Array<{ ref?: () => void; unref?: () => void }>) {
      (held ? handle.ref : handle.unref)?.call(handle);
    }
  }
}

let relay: MountRelay | undefined;

function currentRelay(): MountRelay | undefined {
  const numbers = SYSCALLS[process.arch];
  if (!numbers) return undefined;
  relay ??= new MountRelay(numbers);
  return relay;
}

/**
 * Start the relay ahead of the first mount, so Perl's own start overlaps other work (a
 * container's image being resolved) instead of delaying the mount.
 */
export function startMountRelay(): void {
  currentRelay();
}

/**
 * Delete a directory tree in a process of its own, which finishes the job even if this
 * process ends first. Resolves once it is gone; undefined when there is no relay (no perl,
 * or an architecture without known numbers): the caller deletes it itself.
 */
export function removeTreeBehind(dir: string): Promise<void> | undefined {
  const current = currentRelay();
  if (!current) return undefined;
  return current.removeTree(path.resolve(dir)).then((problem) => {
    if (problem) throw new CtrError('Internal', `could not delete ${dir}: ${problem}`);
  });
}

/** A mount(2) of `options` split into flags and filesystem data, or undefined to use mount(8). */
function flagsAndData(options: readonly string[]): { flags: number; data: string } | undefined {
  let flags = 0;
  const data: string[] = [];
  for (const option of options) {
    if (option in FLAGS) flags |= FLAGS[option] as number;
    else if (NEUTRAL.has(option)) continue;
    else if (option.includes('=') || option === 'userxattr' || option === 'volatile') data.push(option);
    else return undefined;
  }
  return { flags, data: data.join(',') };
}

/**
 * Mount a filesystem (not a bind mount) through the relay. Resolves false when this must be
 * left to mount(8): an unknown option, an architecture without known numbers, no perl.
 */
export async function mountBySyscall(type: string, source: string, target: string, options: readonly string[], cwd = ''): Promise<boolean> {
  const parsed = flagsAndData(options);
  const current = parsed && currentRelay();
  if (!parsed || !current) return false;
  const reply = await current.request(['M', source, target, type, parsed.flags, parsed.data, cwd]);
  if (reply.errno === 0) return true;
  if (reply.errno === -1) return false;
  throw new CtrError('Internal', `mount -t ${type} ${source} ${target} failed: ${reply.message}`, { details: { errno: reply.errno } });
}

/** umount2(2) through the relay: true when done or not mounted, false to use umount(8). */
export async function unmountBySyscall(target: string, lazy: boolean): Promise<boolean> {
  const current = currentRelay();
  if (!current) return false;
  const reply = await current.request(['U', target, lazy ? MNT_DETACH : 0]);
  // EINVAL: not a mount point; ENOENT: no such path. Either way nothing is mounted there.
  if (reply.errno === 0 || reply.errno === 22 || reply.errno === 2) return true;
  if (reply.errno === -1) return false;
  throw new CtrError('Internal', `umount ${target} failed: ${reply.message}`, { details: { errno: reply.errno } });
}
