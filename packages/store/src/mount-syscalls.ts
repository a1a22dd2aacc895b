import { spawn, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { CtrError } from '@ctr/errors';
import { run } from './exec';
import { processStartTime, type ProcessHolder } from './holder';

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
 * Node process living until it is done (`ctr run --rm` ends first). Once its caller has gone,
 * the relay stays until those deletions are done: what it deletes is named for it (trash.ts),
 * and another process tells a deletion under way from one cut short by whether it runs.
 *
 * And it launches programs that must outlive their caller (the engine's container
 * monitors): forking this small process takes a fraction of what forking Node takes, and a
 * container's start waits for that fork.
 */

/** System call numbers where this is known; elsewhere ctr runs mount(8) and umount(8). */
const SYSCALLS: Partial<Record<NodeJS.Architecture, { mount: number; umount2: number; setsid: number }>> = {
  x64: { mount: 165, umount2: 166, setsid: 112 },
  arm64: { mount: 40, umount2: 39, setsid: 157 },
};

/** Mount options that are flags to mount(2) rather than data for the filesystem. */
const FLAGS: Record<string, number> = { ro: 1, nosuid: 2, nodev: 4, noexec: 8, sync: 16, dirsync: 128, noatime: 1024, nodiratime: 2048, relatime: 1 << 21, strictatime: 1 << 24 };
const NEUTRAL = new Set(['rw', 'suid', 'dev', 'exec', 'async', 'defaults']);
const MNT_DETACH = 2;

// Requests: M (mount), U (umount2), T (mark a directory's subdirectories unrelated), R
// (remove a tree, its path in hex), L (launch), C (stop relaying a launched program's fd 3).
// M, U and T replies come in order, untagged; the others are tagged with their request's
// tag: R when removed, D (hex data) and E (end) from a launched program's fd 3, F when it
// could not be launched.
const RELAY = String.raw`
$| = 1;
$SIG{CHLD} = 'IGNORE';
my ($mount, $umount2, $setsid) = @ARGV;
my %pipe;
my $pending = '';
# Every deletion's child inherits the write end and holds it until it is done (rm and launched
# programs do not: Perl marks both ends close-on-exec), so the read end ends with the last one.
pipe(my $busy, my $deleting) or die "pipe: $!";
sub reply { print join("\t", @_), "\n"; }
sub child { my $pid = fork(); $SIG{CHLD} = 'DEFAULT' if defined $pid && $pid == 0; return $pid; }
sub launch {
  my ($tag, $cwd, $env, $argv) = @_;
  $cwd = pack('H*', $cwd);
  # -1: an argument may be empty, the last one too.
  my @env = length($env) ? split(/\0/, pack('H*', $env), -1) : ();
  my @argv = split /\0/, pack('H*', $argv), -1;
  my ($r, $w);
  pipe($r, $w) or return reply('F', $tag, "pipe: $!");
  my $pid = child();
  if (!defined $pid) { close $r; close $w; return reply('F', $tag, "fork: $!"); }
  if ($pid == 0) {
    syscall(0 + $setsid);
    chdir $cwd or exit 127;
    open STDIN, '<', '/dev/null'; open STDOUT, '>', '/dev/null'; open STDERR, '>', '/dev/null';
    # With every other pipe closed, 3 is $w or free. fcntl 2 is F_SETFD, 0 is F_DUPFD (Linux):
    # plain Perl: loading POSIX and Fcntl (or strict and warnings) would double this process's start.
    close $_ for $r, $busy, $deleting, values %pipe;
    if (fileno($w) == 3) { fcntl($w, 2, 0) } else { fcntl($w, 0, 3) == 3 or exit 127 }
    %ENV = map { split /=/, $_, 2 } @env;
    exec { $argv[0] } @argv;
    exit 127;
  }
  close $w;
  $pipe{$tag} = $r;
}
sub request {
  my ($op, @a) = @_;
  return launch(@a) if $op eq 'L';
  if ($op eq 'C') { close delete $pipe{$a[0]} if $pipe{$a[0]}; return; }
  if ($op eq 'R') {
    my $pid = child();
    return reply('R', $a[0], "fork: $!") unless defined $pid;
    return if $pid;
    $SIG{PIPE} = 'IGNORE';
    my $status = system { '/bin/rm' } 'rm', '-rf', '--one-file-system', '--', pack('H*', $a[1]);
    reply('R', $a[0], $status == 0 ? '' : "rm -rf exited with status " . ($? >> 8));
    exit 0;
  }
  my $r = -1;
  if ($op eq 'M') {
    if (!length($a[5]) || chdir($a[5])) { $r = syscall($mount, $a[0], $a[1], $a[2], 0 + $a[3], $a[4]); }
    chdir('/');
  } elsif ($op eq 'U') {
    $r = syscall($umount2, $a[0], 0 + $a[1]);
  } elsif ($op eq 'T') {
    # FS_TOPDIR_FL (0x20000) added by FS_IOC_GETFLAGS and FS_IOC_SETFLAGS, as chattr +T does.
    if (open(my $dir, '<', $a[0])) {
      my $flags = pack('L!', 0);
      $r = 0 if ioctl($dir, 0x80086601, $flags) && ioctl($dir, 0x40086602, pack('L!', unpack('L!', $flags) | 0x20000));
    }
  }
  print $r == 0 ? "0\n" : (0 + $!) . "\t$!\n";
}
while (1) {
  my $rin = '';
  vec($rin, 0, 1) = 1;
  vec($rin, fileno($_), 1) = 1 for values %pipe;
  select(my $rout = $rin, undef, undef, undef) > 0 or next;
  # Which pipes were ready, before a request closes one and a launch reuses its number.
  my @ready = grep { vec($rout, fileno($pipe{$_}), 1) } keys %pipe;
  if (vec($rout, 0, 1)) {
    my $got = sysread(STDIN, my $chunk, 65536);
    unless ($got) {
      # The caller has gone: stay, named, until the deletions it asked for are done.
      close $deleting;
      sysread($busy, my $none, 1);
      exit 0;
    }
    $pending .= $chunk;
    request(split /\t/, $1, -1) while $pending =~ s/^([^\n]*)\n//;
  }
  for my $tag (@ready) {
    my $fh = $pipe{$tag} or next;
    my $got = sysread($fh, my $data, 65536);
    if ($got) { reply('D', $tag, unpack('H*', $data)); } else { close delete $pipe{$tag}; reply('E', $tag); }
  }
}`;

type Reply = { errno: number; message: string };

/** Hex, NUL-separated: a path, an argument or a variable may hold any byte but NUL, a tab or newline included. */
const hex = (values: readonly string[]): string => Buffer.from(values.join('\0')).toString('hex');

class MountRelay {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly waiting: Array<(reply: Reply) => void> = [];
  private readonly removing = new Map<string, (problem: string) => void>();
  private readonly launched = new Map<string, PassThrough>();
  private nextTag = 0;
  private pending = '';
  private identity: ProcessHolder | undefined;
  /** Perl is there and running: until then nothing is launched through it. */
  running = false;

  constructor(numbers: { mount: number; umount2: number; setsid: number }) {
    // A session of its own: a terminal's hangup or Ctrl-C, sent to its caller's process
    // group, must not cut short a deletion that is to outlive the caller (`ctr run -it --rm`).
    this.child = spawn('perl', ['-e', RELAY, String(numbers.mount), String(numbers.umount2), String(numbers.setsid)], {
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
    });
    this.child.once('spawn', () => (this.running = true));
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      this.pending += text;
      for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
        this.answer(this.pending.slice(0, nl).split('\t'));
        this.pending = this.pending.slice(nl + 1);
      }
    });
    const gone = (): void => {
      this.running = false;
      if (relay === this) relay = undefined;
      for (const reply of this.waiting.splice(0)) reply({ errno: -1, message: 'the mount relay exited' });
      for (const done of this.removing.values()) done(RELAY_GONE);
      this.removing.clear();
      for (const sync of this.launched.values()) sync.destroy(new Error('the mount relay exited'));
    };
    this.child.on('error', (error: NodeJS.ErrnoException) => {
      // No perl: every later request would only try again, a failed spawn each time.
      if (error.code === 'ENOENT') perlMissing = true;
      gone();
    });
    this.child.on('exit', gone);
    this.child.stdin.on('error', gone);
    this.hold(false);
  }

  private answer([kind = '', tag = '', data = '']: string[]): void {
    if (kind === 'R') {
      const done = this.removing.get(tag);
      this.removing.delete(tag);
      done?.(data);
    } else if (kind === 'D') {
      this.launched.get(tag)?.write(Buffer.from(data, 'hex'));
    } else if (kind === 'E') {
      this.launched.get(tag)?.end();
    } else if (kind === 'F') {
      this.launched.get(tag)?.destroy(new Error(`cannot start the program: ${data}`));
    } else {
      this.waiting.shift()?.({ errno: Number(kind), message: tag });
    }
    this.holdWhileBusy();
  }

  request(fields: Array<string | number>): Promise<Reply> {
    if (!this.send(fields)) return Promise.resolve({ errno: 22, message: 'Invalid argument' });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** This relay, named for good (read once), or undefined when it is not there (not started, or gone). */
  holder(): ProcessHolder | undefined {
    const pid = this.child.pid;
    if (this.identity === undefined && pid !== undefined) {
      const startTime = processStartTime(pid);
      if (startTime !== undefined) this.identity = { pid, startTime };
    }
    return this.identity;
  }

  /** Resolves with '' once the tree is gone, or with what went wrong. */
  removeTree(dir: string): Promise<string> {
    const tag = String(this.nextTag++);
    this.send(['R', tag, hex([dir])]);
    return new Promise((resolve) => this.removing.set(tag, resolve));
  }

  launch(argv: readonly string[], env: Readonly<Record<string, string>>, cwd: string): Readable {
    const tag = String(this.nextTag++);
    const sync = new PassThrough();
    this.launched.set(tag, sync);
    // Its reader closes it once it has what it wants: the relay stops relaying then.
    sync.once('close', () => {
      this.launched.delete(tag);
      if (this.running) this.send(['C', tag]);
      this.holdWhileBusy();
    });
    this.send(['L', tag, hex([cwd]), hex(Object.entries(env).map(([key, value]) => `${key}=${value}`)), hex(argv)]);
    return sync;
  }

  /** Write one request line; false, and nothing sent, when a field would break the line. */
  private send(fields: Array<string | number>): boolean {
    if (fields.some((f) => /[\t\n]/.test(String(f)))) return false;
    this.hold(true);
    this.child.stdin.write(`${fields.join('\t')}\n`);
    return true;
  }

  private holdWhileBusy(): void {
    if (this.waiting.length === 0 && this.removing.size === 0 && this.launched.size === 0) this.hold(false);
  }

  /** Held (referenced) only while a request is pending: it never keeps a finished program alive. */
  private hold(held: boolean): void {
    for (const handle of [this.child, this.child.stdout, this.child.stdin] as Array<{ ref?: () => void; unref?: () => void }>) {
      (held ? handle.ref : handle.unref)?.call(handle);
    }
  }
}

let relay: MountRelay | undefined;
let perlMissing = false;

/** What a removal hears when the relay went away before answering: nothing is known to be deleted. */
const RELAY_GONE = 'the mount relay exited';

function currentRelay(): MountRelay | undefined {
  const numbers = SYSCALLS[process.arch];
  if (!numbers || perlMissing) return undefined;
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
 * or an architecture without known numbers): the caller deletes it itself. Rejects with an
 * Internal error when the tree could not be deleted, most often because a filesystem is
 * still mounted inside it: that filesystem is left alone, and so should the caller leave
 * it. A relay that goes away before it answers is replaced by `rm` run from here.
 */
export function removeTreeBehind(dir: string): Promise<void> | undefined {
  const current = currentRelay();
  if (!current) return undefined;
  const absolute = path.resolve(dir);
  return current.removeTree(absolute).then((problem) => {
    if (problem === RELAY_GONE) return run('rm', ['-rf', '--one-file-system', '--', absolute]);
    if (problem) throw new CtrError('Internal', `could not delete ${dir}: ${problem}`);
  });
}

/**
 * The process `removeTreeBehind` deletes trees in — which outlives this one until they are
 * gone — or undefined when trees are not deleted behind this process (no relay).
 */
export function treeDeleter(): ProcessHolder | undefined {
  return currentRelay()?.holder();
}

/**
 * Start a program detached from this process (a session of its own, stdio on /dev/null),
 * forked by the relay, with a pipe as its fd 3: returns what it writes there, ending when
 * it closes it (close the stream to stop listening). Undefined when there is no running
 * relay: the caller spawns the program itself.
 */
export function launchDetached(argv: readonly string[], env: Readonly<Record<string, string>>, cwd: string): Readable | undefined {
  const current = currentRelay();
  return current?.running ? current.launch(argv, env, cwd) : undefined;
}

/**
 * Mark `dir` as a directory whose subdirectories are unrelated to each other (ext2/3/4's
 * "top of a directory hierarchy" flag, `chattr +T`), so that the filesystem places each new
 * subdirectory in a block group of its own choosing rather than in its parent's. A
 * container store makes and deletes a few dozen files per container in such directories;
 * kept in one group, each new file's inode search passes every inode freed there in the
 * last minutes (ext4 without a journal checks each for a recent deletion): ≈ 0.15 ms a file
 * on this VM's disk, against ≈ 0.05 ms spread. Best effort: without the relay, on another
 * filesystem or when refused, the directory stays as it is.
 */
export async function spreadSubdirectories(dir: string): Promise<void> {
  await currentRelay()?.request(['T', path.resolve(dir)]);
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
