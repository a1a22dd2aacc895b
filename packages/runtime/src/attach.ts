import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { CtrError, internal, unavailable } from '@ctr/errors';
import type { AttachStreams } from './types';

/**
 * conmon serves a container's stdio on an `attach` socket of type SOCK_SEQPACKET, which
 * Node cannot open. A tiny Perl relay (perl-base is part of every Debian system) connects
 * to it and turns it into plain pipes: each packet from conmon starts with a byte naming
 * the stream (2 stdout, 3 stderr), which the relay strips and routes to its own stdout or
 * stderr; its stdin goes to the container, and its end does what `InputEnd` says. The relay
 * reports "ok" or an error on fd 3 once connected, so nothing the container says is missed.
 *
 * It is plain Perl, with Linux's numbers for AF_UNIX (1), SOCK_SEQPACKET (5), ENOENT (2)
 * and ECONNREFUSED (111): loading Socket, IO::Handle and Errno (and strict and warnings)
 * tripled its start, and it starts while runc is starting the container, on the same CPUs.
 *
 * A container start spawns the relay beside conmon, not after it. conmon makes the socket
 * before it runs `runc create`, and the relay connects as soon as the socket is there
 * (looking again every millisecond until then), so it is connected by the time
 * `runc create` is done. The start waits for its "ok" before it lets the process run. The
 * parent closing fd 3 ends the wait: the start failed, or the parent went away.
 */
const RELAY = String.raw`
my ($path, $mode, $wait, $end) = @ARGV;
open(my $ctl, '+<&=', 3) or exit 3;
select((select($ctl), $| = 1)[0]);
my $s;
while (1) {
  socket($s, 1, 5, 0) or do { print $ctl "socket: $!\n"; exit 2 };
  last if connect($s, pack('S Z*', 1, $path));
  my ($why, $errno) = ("$!", 0 + $!);
  close($s);
  ($wait eq 'wait' && ($errno == 2 || $errno == 111)) or do { print $ctl "connect: $why\n"; exit 2 };
  my $rin = '';
  vec($rin, 3, 1) = 1;
  if (select(my $r = $rin, undef, undef, 0.001) > 0) { exit 0 unless sysread($ctl, my $byte, 1) }
}
print $ctl "ok\n";
close($ctl);
$SIG{PIPE} = 'IGNORE';
my $in = $mode eq 'stdin';
my ($r, $buf);
while (1) {
  my $rin = '';
  vec($rin, fileno($s), 1) = 1;
  vec($rin, fileno(STDIN), 1) = 1 if $in;
  select($r = $rin, undef, undef, undef) > 0 or next;
  if (vec($r, fileno($s), 1)) {
    my $n = sysread($s, $buf, 65537);
    last unless $n;
    my $fh = ord($buf) == 3 ? \*STDERR : \*STDOUT;
    my $off = 1;
    # A write that fails has no reader left (its caller is gone): nothing more to relay.
    while ($off < $n) { my $w = syswrite($fh, $buf, $n - $off, $off); exit 0 unless defined $w; $off += $w }
  }
  if ($in && vec($r, fileno(STDIN), 1)) {
    my $n = sysread(STDIN, $buf, 8192);
    if (!$n) { exit 0 if $end eq 'detach'; shutdown($s, 1); $in = 0 } else { send($s, $buf, 0) }
  }
}
`;

/**
 * What the end of an attached client's input does, as dockerd's attach decides it
 * (CopyStreams): `close` shuts the socket's write side, so conmon closes the process's stdin
 * (the client's output goes on until the process's ends); `detach` ends the client's
 * attachment there, as dockerd closes the client's stdout and stderr: the process and its
 * stdin go on, for the next client.
 */
export type InputEnd = 'close' | 'detach';

export interface AttachSession {
  /** Resolves when the container's output has all been delivered (the socket closed). */
  done: Promise<void>;
  /** Disconnect without stopping the container. */
  detach(): void;
}

/** A relay started ahead of the socket it will connect to. */
export interface PendingAttach {
  /**
   * Resolves once connected (the relay connects as soon as it can), so the process can
   * start and miss no output. A relay still waiting for the socket after `withinMs` is let
   * go, and the connect fails.
   */
  connect(withinMs?: number): Promise<AttachSession>;
  /** The socket never came: let the relay go. */
  cancel(): void;
}

/**
 * Start the relay for the `attach` socket in `dir`. With `whenMade`, for a monitor that is
 * starting, it waits for the socket to appear; otherwise a missing socket fails the connect.
 * `inputEnd` matters only with `streams.stdin`.
 */
export function prepareAttach(dir: string, streams: AttachStreams, whenMade = false, inputEnd: InputEnd = 'close'): PendingAttach {
  const withStdin = streams.stdin !== undefined;
  // A session of its own: a Ctrl-C or hangup of the caller's terminal is the caller's to
  // pass on (docker's sig-proxy); killing the relay with it would lose what the program says last.
  const relay = spawn('perl', ['-e', RELAY, 'attach', withStdin ? 'stdin' : 'none', whenMade ? 'wait' : 'now', inputEnd], {
    detached: true,
    cwd: dir,
    stdio: [withStdin ? 'pipe' : 'ignore', streams.stdout ? 'pipe' : 'ignore', streams.stderr ? 'pipe' : 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const exited = new Promise<void>((resolve, reject) => {
    relay.once('error', (error) => reject(unavailable(`cannot attach: perl is needed to reach conmon's attach socket: ${error.message}`, { cause: error, hint: 'install perl (Debian and Ubuntu: the perl-base package)' })));
    relay.once('close', () => resolve());
  });
  exited.catch(() => undefined);
  const ctl = relay.stdio[3] as Duplex;
  ctl.on('error', () => undefined);
  let answer = '';
  ctl.setEncoding('utf8');
  ctl.on('data', (chunk: string) => (answer += chunk));
  const answered = new Promise<void>((resolve) => ctl.on('data', () => answer.includes('\n') && resolve()));
  const ctlClosed = new Promise<void>((resolve) => ctl.once('close', resolve));
  return {
    async connect(withinMs?: number): Promise<AttachSession> {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        if (withinMs !== undefined) timer = setTimeout(() => resolve('late'), withinMs);
      });
      const outcome = await Promise.race([answered, ctlClosed, exited, late]).finally(() => clearTimeout(timer));
      ctl.destroy();
      if (outcome === 'late' && !answer.includes('\n')) {
        relay.kill('SIGKILL');
        throw internal(`cannot attach to the container: conmon's attach socket did not appear within ${withinMs} ms`);
      }
      if (!answer.startsWith('ok')) {
        relay.kill('SIGKILL');
        // A relay that never ran (no perl) closes its fd 3 too: its own error says why, not the socket.
        await exited;
        throw new CtrError('Conflict', `cannot attach to the container: ${answer.trim() || 'the attach socket is gone'}`, {
          hint: 'the container may not be running',
        });
      }
      if (streams.stdout && relay.stdout) relay.stdout.pipe(streams.stdout, { end: false });
      if (streams.stderr && relay.stderr) relay.stderr.pipe(streams.stderr, { end: false });
      if (streams.stdin && relay.stdin) {
        relay.stdin.on('error', () => undefined);
        streams.stdin.pipe(relay.stdin);
      }
      const detach = (): void => {
        if (relay.exitCode === null) relay.kill('SIGTERM');
      };
      streams.signal?.addEventListener('abort', detach, { once: true });
      const done = exited.finally(() => {
        streams.signal?.removeEventListener('abort', detach);
        if (streams.stdin && relay.stdin) streams.stdin.unpipe(relay.stdin);
      });
      return { done, detach };
    },
    cancel(): void {
      ctl.destroy();
      if (relay.exitCode === null) relay.kill('SIGKILL');
    },
  };
}

/**
 * Connect to the `attach` socket in `dir`. Resolves once connected, so a caller can
 * start the process afterwards and miss none of its output.
 */
export function attachSocket(dir: string, streams: AttachStreams, inputEnd: InputEnd): Promise<AttachSession> {
  return prepareAttach(dir, streams, false, inputEnd).connect();
}
