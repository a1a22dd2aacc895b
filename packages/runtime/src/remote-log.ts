/**
 * Docker's remote log drivers (`syslog`, `gelf`, `fluentd`, a logging plugin's FIFO), sent
 * from the container's log writer (`log-writer.ts`): a Perl process per running container that reads conmon's records
 * from its FIFO, so delivery goes on while no ctr process runs. The code below is put in
 * front of that writer's (a second `-e`); it takes its settings from the first argument and
 * leaves the writer's own after it. The writer calls `remote_start` before it runs conmon (a
 * destination it cannot reach fails the start, in dockerd's words, on the sync pipe), then
 * `remote_send` for every record and `remote_end` at the end of the log.
 *
 * What goes on the wire is moby's: srslog's formats for syslog, go-gelf's JSON (gzip/zlib
 * compressed and chunked over UDP, null-terminated over TCP), fluent-logger-golang's forward
 * messages in msgpack, moby's plugin adapter's LogEntry protobufs (each behind its length) for
 * a logging plugin. A line conmon cut into partial records is joined again, as dockerd's
 * copier hands drivers whole lines, up to its 16 KiB buffer: a longer line goes in 16 KiB
 * pieces (a line with no end must not grow the writer without bound). Addresses (IPv4, IPv6
 * in brackets, host names) are looked up with Socket's getaddrinfo. Socket, Compress::Raw::Zlib
 * (gelf) and MIME::Base64 (fluentd-request-ack) are Perl core; syslog over TLS needs
 * IO::Socket::SSL (Debian's libio-socket-ssl-perl), loaded only for it.
 *
 * With `mode=non-blocking` (and fluentd-async) nothing waits for the destination: lines queue
 * up to `max-buffer-size` bytes as in moby's ring (the new line dropped when full) and go out
 * on a non-blocking socket from the writer's select loop, dials and retries on timers.
 */
const REMOTE = String.raw`
use Fcntl ();
use Socket qw(PF_UNIX SOCK_STREAM SOCK_DGRAM SOCK_NONBLOCK MSG_NOSIGNAL MSG_DONTWAIT getaddrinfo pack_sockaddr_un);
my %r = split(/\x1f/, shift(@ARGV), -1);
my ($conn, $open, $encode, $retry, $tls, %part, @queue);
# mode=non-blocking, and fluentd-async (which never waits for its server): records wait in
# @queue and go out from the writer's loop on a non-blocking socket, so nothing the
# destination does stops the writer reading the FIFO.
my $queued = defined($r{ring}) || $r{async};
my ($dial_flags, $held, $off, $tries, $dial_at, $sent, $closing, $rotate) = (0, 0, 0, 0, 0, 0, 0, 0);
# What the queued connection waits to read: a TLS handshake's answer ($shaking 'r'; 'w' while
# it waits to write), fluentd's ack ($awaiting, its bytes so far in $answer).
my ($shaking, $awaiting, $answer) = ('', 0, '');
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

# Go's net.Dial: a connected socket, or its error's words. A host name or IP literal is looked
# up with getaddrinfo, as Go's resolver does, and its addresses (IPv6 or IPv4) tried in turn.
sub dial {
  my ($net, $addr) = @_;
  my $type = $net eq 'unix' || $net eq 'tcp' ? SOCK_STREAM : SOCK_DGRAM;
  my @to;
  if ($net eq 'unix' || $net eq 'unixgram') {
    @to = ([PF_UNIX, pack_sockaddr_un($addr)]);
  } else {
    my ($host, $port) = $addr =~ /^\[?(.*?)\]?:(\d+)$/;
    my ($error, @found) = getaddrinfo($host // '', $port, { socktype => $type });
    return (undef, "dial $net: lookup $host: no such host") if $error || !@found;
    @to = map { [$_->{family}, $_->{addr}] } @found;
    # A non-blocking dial learns that its address failed only at its first send: each failure
    # (failed) starts the next dial at the following address, so all are tried as Go's dialer does.
    my $first = $rotate % @to;
    @to = (@to[$first .. $#to], @to[0 .. $first - 1]) if $dial_flags;
  }
  my $why;
  for my $to (@to) {
    socket(my $s, $to->[0], $type | $dial_flags, 0) or return (undef, "dial $net $addr: socket: " . lcfirst($!));
    # A non-blocking dial goes on in the kernel: its failure shows on the first send.
    return ($s) if connect($s, $to->[1]) || ($dial_flags && $!{EINPROGRESS});
    $why = "dial $net $addr: connect: " . lcfirst($!);
  }
  return (undef, $why);
}

# syslog over TLS (tcp+tls://), as moby's tlsconfig.Client sets Go's crypto/tls up: TLS 1.2 at
# least; the server's certificate checked (unless syslog-tls-skip-verify) against the system's
# CAs and syslog-tls-ca-cert, for the address's host (its IP SANs for an IP, its DNS names for a
# name, never the CN, as Go); a client certificate when syslog-tls-cert/-key name one.
sub tls_options {
  eval { require IO::Socket::SSL };
  my ($host) = $r{address} =~ /^\[?(.*?)\]?:\d+$/;
  return {
    SSL_version => 'SSLv23:!SSLv2:!SSLv3:!TLSv1:!TLSv1_1',
    SSL_verify_mode => $r{skip} ? 0 : 1,
    SSL_verifycn_name => $host,
    SSL_verifycn_scheme => { wildcards_in_alt => 'full_label', wildcards_in_cn => 0, check_cn => 0 },
    # Server name indication for a name only, as Go.
    SSL_hostname => $host =~ /^[\d.]+$|:/ ? '' : $host,
    ($r{ca} ne '' ? (SSL_ca_file => $r{ca}, SSL_ca_path => '/etc/ssl/certs') : ()),
    ($r{cert} ne '' || $r{key} ne '' ? (SSL_cert_file => $r{cert}, SSL_key_file => $r{key}) : ()),
  };
}

# The files go-connections reads when the driver starts, checked first for its words.
sub tls_files {
  return qq(could not read CA certificate "$r{ca}": open $r{ca}: ) . lcfirst($!) if $r{ca} ne '' && !open(my $f, '<', $r{ca});
  return undef if $r{cert} eq '' && $r{key} eq '';
  for my $file ($r{cert}, $r{key}) {
    return qq(could not load X509 key pair (cert: "$r{cert}", key: "$r{key}"): open $file: ) . lcfirst($!) unless open(my $f, '<', $file);
  }
  return undef;
}

# A TLS connection: dialled as TCP, then its handshake, which a non-blocking dial leaves to
# remote_pump (the writer's loop never waits for a server).
sub tls_dial {
  return (undef, "syslog over TLS needs Perl's IO::Socket::SSL: apt-get install libio-socket-ssl-perl") unless $INC{'IO/Socket/SSL.pm'};
  my $bad = tls_files();
  return (undef, $bad) if defined $bad;
  my ($s, $error) = dial('tcp', $r{address});
  return (undef, $error) unless $s;
  local $SIG{PIPE} = 'IGNORE';
  IO::Socket::SSL->start_SSL($s, %$tls, SSL_startHandshake => !$dial_flags) or return (undef, tls_error());
  $shaking = 'w' if $dial_flags;
  return ($s);
}

sub tls_error { 'tls: ' . (IO::Socket::SSL::errstr() =~ s/^SSL connect attempt failed\s*//r) }

# What the connection takes of $_[0] (all of it unless $_[1], now): the bytes written, or undef.
# No SIGPIPE: the writer outlives a peer that went (ignored only while writing, as conmon,
# exec'd by the writer, must not inherit it ignored).
sub put_some {
  my ($data, $now) = @_;
  # A log plugin's FIFO is no socket (and non-blocking itself when the records queue).
  return syswrite($conn, $data) if defined $r{fifo};
  return send($conn, $data, MSG_NOSIGNAL | ($now ? MSG_DONTWAIT : 0)) unless $tls;
  local $SIG{PIPE} = 'IGNORE';
  return $conn->syswrite($data);
}

# All of a packet on the connection.
sub send_all {
  my ($data) = @_;
  return 0 unless $conn;
  my $off = 0;
  while ($off < length($data)) {
    my $n = put_some(substr($data, $off));
    unless (defined $n) { undef $conn; return 0 }
    $off += $n;
  }
  return 1;
}

# The ack in fluentd's answer (a msgpack map of strings) at the head of $_[0]: undef while it is
# still coming, '' when the answer is not one.
sub ack_of {
  my ($b) = @_;
  my $at = 0;
  my $take = sub { die "more\n" if $at + $_[0] > length($b); $at += $_[0]; substr($b, $at - $_[0], $_[0]) };
  my $str = sub {
    my $t = ord($take->(1));
    my $n = $t >= 0xa0 && $t <= 0xbf ? $t & 0x1f : $t == 0xd9 || $t == 0xc4 ? ord($take->(1)) : $t == 0xda || $t == 0xc5 ? unpack('n', $take->(2)) : die "bad\n";
    return $take->($n);
  };
  my $ack = eval {
    my $t = ord($take->(1));
    my $n = $t >= 0x80 && $t <= 0x8f ? $t & 0x0f : $t == 0xde ? unpack('n', $take->(2)) : die "bad\n";
    my %m = map { $str->() } 1 .. 2 * $n;
    $m{ack} // '';
  };
  return $ack if defined $ack;
  return $@ eq "more\n" ? undef : '';
}

# fluentd-request-ack: the chunk's id is the packet's last 24 bytes (its option map's value).
sub chunk_id { substr($_[0], -24) }

# A blocking wait for fluentd's answer to the packet just sent; true when it acks that chunk.
sub acked {
  return 1 unless $r{ack};
  my $buf = '';
  while (1) {
    my $got = ack_of($buf);
    return $got eq chunk_id($_[0]) if defined $got;
    return 0 unless sysread($conn, $buf, 4096, length($buf));
  }
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

# protobuf's base-128 varint of a non-negative integer, and a length-delimited field.
sub varint {
  my ($n) = @_;
  my $s = '';
  while ($n >= 128) { $s .= chr(($n & 127) | 128); $n >>= 7 }
  return $s . chr($n);
}
sub pb_bytes { chr($_[0] << 3 | 2) . varint(length($_[1])) . $_[1] }

sub mp_str {
  my ($s) = @_;
  my $n = length($s);
  return ($n < 32 ? pack('C', 0xa0 | $n) : $n < 256 ? pack('CC', 0xd9, $n) : $n < 65536 ? pack('Cn', 0xda, $n) : pack('CN', 0xdb, $n)) . $s;
}

if ($r{driver} eq 'syslog') {
  # srslog: the facility with the severity (info for stdout, err for stderr); the tag; the pid
  # of the process that sends, as dockerd's is in Docker: here the container's writer, so two
  # containers' lines under one tag, or two runs of one container, are told apart.
  my %format = (
    '' => sub { "<$_[0]>" . local_time($_[1], $_[2], 'stamp') . " $r{tag}\[$$\]: $_[3]\n" },
    rfc3164 => sub { "<$_[0]>" . local_time($_[1], $_[2], 'stamp') . " $r{hostname} $r{tag}\[$$\]: $_[3]\n" },
    rfc5424 => sub { "<$_[0]>1 " . local_time($_[1], $_[2], 'rfc3339') . " $r{hostname} $r{tag} $$ $r{tag} - $_[3]\n" },
    rfc5424micro => sub { "<$_[0]>1 " . local_time($_[1], $_[2], 'micro') . " $r{hostname} $r{tag} $$ $r{tag} - $_[3]\n" },
  );
  my $format = $format{$r{format}};
  $tls = tls_options() if $r{tls};
  $open = sub {
    return tls_dial() if $tls;
    return dial($r{network}, $r{address}) if $r{network};
    for my $net ('unixgram', 'unix') {
      for my $path ('/dev/log', '/var/run/syslog', '/var/run/log') {
        my ($s) = dial($net, $path);
        return ($s) if $s;
      }
    }
    return (undef, 'Unix syslog delivery error');
  };
  # Over TLS, srslog frames rfc5424 messages with their length (RFC 5425's octet counting).
  my $counted = $tls && $r{format} =~ /^rfc5424/;
  $encode = sub {
    my $message = $format->(($_[0] eq 'stderr' ? 3 : 6) | $r{facility}, $_[1], $_[2], $_[3]);
    return [$counted ? length($message) . " $message" : $message];
  };
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
  $open = sub { dial($r{network}, $r{address}) };
  # fluent-logger's forward message: [tag, time, record, option]; the time an EventTime with
  # sub-second precision; the option nil, or with request-ack {chunk: id}, the id fluent-logger's
  # (the time and 64 random bits, little-endian, in base64: always 24 bytes).
  require MIME::Base64 if $r{ack};
  $encode = sub {
    my ($stream, $sec, $nsec, $text, $part) = @_;
    # moby's partial_* fields on a piece of a long line.
    my @partial = $part ? (partial_message => 'true', partial_id => $part->[0], partial_ordinal => $part->[1], partial_last => $part->[2] ? 'true' : 'false') : ();
    my $n = @fields + 2 + @partial / 2;
    my $map = $n < 16 ? pack('C', 0x80 | $n) : pack('Cn', 0xde, $n);
    my $time = $r{subsecond} ? pack('CCNN', 0xd7, 0, $sec, $nsec) : $sec < 2**31 ? pack('CN', 0xd2, $sec) : pack('CQ>', 0xd3, $sec);
    my $option = $r{ack} ? "\x81" . mp_str('chunk') . mp_str(MIME::Base64::encode_base64(pack('q<VV', $sec, rand(2**32), rand(2**32)), '')) : "\xc0";
    return [$head . $time . $map . $fields . mp_str('source') . mp_str($stream) . mp_str('log') . mp_str($text) . join('', map { mp_str($_) } @partial) . $option];
  };
  # fluent-logger's retries: fluentd-max-retries tries, fluentd-retry-wait apart times the whole
  # part of 1.5 to the power of the try before (none before the second), at most a minute.
  $retry = sub {
    return undef if $_[0] + 1 >= $r{retries};
    my $wait = $r{wait} * int(1.5 ** ($_[0] - 1));
    return ($wait > 60000 ? 60000 : $wait) / 1000;
  };
} elsif ($r{driver} eq 'plugin') {
  # moby's plugin adapter: its FIFO opened for reading too (a plugin that goes makes no EPIPE;
  # one that does not read blocks the container once the pipe is full, as dockerd's), and
  # every message a LogEntry in protobuf behind its length (uint32, big-endian).
  # A managed plugin's FIFO lies in its rootfs, which the plugin may change: never a link
  # followed (O_NOFOLLOW) nor anything but a FIFO written to, so no host file gets the output.
  $open = sub {
    sysopen(my $f, $r{fifo}, 2 | ($queued ? 2048 : 0) | Fcntl::O_NOFOLLOW()) or return (undef, "error creating i/o pipe for log plugin: $r{plugin}: open $r{fifo}: " . lcfirst($!));
    return (undef, "error creating i/o pipe for log plugin: $r{plugin}: $r{fifo} is not a FIFO") unless -p $f;
    return ($f);
  };
  $encode = sub {
    my ($stream, $sec, $nsec, $text, $part) = @_;
    my $entry = pb_bytes(1, $stream) . "\x10" . varint($sec * 1000000000 + $nsec) . pb_bytes(3, $text);
    # A piece of a long line: partial, with the line's id, the piece's ordinal and whether it is the last.
    $entry .= "\x20\x01" . pb_bytes(5, ($part->[2] ? "\x08\x01" : '') . pb_bytes(2, $part->[0]) . "\x18" . varint($part->[1])) if $part;
    return [pack('N', length($entry)) . $entry];
  };
  # A FIFO that fails a write has no reader to come back.
  $retry = sub { undef };
}

# A blocking driver's delivery: each packet tried until it is sent (and acked, with
# fluentd-request-ack) or the driver's retries give it up.
sub deliver {
  for my $packet (@{$_[0]}) {
    for (my $i = 0; ; $i++) {
      ($conn) = $open->() unless $conn;
      last if send_all($packet) && acked($packet);
      undef $conn;
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

# The connection failed the queue's head: its packet goes again from its start on a new one,
# when the driver's retries say, else the head is given up.
sub failed {
  ($conn, $off, $shaking, $awaiting, $answer) = (undef, 0, '', 0, '');
  $rotate++;
  # async fluentd at the log's end: nothing waits for a later dial, the rest is dropped.
  if ($closing) { @queue = (); $held = 0; return }
  my $wait = $retry->($tries++);
  if (defined $wait) { $dial_at = now() + $wait; return }
  $held -= shift(@queue)->[0];
  ($tries, $dial_at) = (0, 0);
}

# The queue's head's packet went (and was acked): the next one, or the next entry.
sub sent_one {
  my $head = $queue[0];
  ($off, $tries) = (0, 0);
  splice(@$head, 1, 1);
  if (@$head == 1) { $held -= $head->[0]; shift(@queue) }
}

# Sends what the connection takes now, dialling when a dial is due; never waits.
sub remote_pump {
  local $SIG{PIPE} = 'IGNORE' if $tls;
  while (@queue) {
    unless ($conn) {
      return if now() < $dial_at;
      ($conn) = $open->();
      unless ($conn) { failed(); next }
    }
    if ($shaking) {
      if ($conn->connect_SSL) { $shaking = '' }
      elsif ($IO::Socket::SSL::SSL_ERROR == IO::Socket::SSL::SSL_WANT_READ()) { $shaking = 'r'; return }
      elsif ($IO::Socket::SSL::SSL_ERROR == IO::Socket::SSL::SSL_WANT_WRITE()) { $shaking = 'w'; return }
      else { failed(); next }
    }
    my $packet = $queue[0][1];
    if ($awaiting) {
      # The connection may be the blocking one remote_start made: read only what is there.
      my $from = recv($conn, my $more, 4096, MSG_DONTWAIT);
      return if !defined($from) && $!{EAGAIN};
      my $got = defined($from) && length($more) ? ack_of($answer .= $more) : '';
      return unless defined $got;
      if ($got ne chunk_id($packet)) { failed(); next }
      ($awaiting, $answer) = (0, '');
      sent_one();
      next;
    }
    my $n = put_some(substr($packet, $off), 1);
    unless (defined $n) {
      return if $!{EAGAIN};
      failed();
      next;
    }
    $off += $n;
    $sent += $n;
    next if $off < length($packet);
    if ($r{ack}) { $awaiting = 1 } else { sent_one() }
  }
}

# What the writer's select waits for besides the FIFO: the connection taking more, or having
# something to read (a handshake's, an ack), or the next dial's time.
sub remote_wait {
  return (undef, undef) unless @queue;
  if ($conn) {
    my $v = '';
    vec($v, fileno($conn), 1) = 1;
    return $shaking eq 'r' || $awaiting ? (undef, undef, $v) : ($v, undef);
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
  # A blocking first TLS connection: the queue's writes must not wait either.
  $conn->blocking(0) if $conn && $tls && $queued;
  return $r{async} ? undef : $error;
}

sub remote_line {
  my ($stream, $time, $text, $part) = @_;
  my $packets = $encode->($stream, stamp($time), $text, $part);
  return unless $packets && @$packets;
  if ($queued) { enqueue($packets, length($text)) } else { deliver($packets) }
}

# One k8s-file record: <time> <stream> <P|F> <text>. A line's pieces all take its first record's time, as dockerd's.
sub remote_send {
  my ($time, $stream, $tag, $text) = $_[0] =~ /^(\S+) (\S+) (\S+)(?: (.*?))?\n?\z/s or return;
  my $p = $part{$stream} //= [$time, '', 0];
  $p->[1] .= $text // '';
  remote_line($stream, $p->[0], substr($p->[1], 0, 16384, ''), [partial_id($p), ++$p->[2], 0]) while length($p->[1]) >= 16384;
  remote_rest($stream, 1) unless $tag eq 'P';
}

# moby's copier's partial metadata: one random id per line, its pieces counted from 1.
sub partial_id { $_[0][3] //= join('', map { sprintf('%08x', int(rand(2**32))) } 1 .. 8) }

# What is left of a stream's line. At its end it goes even when empty, as the copier's last
# piece of a line its pieces took all of; at the log's end (a line with no end) only if there
# is some, as one more piece, not the last.
sub remote_rest {
  my ($stream, $ended) = @_;
  my $p = delete $part{$stream};
  my ($time, $text, $pieces) = @$p;
  if ($ended) { remote_line($stream, $time, $text, $pieces ? [$p->[3], $pieces + 1, 1] : undef) }
  elsif ($text ne '') { remote_line($stream, $time, $text, [partial_id($p), $pieces + 1, 0]) }
}

# The last lines (a line with no end), before the writer lets the log go.
sub remote_flush {
  remote_rest($_, 0) for sort keys %part;
}

# After the log: what is queued goes as moby's ring hands it to the driver when it closes; a
# destination that takes none of it for $STALL seconds does not keep the writer for ever.
# async fluentd: moby closes fluent-logger with ForceStopAsyncSend, which drops what it still
# holds at once, so that a server that is gone never holds the container's end. The writer's
# end is no daemon's: what is queued goes out while the connection (or one more dial, now)
# takes it, and at the first failure the rest is dropped, with no retry waited for.
my $STALL = 60;
sub remote_end {
  if (@queue) {
    ($closing, $dial_at) = (1, 0) if $r{async};
    my ($was, $since) = ($sent, now());
    while (@queue && now() - $since < $STALL) {
      my ($w, $wait, $rd) = remote_wait();
      $wait = $STALL if !defined($wait) || $wait > $STALL;
      select($rd, $w, undef, $wait);
      remote_pump();
      ($was, $since) = ($sent, now()) if $sent != $was;
    }
  }
  return unless $conn;
  # Bytes left unread (a TLS 1.3 server's session tickets) make the close a reset, which loses
  # what the server has not read yet: they are read off first.
  1 while defined(recv($conn, my $unread, 65536, MSG_DONTWAIT)) && length($unread);
  close($conn);
}
`;

/** Where a remote driver sends: `udp`/`tcp` to `host:port`, `unix`/`unixgram` to a socket's path. */
export interface LogAddress {
  network: 'udp' | 'tcp' | 'unix' | 'unixgram';
  address: string;
}

/** syslog's messages: srslog's formats (`''` is its Unix format, without a hostname). */
export type SyslogFormat = '' | 'rfc3164' | 'rfc5424' | 'rfc5424micro';

/** syslog over TLS (`tcp+tls://`): the files moby's options name (`''`: none) and whether the server's certificate goes unchecked. */
export interface SyslogTls {
  caCert: string;
  cert: string;
  key: string;
  skipVerify: boolean;
}

export interface SyslogLog {
  driver: 'syslog';
  /** None: the local syslog socket (`/dev/log`…). A `tcp` address with `tls` is `tcp+tls://`. */
  address?: LogAddress;
  tls?: SyslogTls;
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
  /** `fluentd-request-ack`: each message carries a chunk id, and is sent again until the server acks it. */
  requestAck: boolean;
  /** Every record's fields besides `source` and `log`: `container_id`, `container_name`, labels and env. */
  fields: Record<string, string>;
}

/**
 * A logging plugin's (`--log-driver PLUGIN`, Docker's LogDriver protocol): the writer sends
 * LogEntry messages into the FIFO the plugin was given at StartLogging (the engine's part,
 * `plugins/log-driver.ts`, as are the plugin's name and what it was told).
 */
export interface PluginLog {
  driver: 'plugin';
  /** The plugin's name, as `--log-driver` gave it. */
  plugin: string;
  /** The FIFO's path on the host. */
  fifo: string;
  /** The FIFO's path as the plugin sees it (a managed plugin's is inside its rootfs): StartLogging's and StopLogging's `File`. */
  file: string;
  /** The plugin reads the log back (its Capabilities' ReadLogs): `logs` asks it, and no cache is kept. */
  readLogs: boolean;
  /** StartLogging's `Info` (moby's logger.Info) but the container's creation time, which the engine adds at each start. */
  info: Readonly<Record<string, unknown>>;
}

/** A container's remote log driver, and whether a local cache (`logs`' file) is kept beside it. */
export type RemoteLog = (SyslogLog | GelfLog | FluentdLog | PluginLog) & {
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
      return {
        facility: remote.facility,
        format: remote.format,
        tag: remote.tag,
        hostname: context.hostname,
        ...(remote.tls ? { tls: 1, ca: remote.tls.caCert, cert: remote.tls.cert, key: remote.tls.key, skip: remote.tls.skipVerify ? 1 : '' } : {}),
      };
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
        ack: remote.requestAck ? 1 : '',
      };
    case 'plugin':
      return { plugin: remote.plugin, fifo: remote.fifo };
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
    ...('address' in remote && remote.address ? { network: remote.address.network, address: remote.address.address } : {}),
    ...(remote.maxBuffer !== undefined ? { ring: remote.maxBuffer } : {}),
    ...driverSettings(remote, context),
  };
  // Separated by US (0x1f), which no setting holds.
  return { script: REMOTE, settings: Object.entries(settings).flat().join('\x1f') };
}
