import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';

/**
 * Starting a program from Node forks the whole Node process: with a large heap that blocks
 * the event loop for a few milliseconds per container start. A process that starts many
 * containers (ctrd, a program embedding the engine, a test run) keeps one small Perl process
 * (perl-base is part of every Debian system; the attach and mount relays use it too) that
 * forks and execs conmon on request, detached in its own session, with the write end of a
 * sync pipe as fd 3, and relays what conmon writes on it. A one-shot `ctr run` starts one
 * container and never pays for the launcher: it is only started for a process's second start.
 */

const LAUNCHER = `
use strict; use warnings; use POSIX (); use Fcntl qw(F_SETFD);
$| = 1;
$SIG{CHLD} = sub {};
my (%pipe, %child);
my $pending = '';
sub reply { print join("\\t", @_), "\\n"; }
sub launch {
  my ($id, $cwd, $env, $argv) = @_;
  my @env = split /\\0/, pack('H*', $env);
  my @argv = split /\\0/, pack('H*', $argv);
  my ($r, $w);
  if (!pipe($r, $w)) { reply('F', $id, "pipe: $!"); return; }
  my $pid = fork();
  if (!defined $pid) { reply('F', $id, "fork: $!"); close $r; close $w; return; }
  if ($pid == 0) {
    POSIX::setsid();
    chdir $cwd or POSIX::_exit(127);
    open STDIN, '<', '/dev/null'; open STDOUT, '>', '/dev/null'; open STDERR, '>', '/dev/null';
    if (fileno($w) == 3) { fcntl($w, F_SETFD, 0); } else { POSIX::dup2(fileno($w), 3) or POSIX::_exit(127); }
    %ENV = map { split /=/, $_, 2 } @env;
    exec { $argv[0] } @argv;
    POSIX::_exit(127);
  }
  close $w;
  $pipe{$id} = $r; $child{$pid} = $id;
  reply('S', $id, $pid);
}
while (1) {
  my $rin = '';
  vec($rin, 0, 1) = 1;
  vec($rin, fileno($_), 1) = 1 for values %pipe;
  my $n = select(my $rout = $rin, undef, undef, undef);
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) { delete $child{$pid}; }
  next if $n <= 0;
  if (vec($rout, 0, 1)) {
    my $got = sysread(STDIN, my $chunk, 65536);
    exit 0 unless $got;
    $pending .= $chunk;
    while ($pending =~ s/^([^\\n]*)\\n//) {
      my ($op, @a) = split /\\t/, $1, -1;
      if ($op eq 'L') { launch(@a); }
      elsif ($op eq 'C' && $pipe{$a[0]}) { close delete $pipe{$a[0]}; }
    }
  }
  for my $id (keys %pipe) {
    my $fh = $pipe{$id};
    next unless vec($rout, fileno($fh), 1);
    my $got = sysread($fh, my $data, 65536);
    if ($got) { reply('D', $id, unpack('H*', $data)); } else { close delete $pipe{$id}; reply('E', $id); }
  }
}`;

/** A launched program: what it writes on fd 3. */
export interface Launched {
  sync: Readable;
}

interface Launch {
  sync: PassThrough;
  failed: (message: string) => void;
}

class Launcher {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly launches = new Map<string, Launch>();
  private pending = '';
  private nextId = 0;
  gone = false;

  constructor() {
    this.child = spawn('perl', ['-e', LAUNCHER], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      this.pending += text;
      for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
        this.answer(this.pending.slice(0, nl).split('\t'));
        this.pending = this.pending.slice(nl + 1);
      }
    });
    const gone = (): void => {
      this.gone = true;
      for (const launch of this.launches.values()) launch.failed('the launcher exited');
      this.launches.clear();
    };
    this.child.on('error', () => {
      // No perl here: every start spawns conmon directly from now on.
      unavailable = true;
      gone();
    });
    this.child.on('exit', gone);
    this.child.stdin.on('error', gone);
    this.hold(false);
  }

  launch(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Launched {
    const id = String(this.nextId++);
    const sync = new PassThrough();
    const failed = (message: string): void => {
      sync.destroy(new Error(message));
    };
    this.launches.set(id, { sync, failed });
    // Closed by its reader (it wants one message): the launcher stops relaying it.
    sync.once('close', () => {
      if (this.launches.delete(id) && !this.gone) this.child.stdin.write(`C\t${id}\n`);
      if (this.launches.size === 0) this.hold(false);
    });
    const hex = (values: readonly string[]): string => Buffer.from(values.join('\0')).toString('hex');
    const envList = Object.entries(env).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${value}`]));
    this.hold(true);
    this.child.stdin.write(`L\t${id}\t${cwd}\t${hex(envList)}\t${hex(argv)}\n`);
    return { sync };
  }

  private answer([kind, id = '', data = '']: string[]): void {
    const launch = this.launches.get(id);
    if (!launch) return;
    if (kind === 'D') launch.sync.write(Buffer.from(data, 'hex'));
    else if (kind === 'E') launch.sync.end();
    else if (kind === 'F') launch.failed(`cannot start conmon: ${data}`);
  }

  /** Held (referenced) only while a request is pending: it never keeps a finished program alive. */
  private hold(held: boolean): void {
    for (const handle of [this.child, this.child.stdout, this.child.stdin] as Array<{ ref?: () => void; unref?: () => void }>) {
      (held ? handle.ref : handle.unref)?.call(handle);
    }
  }
}

let launcher: Launcher | undefined;
let starts = 0;
let unavailable = false;

/**
 * The resident launcher, from a process's third start on (its second starts it, so Perl's
 * own start overlaps that container's), or undefined: spawn directly.
 */
export function residentLauncher(): { launch: Launcher['launch'] } | undefined {
  starts++;
  if (launcher?.gone) launcher = undefined;
  if (starts < 2 || unavailable) return undefined;
  if (!launcher) {
    launcher = new Launcher();
    return undefined;
  }
  return launcher;
}
