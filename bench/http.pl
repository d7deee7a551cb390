#!/usr/bin/perl
# http.pl - the attacks of bench/http.sh against one scaffold serve (see
# there): prints one line of results, "name=value" pairs.
#   http.pl PORT PID bodies CONNS SIZE CHUNKED
#     CONNS anonymous webhook deliveries (a made-up signature: only the
#     body can prove it wrong) each sending SIZE bytes of body but the
#     last, then held; with CHUNKED 1, chunked with no end instead.  When
#     every connection has sent what it can (or was answered), the
#     daemon's VmHWM and how the connections ended: held (no answer),
#     code counts (413, 503...), closed.
#   http.pl PORT PID loris CONNS ROUNDS
#     CONNS half-sent request heads held open, then ROUNDS GET /healthz,
#     one after another: their status and median and worst latency (ms).
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);
use Socket qw(SOL_SOCKET SO_SNDBUF);

my ($port, $pid, $mode, @args) = @ARGV;
# a connection the daemon closed (413, 503) is written to no more
$SIG{PIPE} = "IGNORE";

sub vm {
	my ($key) = @_;
	open(my $f, '<', "/proc/$pid/status") or return -1;
	while (<$f>) {
		return $1 if /^\Q$key\E:\s+(\d+) kB/;
	}
	return -1;
}

sub conn {
	return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
				     Blocking => 0) || IO::Socket::INET->new(
		PeerAddr => '127.0.0.1', PeerPort => $port) ||
		die "connect: $!\n";
}

if ($mode eq 'bodies') {
	my ($n, $size, $chunked) = @args;
	my $sig = 'sha256=' . ('0' x 64);
	my $head = "POST /hooks/github HTTP/1.1\r\nHost: bench\r\n" .
		"Content-Type: application/json\r\nX-GitHub-Event: push\r\n" .
		"X-GitHub-Delivery: bench\r\nX-Hub-Signature-256: $sig\r\n" .
		($chunked ? "Transfer-Encoding: chunked\r\n" :
			    "Content-Length: $size\r\n") . "\r\n";
	my $piece = 'x' x 65536;
	$piece = sprintf("%x\r\n", length $piece) . $piece . "\r\n" if $chunked;
	my (%left, %out, %ans, %fh);
	my $sel = IO::Select->new;
	for my $i (1 .. $n) {
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
					      PeerPort => $port) or die "connect: $!\n";
		$s->blocking(0);
		$fh{$i} = $s;
		$out{$i} = $head;
		# the last byte of a body never comes; a chunked one has no
		# end: twice SIZE is sent, then it is held
		$left{$i} = $chunked ? 2 * $size : $size - 1;
		$ans{$i} = '';
		$sel->add([$s, $i]);
	}
	my $t_end = time + 120;
	while (%left && time < $t_end) {
		my ($r, $w) = IO::Select->select($sel, $sel, undef, 1);
		for my $h (@{$r || []}) {
			my ($s, $i) = @$h;
			my $b = '';
			my $got = sysread($s, $b, 65536);
			$ans{$i} .= $b if $got;
			if (!$got || $ans{$i} =~ /\r\n\r\n/) {
				delete $left{$i};
				$sel->remove($h);
			}
		}
		for my $h (@{$w || []}) {
			my ($s, $i) = @$h;
			next unless exists $left{$i};
			if ($out{$i} eq '') {
				if ($left{$i} <= 0) {
					delete $left{$i}; # all sent: held
					$sel->remove($h);
					next;
				}
				my $p = $left{$i} < length $piece && !$chunked ?
					substr($piece, 0, $left{$i}) : $piece;
				$left{$i} -= $chunked ? 65536 : length $p;
				$out{$i} = $p;
			}
			my $wrote = syswrite($s, $out{$i});
			if (!defined $wrote) {
				next if $!{EAGAIN};
				delete $left{$i};
				$sel->remove($h);
				next;
			}
			substr($out{$i}, 0, $wrote) = '';
		}
	}
	select(undef, undef, undef, 0.3);
	my %codes;
	for my $i (1 .. $n) {
		my $b = '';
		sysread($fh{$i}, $b, 65536) if $ans{$i} !~ /\r\n\r\n/;
		$ans{$i} .= $b if defined $b;
		my $c = $ans{$i} =~ m{^HTTP/1\.1 (\d+)} ? $1 : 'held';
		$codes{$c}++;
	}
	my $hwm = vm('VmHWM');
	close $_ for values %fh;
	print "hwm_kb=$hwm ", join(' ', map { "$_=$codes{$_}" } sort keys %codes),
		"\n";
} elsif ($mode eq 'loris') {
	my ($n, $rounds) = @args;
	my @held;
	for (1 .. $n) {
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
					      PeerPort => $port) or last;
		syswrite($s, "GET / HTTP/1.1\r\nHost: bench\r\nX-Slow");
		push @held, $s;
	}
	my (@ms, %codes);
	for (1 .. $rounds) {
		my $t0 = time;
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
					      PeerPort => $port, Timeout => 5);
		my $ans = '';
		if ($s) {
			syswrite($s, "GET /healthz HTTP/1.1\r\nHost: bench\r\n" .
				     "Connection: close\r\n\r\n");
			my $ok = eval {
				local $SIG{ALRM} = sub { die "alarm\n" };
				alarm 5;
				my $b;
				$ans .= $b while sysread($s, $b, 4096);
				alarm 0;
				1;
			};
		}
		my $c = $ans =~ m{^HTTP/1\.1 (\d+)} ? $1 : 'none';
		$codes{$c}++;
		push @ms, (time - $t0) * 1000;
	}
	@ms = sort { $a <=> $b } @ms;
	printf "held=%d median_ms=%.1f worst_ms=%.1f %s\n", scalar @held,
		$ms[$#ms / 2], $ms[-1],
		join(' ', map { "healthz_$_=$codes{$_}" } sort keys %codes);
	close $_ for @held;
} else {
	die "usage: http.pl PORT PID bodies|loris ...\n";
}
