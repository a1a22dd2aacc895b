import path from 'node:path';
import { invalidArgument } from '@ctr/errors';
import { LOG_DRIVER_FAILURE, type RemoteWriter } from './remote-log';

/**
 * Docker's json-file rotation (`max-size` with `max-file` above 1), for a log that conmon
 * writes. conmon's own limit (`--log-size-max`) starts the one file afresh and keeps nothing
 * of the old (it renames a new empty file over it), and nothing else is running between two
 * of its rotations to keep what it drops. So for rotation, conmon writes its k8s-file records
 * into a FIFO, and this writer, a small Perl process per running container (perl-base is on
 * every Debian system, as for the attach relay), appends them to the log and rotates it as
 * moby's loggerutils does: before a record, a file already at `max-size` becomes `<log>.1`,
 * `.1` becomes `.2`… and the oldest beyond `max-file - 1` goes; with `compress`, a rotated
 * file is gzipped to `<log>.1.gz` in the background (the next rotation waits for it).
 *
 * The writer is started in conmon's place (by the launcher or by Node, detached, with the sync
 * pipe as its fd 3): it makes the FIFO, opens it, then forks and execs conmon, which opens the
 * FIFO for writing before it daemonizes and keeps it to its end. The first conmon process
 * exiting with a failure means no one will write: the writer goes. Otherwise it writes until
 * the FIFO's end of file, when conmon has gone. A record conmon writes at once is never split
 * across files (records end with a newline: conmon adds one to a partial line).
 *
 * A remote log driver's code (`remote-log.ts`) comes in front of this one: the writer then
 * connects to its destination before it runs conmon (a failure is the start's, told on the
 * sync pipe in dockerd's words), sends every record there before it writes it to the log (the
 * driver's local cache, Docker's dual logging), and keeps no log when the cache is disabled
 * (`log` empty). In non-blocking mode the records wait in a queue for the destination, sent
 * from this loop as its socket takes them, so a stalled destination never stops the reading.
 *
 * It is plain Perl with Linux's number for O_NONBLOCK (2048), as the relay: loading modules
 * would delay conmon's start, which waits for it.
 */
const WRITER = String.raw`
my ($log, $fifo, $max, $files, $compress, @conmon) = @ARGV;
umask(077);
system('mkfifo', '-m', '600', $fifo) unless -p $fifo;
sysopen(my $in, $fifo, 2048) or exit 2;
my $remote = defined &remote_start;
if ($remote and defined(my $error = remote_start())) {
  open(my $sync, '>&=', 3) or exit 2;
  syswrite($sync, '{"data":-1,"message":"' . go_json("${LOG_DRIVER_FAILURE}$error") . qq("}\n));
  exit 2;
}
my $child = fork();
exit 2 unless defined $child;
exec { $conmon[0] } @conmon or exit 127 if $child == 0;
# The sync pipe is conmon's to answer on (and to close).
open(my $sync, '<&=', 3) and close($sync);
waitpid($child, 0);
my $started = $? == 0;
my ($out, $size) = (undef, 0);
if ($log ne '') { open($out, '>>', $log) or exit 2; $size = -s $out }
my ($buf, $gzip) = ('');
sub rotate {
  close($out);
  if ($files > 1) {
    waitpid($gzip, 0) if $gzip;
    my $ext = $compress ? '.gz' : '';
    unlink("$log." . ($files - 1) . $ext);
    rename("$log." . ($_ - 1) . $ext, "$log.$_$ext") for reverse 2 .. $files - 1;
    rename($log, "$log.1");
  }
  open($out, '>', $log) or exit 2;
  $size = 0;
  if ($compress && $files > 1) {
    $gzip = fork();
    if (defined $gzip && $gzip == 0) { exec('gzip', '-f', '--', "$log.1"); exit 127 }
  }
}
sub put {
  my ($text) = @_;
  return unless $out;
  my $off = 0;
  while ($off < length($text)) {
    my $w = syswrite($out, $text, length($text) - $off, $off);
    exit 2 unless defined $w;
    $off += $w;
  }
}
while (1) {
  my $rin = '';
  vec($rin, fileno($in), 1) = 1;
  if ($started) {
    # A remote driver's queue (non-blocking mode) goes out as its socket takes it, between reads.
    my ($win, $wait, $rwant) = $remote ? remote_wait() : ();
    my $ready = select(my $r = $rin | ($rwant // ''), $win, undef, $wait);
    remote_pump() if $remote;
    next unless $ready > 0 && vec($r, fileno($in), 1);
  }
  my $n = sysread($in, $buf, 65536, length($buf));
  next if !defined($n) && $started;
  last unless $n;
  my $end = rindex($buf, "\n") + 1;
  next if $end == 0;
  my $pending = '';
  for my $record (split(/(?<=\n)/, substr($buf, 0, $end))) {
    remote_send($record) if $remote;
    # No log file (a remote driver's cache disabled): nothing to rotate, whatever the size.
    if ($out && $max > 0 && $size >= $max) { put($pending); $pending = ''; rotate() }
    $pending .= $record;
    $size += length($record);
  }
  put($pending);
  $buf = substr($buf, $end);
}
put($buf);
remote_flush() if $remote;
# Done with the log: readers waiting for the last lines (the FIFO has no reader now) go on,
# while what a remote driver still queues goes out.
close($out) if $out;
close($in);
remote_end() if $remote;
waitpid($gzip, 0) if $gzip;
`;

/** How a container's log is rotated: Docker's json-file `max-size`, `max-file` and `compress`. */
export interface LogRotation {
  /** Bytes a file may reach before the next record starts a new one. */
  maxSize: number;
  /** Files kept, the current one included (2 or more: with one, conmon's own limit does it). */
  maxFiles: number;
  /** gzip the rotated files. */
  compress: boolean;
}

/** No rotation: the log grows (or conmon's own limit is kept by the writer's caller). */
const ONE_FILE: LogRotation = { maxSize: 0, maxFiles: 1, compress: false };

/**
 * The command line that starts the writer for `log` (through `fifo`; none: no log file), which
 * then runs `conmon`; with `remote`, the writer sends the records to a remote driver too.
 */
export function logWriterArgv(log: string | undefined, fifo: string, rotation: LogRotation | undefined, conmon: readonly string[], remote?: RemoteWriter): string[] {
  const { maxSize, maxFiles, compress } = rotation ?? ONE_FILE;
  const code = remote ? ['-e', remote.script, '-e', WRITER, remote.settings] : ['-e', WRITER];
  return ['perl', ...code, log ?? '', fifo, String(maxSize), String(maxFiles), compress ? '1' : '0', ...conmon];
}

/**
 * What a container's record keeps of its log rotation: `max-file` and `compress`, checked as
 * moby's json-file driver checks them. Without a size, or with one file, there is nothing to
 * rotate across (conmon's own limit, or none).
 */
export function logRotationOf(logSizeMax: number | undefined, run: { logMaxFiles?: number; logCompress?: boolean }): { logMaxFiles?: number; logCompress?: true } {
  const files = run.logMaxFiles ?? 1;
  if (!Number.isInteger(files) || files < 1) throw invalidArgument('max-file cannot be less than 1');
  const rotates = logSizeMax !== undefined && logSizeMax > 0 && files > 1;
  if (run.logCompress && !rotates) throw invalidArgument('compress cannot be true when max-file is less than 2 or max-size is not set');
  return rotates ? { logMaxFiles: files, ...(run.logCompress ? { logCompress: true as const } : {}) } : {};
}

/** Where conmon writes the records the writer puts in the log `logPath`. */
export function logFifo(logPath: string): string {
  return path.join(path.dirname(logPath), 'log.fifo');
}
