/**
 * Docker's remote log drivers (`syslog`, `gelf`, `fluentd`), sent from the container's log
 * writer (`log-writer.ts`): a Perl process per running container that reads conmon's records
 * from its FIFO, so delivery goes on while no ctr process runs. The code below is put in
 * front of that writer's (a second `-e`); it takes its settings from the first argument and
 * leaves the writer's own after it. The writer calls `remote_start` before it runs conmon (a
 * destination it cannot reach fails the start, in dockerd's words, on the sync pipe), then
 * `remote_send` for every record and `remote_end` at the end of the log.
 *
 * What goes on the wire is moby's: srslog's formats for syslog, go-gelf's JSON (gzip/zlib
 * compressed and chunked over UDP, null-terminated over TCP), fluent-logger-golang's forward
 * messages in msgpack. A line conmon cut into partial records is joined again, as dockerd's
 * copier hands drivers whole lines, up to its 16 KiB buffer: a longer line goes in 16 KiB
 * pieces (a line with no end must not grow the writer without bound). Socket and
 * Compress::Raw::Zlib (gelf only) are Perl core.
 *
 * With `mode=non-blocking` (and fluentd-async) nothing waits for the destination: lines queue
 * up to `max-buffer-size` bytes as in moby's ring (the new line dropped when full) and go out
 * on a non-blocking socket from the writer's select loop, dials and retries on timers.
 */
const REMOTE = String.raw`
use Socket qw(PF_INET PF_UNIX SOCK_STREAM SOCK_DGRAM SOCK_NONBLOCK MSG_NOSIGNAL MSG_DONTWAIT inet_aton pack_sockaddr_in pack_sockaddr_un);
my %r = split(/\x1f/, shift(@ARGV), -1);
my ($conn, $open, $encode, $retry, %part, @queue);
# mode=non-blocking, and fluentd-async (which never waits for its server): records wait in
# @queue and go out from the writer's loop on a non-blocking socket, so nothing the
# destination does stops the writer reading the FIFO.
my $queued = defined($r{ring}) || $r{async};
my ($dial_flags, $held, $off, $tries, $dial_at, $sent) = (0, 0, 0, 0, 0, 0);
require Time::HiRes if $queued;
sub now { Time::HiRes::time() }
my @MON = qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec);

# Go's encoding/json string, without its quotes.
sub go_json {
  my ($s) = @_;
  $s =~ s/([\\"])/\\$1/g;
  my %short = ("\n" => 'n', "\r" => 'r', "\t" => 't', "\b" => 'b', "\f" => 'f');
  $s =~ s/([\x00-\x1f<>&])/exists $short{$1} ? "\\$short{$1}" : sprintf('\\u%04x', ord($1))/ge;
  $s =~ s/\xe2\x80([\xa8\xa9])/sprintf('\\u%04x', ord($1) - 0xa8 + 0x2028)/ge;
  return $s;
}

# Go's net.Dial: a connected socket, or its error's words.
sub dial {
  my ($net, $addr) = @_;
  my ($s, $sa);
  if ($net eq 'unix' || $net eq 'unixgram') {
    $sa = pack_sockaddr_un($addr);
    socket($s, PF_UNIX, ($net eq 'unix' ? SOCK_STREAM : SOCK_DGRAM) | $dial_flags, 0) or return (undef, "dial $net $addr: socket: " . lcfirst($!));
  } else {
    my ($host, $port) = $addr =~ /^\[?(.*?)\]?:(\d+)$/;
    my $ip = defined $host ? inet_aton($host) : undef;
    return (undef, "dial $net $addr: lookup $host: no such host") unless $ip;
    $sa = pack_sockaddr_in($port, $ip);
    socket($s, PF_INET, ($net eq 'tcp' ? SOCK_STREAM : SOCK_DGRAM) | $dial_flags, 0) or return (undef, "dial $net $addr: socket: " . lcfirst($!));
  }
  # A non-blocking dial goes on in the kernel: its failure shows on the first send.
  connect($s, $sa) or ($dial_flags && $!{EINPROGRESS}) or return (undef, "dial $net $addr: connect: " . lcfirst($!));
  return ($s);
}

# All of a packet on the connection (no SIGPIPE: the writer outlives a peer that went).
sub send_all {
  my ($data) = @_;
  return 0 unless $conn;
  my $off = 0;
  while ($off < length($data)) {
    my $n = send($conn, substr($data, $off), MSG_NOSIGNAL);
    unless (defined $n) { undef $conn; return 0 }
    $off += $n;
  }
  return 1;
}

sub pause { select(undef, undef, undef, $_[0]) }

# Days since 1970-01-01 of a civil date.
sub days {
  my ($y, $m, $d) = @_;
  $y-- if $m <= 2;
  my $era = int($y / 400);
  my $yoe = $y - $era * 400;
  my $doy = int((153 * ($m > 2 ? $m - 3 : $m + 9) + 2) / 5) + $d - 1;
  return $era * 146097 + $yoe * 365 + int($yoe / 4) - int($yoe / 100) + $doy - 719468;
}

# conmon's RFC 3339 time: seconds since the epoch and nanoseconds.
sub stamp {
  my ($y, $mo, $d, $h, $mi, $s, $frac, $sign, $oh, $om) = $_[0] =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?(?:Z|([+-])(\d+):(\d+))$/
    or return (time, 0);
  my $off = $sign ? ($oh * 3600 + $om * 60) * ($sign eq '-' ? -1 : 1) : 0;
  return (days($y, $mo, $d) * 86400 + $h * 3600 + $mi * 60 + $s - $off, 0 + substr(($frac // '') . '000000000', 0, 9));
}

# Local time as Go formats it: time.Stamp, or RFC 3339 (with microseconds for rfc5424micro).
sub local_time {
  my ($sec, $nsec, $style) = @_;
  my @l = localtime($sec);
  return sprintf('%s %2d %02d:%02d:%02d', $MON[$l[4]], $l[3], $l[2], $l[1], $l[0]) if $style eq 'stamp';
  my $off = days($l[5] + 1900, $l[4] + 1, $l[3]) * 86400 + $l[2] * 3600 + $l[1] * 60 + $l[0] - $sec;
  my $t = sprintf('%04d-%02d-%02dT%02d:%02d:%02d', $l[5] + 1900, $l[4] + 1, $l[3], $l[2], $l[1], $l[0]);
  if ($style eq 'micro') {
    (my $f = sprintf('%06d', int($nsec / 1000))) =~ s/0+$//;
    $t .= ".$f" if $f ne '';
  }
  return $t . ($off == 0 ? 'Z' : sprintf('%s%02d:%02d', $off < 0 ? '-' : '+', int(abs($off) / 3600), int(abs($off) % 3600 / 60)));
}

sub mp_str {
  my ($s) = @_;
  my $n = length($s);
  return ($n < 32 ? pack('C', 0xa0 | $n) : $n < 256 ? pack('CC', 0xd9, $n) : $n < 65536 ? pack('Cn', 0xda, $n) : pack('CN', 0xdb, $n)) . $s;
}

if ($r{driver} eq 'syslog') {
  # srslog: the facility with the severity (info for stdout, err for stderr); the tag; dockerd's pid is ours.
  my %format = (
    '' => sub { "<$_[0]>" . local_time($_[1], $_[2], 'stamp') . " $r{tag}\[$$\]: $_[3]\n" },
    rfc3164 => sub { "<$_[0]>" . local_time($_[1], $_[2], 'stamp') . " $r{hostname} $r{tag}\[$$\]: $_[3]\n" },
    rfc5424 => sub { "<$_[0]>1 " . local_time($_[1], $_[2], 'rfc3339') . " $r{hostname} $r{tag} $$ $r{tag} - $_[3]\n" },
    rfc5424micro => sub { "<$_[0]>1 " . local_time($_[1], $_[2], 'micro') . " $r{hostname} $r{tag} $$ $r{tag} - $_[3]\n" },
  );
  my $format = $format{$r{format}};
  $open = sub {
    return dial($r{network}, $r{address}) if $r{network};
    for my $net ('unixgram', 'unix') {
      for my $path ('/dev/log', '/var/run/syslog', '/var/run/log') {
        my ($s) = dial($net, $path);
        return ($s) if $s;
      }
    }
    return (undef, 'Unix syslog delivery error');
  };
  $encode = sub { [$format->(($_[0] eq 'stderr' ? 3 : 6) | $r{facility}, $_[1], $_[2], $_[3])] };
  # srslog dials again once when a write fails; the line is lost if that fails too.
  $retry = sub { $_[0] < 1 ? 0 : undef };
} elsif ($r{driver} eq 'gelf') {
  my $udp = $r{network} eq 'udp';
  # go-gelf writes the message's own fields, then dockerd's extra ones (x:…), sorted by name as Go marshals a map.
  my $head = '{"version":"1.1","host":"' . go_json($r{hostname}) . '","short_message":"';
  my $tail = join('', map { ',"' . go_json(substr($_, 2)) . '":"' . go_json($r{$_}) . '"' } sort grep { /^x:/ } keys %r) . '}';
  $open = sub {
    my ($s, $error) = dial($r{network}, $r{address});
    return ($s, $error && "gelf: cannot connect to GELF endpoint: $r{address} $error");
  };
  my $zlib;
  if ($udp && $r{compression} ne 'none') {
    require Compress::Raw::Zlib;
    # go-gelf's gzip or zlib stream (window bits 31: gzip's wrapper) at the configured level.
    $zlib = sub {
      my ($z) = Compress::Raw::Zlib::Deflate->new(-Level => $r{level}, -WindowBits => $r{compression} eq 'gzip' ? 31 : 15, -AppendOutput => 1);
      my $out = '';
      $z->deflate($_[0], $out);
      $z->flush($out);
      return $out;
    };
  }
  $encode = sub {
    my ($stream, $sec, $nsec, $text) = @_;
    return undef if $text eq '';
    my $ms = int($nsec / 1e6);
    my $ts = $ms ? sprintf('%d.%03d', $sec, $ms) =~ s/0+$//r : $sec;
    my $json = $head . go_json($text) . qq(","timestamp":$ts,"level":) . ($stream eq 'stderr' ? 3 : 6) . $tail;
    return [$json . "\0"] unless $udp;
    my $data = $zlib ? $zlib->($json) : $json;
    return [$data] if length($data) <= 1420;
    # go-gelf's chunks: magic, a message id, the chunk's number and the count, 1408 bytes each, at most 128.
    my $count = int((length($data) + 1407) / 1408);
    return [] if $count > 128;
    my $id = pack('NN', int(rand(2**32)), int(rand(2**32)));
    return [map { "\x1e\x0f" . $id . pack('CC', $_, $count) . substr($data, $_ * 1408, 1408) } 0 .. $count - 1];
  };
  # go-gelf's TCP writer dials again up to gelf-tcp-max-reconnect times, gelf-tcp-reconnect-delay seconds apart.
  # Over UDP a failed send is a refusal of an earlier datagram (the listener was gone): go-gelf
  # keeps its socket and sends on, so a listener that comes back gets the next ones; send_all
  # dropped ours, so it is dialled again at once.
  $retry = sub { $_[0] < ($udp ? 1 : $r{reconnects}) ? ($udp ? 0 : $r{delay}) : undef };
} elsif ($r{driver} eq 'fluentd') {
  # The record's fields besides source and log (f:…); moby's come in Go's map order, which is random.
  my @fields = grep { /^f:/ } sort keys %r;
  my $head = pack('C', 0x94) . mp_str($r{tag});
  my $fields = join('', map { mp_str(substr($_, 2)) . mp_str($r{$_}) } @fields);
  my $map = @fields + 2 < 16 ? pack('C', 0x80 | (@fields + 2)) : pack('Cn', 0xde, @fields + 2);
  $open = sub { dial($r{network}, $r{address}) };
  # fluent-logger's forward message: [tag, time, record, nil]; the time an EventTime with sub-second precision.
  $encode = sub {
    my ($stream, $sec, $nsec, $text) = @_;
    my $time = $r{subsecond} ? pack('CCNN', 0xd7, 0, $sec, $nsec) : $sec < 2**31 ? pack('CN', 0xd2, $sec) : pack('CQ>', 0xd3, $sec);
    return [$head . $time . $map . $fields . mp_str('source') . mp_str($stream) . mp_str('log') . mp_str($text) . "\xc0"];
  };
  # fluent-logger's retries: fluentd-retry-wait, growing by half each time up to a minute, fluentd-max-retries tries.
  $retry = sub {
    return undef if $_[0] + 1 >= $r{retries};
    my $wait = $r{wait} * 1.5 ** ($_[0] - 1);
    return ($wait > 60000 ? 60000 : $wait) / 1000;
  };
}

# A blocking driver's delivery: each packet tried until it is sent or the driver's retries give it up.
sub deliver {
  for my $packet (@{$_[0]}) {
    for (my $i = 0; ; $i++) {
      ($conn) = $open->() unless $conn;
      last if send_all($packet);
      my $wait = $retry->($i);
      last unless defined $wait;
      pause($wait);
    }
  }
}

# moby's ring (max-buffer-size bytes of lines, one line kept whatever its size when it is
# alone) and fluent-logger's async buffer (fluentd-buffer-limit messages): when full, the new
# message is dropped. An entry is the line's size, then the packets not yet sent.
sub enqueue {
  my ($packets, $size) = @_;
  return if $r{async} && @queue >= $r{buffer};
  return if defined($r{ring}) && @queue && $held + $size > $r{ring};
  push(@queue, [$size, @$packets]);
  $held += $size;
}

# The queue's head failed to go once more: tried again when the driver's retries say, else given up.
sub failed {
  my $wait = $retry->($tries++);
  if (defined $wait) { $dial_at = now() + $wait; return }
  $held -= shift(@queue)->[0];
  ($tries, $dial_at) = (0, 0);
}

# Sends what the socket takes now, dialling when a dial is due; never waits.
sub remote_pump {
  while (@queue) {
    unless ($conn) {
      return if now() < $dial_at;
      ($conn) = $open->();
      unless ($conn) { failed(); next }
    }
    my $head = $queue[0];
    my $n = send($conn, substr($head->[1], $off), MSG_NOSIGNAL | MSG_DONTWAIT);
    unless (defined $n) {
      return if $!{EAGAIN};
      ($conn, $off) = (undef, 0);
      failed();
      next;
    }
    $off += $n;
    $sent += $n;
    next if $off < length($head->[1]);
    ($off, $tries) = (0, 0);
    splice(@$head, 1, 1);
    if (@$head == 1) { $held -= $head->[0]; shift(@queue) }
  }
}

# What the writer's select waits for besides the FIFO: the socket taking more, or the next dial's time.
sub remote_wait {
  return (undef, undef) unless @queue;
  if ($conn) {
    my $w = '';
    vec($w, fileno($conn), 1) = 1;
    return ($w, undef);
  }
  my $left = $dial_at - now();
  return (undef, $left > 0 ? $left : 0);
}

# The first dial waits, as the driver's start does (a failure fails the container's), but async's.
sub remote_start {
  $dial_flags = SOCK_NONBLOCK if $r{async};
  my $error;
  ($conn, $error) = $open->();
  $dial_flags = SOCK_NONBLOCK if $queued;
  return $r{async} ? undef : $error;
}

sub remote_line {
  my ($stream, $time, $text) = @_;
  my $packets = $encode->($stream, stamp($time), $text);
  return unless $packets && @$packets;
  if ($queued) { enqueue($packets, length($text)) } else { deliver($packets) }
}

# One k8s-file record: <time> <stream> <P|F> <text>. A line's pieces all take its first record's time, as dockerd's.
sub remote_send {
  my ($time, $stream, $tag, $text) = $_[0] =~ /^(\S+) (\S+) (\S+)(?: (.*?))?\n?\z/s or return;
  my $p = $part{$stream} //= [$time, '', 0];
  $p->[1] .= $text // '';
  while (length($p->[1]) >= 16384) {
    remote_line($stream, $p->[0], substr($p->[1], 0, 16384, ''));
    $p->[2] = 1;
  }
  remote_rest($stream) unless $tag eq 'P';
}

# What is left of a stream's line; nothing when its pieces took all of it.
sub remote_rest {
  my ($time, $text, $pieces) = @{delete $part{$_[0]}};
  remote_line($_[0], $time, $text) unless $pieces && $text eq '';
}

# The last lines (a line with no end), before the writer lets the log go.
sub remote_flush {
  remote_rest($_) for sort keys %part;
}

# After the log: what is queued goes as moby's ring hands it to the driver when it closes; a
# destination that takes none of it for $STALL seconds does not keep the writer for ever.
# What async fluentd still holds gets one more dial; then it is dropped, as fluent-logger's close drops it.
my $STALL = 60;
sub remote_end {
  if (@queue) {
    $retry = sub { undef } if $r{async};
    my ($was, $since) = ($sent, now());
    while (@queue && now() - $since < $STALL) {
      my ($w, $wait) = remote_wait();
      $wait = $STALL if !defined($wait) || $wait > $STALL;
      select(undef, $w, undef, $wait);
      remote_pump();
      ($was, $since) = ($sent, now()) if $sent != $was;
    }
  }
  close($conn) if $conn;
}
`;

/** Where a remote driver sends: `udp`/`tcp` to `host:port`, `unix`/`unixgram` to a socket's path. */
export interface LogAddress {
  network: 'udp' | 'tcp' | 'unix' | 'unixgram';
  address: string;
}

/** syslog's messages: srslog's formats (`''` is its Unix format, without a hostname). */
export type SyslogFormat = '' | 'rfc3164' | 'rfc5424' | 'rfc5424micro';

export interface SyslogLog {
  driver: 'syslog';
  /** None: the local syslog socket (`/dev/log`…). */
  address?: LogAddress;
  /** The facility's code shifted into a priority (`daemon`: 24). */
  facility: number;
  format: SyslogFormat;
  tag: string;
}

export interface GelfLog {
  driver: 'gelf';
  address: LogAddress;
  /** UDP only. */
  compression: 'gzip' | 'zlib' | 'none';
  compressionLevel: number;
  /** TCP only: dials after a failed write, and the seconds between them. */
  maxReconnect: number;
  reconnectDelay: number;
  /** The message's additional fields but `_created` (`_container_id`, `_tag`, labels and env…), names with their underscore. */
  extra: Record<string, string>;
}

export interface FluentdLog {
  driver: 'fluentd';
  address: LogAddress;
  tag: string;
  /** `fluentd-async`: the start does not wait for the server, records wait for it (up to `bufferLimit` of them). */
  async: boolean;
  subSecondPrecision: boolean;
  bufferLimit: number;
  /** Milliseconds before the first retry of a failed write. */
  retryWait: number;
  maxRetries: number;
  /** Every record's fields besides `source` and `log`: `container_id`, `container_name`, labels and env. */
  fields: Record<string, string>;
}

/** A container's remote log driver, and whether a local cache (`logs`' file) is kept beside it. */
export type RemoteLog = (SyslogLog | GelfLog | FluentdLog) & {
  cache: boolean;
  /** `mode=non-blocking`: bytes of lines kept for the destination while it does not take them (moby's ring). */
  maxBuffer?: number;
};

/** dockerd's words for a driver that could not start: the start fails with them. */
export const LOG_DRIVER_FAILURE = 'failed to initialize logging driver: ';

/** Go's time.Time in JSON: RFC 3339 with nanoseconds, trailing zeros dropped. */
function goTime(iso: string): string {
  return iso.replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

/** `prefix` before every key of `fields`: the writer's settings are one flat map. */
function prefixed(prefix: string, fields: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [prefix + key, value]));
}

function driverSettings(remote: RemoteLog, context: { hostname: string; created: string }): Record<string, string | number> {
  switch (remote.driver) {
    case 'syslog':
      return { facility: remote.facility, format: remote.format, tag: remote.tag, hostname: context.hostname };
    case 'gelf':
      return {
        hostname: context.hostname,
        ...prefixed('x:', { ...remote.extra, _created: goTime(context.created) }),
        compression: remote.compression,
        level: remote.compressionLevel,
        reconnects: remote.maxReconnect,
        delay: remote.reconnectDelay,
      };
    case 'fluentd':
      return {
        tag: remote.tag,
        ...prefixed('f:', remote.fields),
        subsecond: remote.subSecondPrecision ? 1 : '',
        async: remote.async ? 1 : '',
        buffer: remote.bufferLimit,
        wait: remote.retryWait,
        retries: remote.maxRetries,
      };
  }
}

/** What the log writer is given to send to a remote driver: Perl code to put in front of its own, and its settings. */
export interface RemoteWriter {
  script: string;
  settings: string;
}

/**
 * The log writer's part for `remote`; `hostname` is the messages' host, `created` the
 * container's creation time (gelf's `_created`).
 */
export function remoteWriter(remote: RemoteLog, context: { hostname: string; created: string }): RemoteWriter {
  const settings: Record<string, string | number> = {
    driver: remote.driver,
    ...(remote.address ? { network: remote.address.network, address: remote.address.address } : {}),
    ...(remote.maxBuffer !== undefined ? { ring: remote.maxBuffer } : {}),
    ...driverSettings(remote, context),
  };
  // Separated by US (0x1f), which no setting holds.
  return { script: REMOTE, settings: Object.entries(settings).flat().join('\x1f') };
}
