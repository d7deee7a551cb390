#!/usr/bin/perl
# replay.pl - the measurement of bench/replay.sh (which prepares W): one
# `scaffold serve` gets one signed GitHub push, accepted, then the same
# bytes again for SECONDS under fresh X-GitHub-Delivery ids, as fast as
# CONNS keep-alive connections can send them.  Prints one line of figures
# and checks the target.  See bench/README.md.
#
#   perl bench/replay.pl W BINARY LABEL SECRET
#
# W holds serve.yaml and push.json; BINARY is the scaffold to run; LABEL
# names it in the report.  Settings: BENCH_REPLAY_SECONDS (10),
# BENCH_REPLAY_CONNS (4), BENCH_REPLAY_CHECK=0 (report, do not check: the
# run of the old binary).
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256_hex);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

@ARGV == 4 or die "usage: $0 W BINARY LABEL SECRET\n";
my ($w, $bin, $label, $secret) = @ARGV;
my $secs  = $ENV{BENCH_REPLAY_SECONDS} || 10;
my $conns = $ENV{BENCH_REPLAY_CONNS}   || 4;
my $check = ($ENV{BENCH_REPLAY_CHECK} // 1) ne '0';
my $poll_s = 60;    # serve.yaml's poll_interval

my $spid;
sub fail {
	print STDERR "bench: replay: $label: @_\n";
	exit 1;
}
END {
	my $rc = $?;
	if ($spid) { kill 'TERM', $spid; waitpid $spid, 0 }
	$? = $rc;
}
$SIG{$_} = sub { exit 1 } for qw(HUP INT PIPE TERM);

sub slurp {
	my ($f) = @_;
	open my $fh, '<', $f or return '';
	local $/;
	my $s = <$fh>;
	return defined $s ? $s : '';
}
sub size { my $n = 0; $n += -s $_ || 0 for @_; return $n }

my $data = "$w/data-$label";
my $log  = "$w/serve-$label.log";
system('rm', '-rf', $data, $log);
(my $conf = slurp("$w/serve.yaml")) =~ s/\@DATA\@/$data/;
open my $cf, '>', "$w/serve-$label.yaml" or fail("$w: $!");
print $cf $conf;
close $cf;

$spid = fork // fail("fork: $!");
if (!$spid) {
	open STDIN,  '<', '/dev/null' or POSIX::_exit(127);
	open STDOUT, '>', $log        or POSIX::_exit(127);
	open STDERR, '>&', \*STDOUT   or POSIX::_exit(127);
	exec $bin, 'serve', '--config', "$w/serve-$label.yaml"
	    or POSIX::_exit(127);
}
my $t0 = time;
my $port;
until (($port) = slurp($log) =~ /\(port (\d+)\)/) {
	kill(0, $spid) && time - $t0 < 15
	    or fail("scaffold serve did not start:\n" . slurp($log));
	sleep 0.05;
}
# the first sync at start has applied the cascade
until (slurp($log) =~ /gitsync: repo 'infra' at|reconcile: repo 'infra'/) {
	time - $t0 < 30 or fail("no first sync:\n" . slurp($log));
	sleep 0.05;
}
my $token = `"$bin" token create bench --role viewer -d "$data" 2>/dev/null`;
$? == 0 or fail("cannot create a token to read /metrics");
chomp $token;
sub syncs {
	my $m = `curl -s --max-time 10 -H 'Authorization: Bearer $token' http://127.0.0.1:$port/metrics`;
	my ($n) = $m =~ /^scaffold_sync_duration_seconds_count\{repo="infra"\} (\d+)$/m;
	defined $n or fail("no sync count in /metrics:\n$m");
	return $n;
}

my $body = slurp("$w/push.json");
my $sig  = 'sha256=' . hmac_sha256_hex($body, $secret);
sub request {
	my ($id) = @_;
	return "POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    . "Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
	    . "X-GitHub-Delivery: $id\r\nX-Hub-Signature-256: $sig\r\n"
	    . "Content-Length: " . length($body) . "\r\n\r\n$body";
}
# one answer off a keep-alive connection: its status
sub answer {
	my ($s, $bufref) = @_;
	for (;;) {
		if ($$bufref =~ /\A(HTTP\/1\.1 (\d+)[^\r]*\r\n(.*?)\r\n\r\n)/s) {
			my ($hlen, $code, $h) = (length $1, $2, $3);
			my ($cl) = $h =~ /^content-length:\s*(\d+)/mi;
			$cl //= 0;
			if (length($$bufref) >= $hlen + $cl) {
				substr($$bufref, 0, $hlen + $cl) = '';
				return $code;
			}
		}
		my $n = sysread($s, my $b, 65536);
		return 0 unless $n;
		$$bufref .= $b;
	}
}
sub connect_ {
	return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
	    // fail("connect: $!");
}

# the capture: one delivery, accepted, and its sync done
{
	my $s   = connect_();
	my $buf = '';
	syswrite $s, request('captured-0001');
	my $code = answer($s, \$buf);
	$code == 202 or fail("the first delivery got $code, not 202");
	my $t = time;
	sleep 0.05 until syncs() >= 2 || time - $t > 20;
	sleep 0.5;
}
my $syncs0 = syncs();
my @db     = map { "$data/scaffold.db$_" } ('', '-wal', '-shm');
my ($db0, $log0) = (size(@db), size($log));

# the replay: CONNS processes, each its own connection, fresh ids
my $end = time + $secs;
my @kids;
for my $c (1 .. $conns) {
	my $pid = fork // fail("fork: $!");
	if (!$pid) {
		my %n;
		my ($s, $buf, $i) = (connect_(), '', 0);
		while (time < $end) {
			syswrite($s, request(sprintf 'replay-%d-%d-%x', $c, $i++,
				int(rand(1 << 30)))) or last;
			my $code = answer($s, \$buf);
			if (!$code) { ($s, $buf) = (connect_(), ''); next }
			$n{$code}++;
		}
		open my $fh, '>', "$w/counts-$label-$c" or POSIX::_exit(1);
		print $fh "$_ $n{$_}\n" for keys %n;
		close $fh;
		POSIX::_exit(0);
	}
	push @kids, $pid;
}
waitpid $_, 0 for @kids;
my %n;
for my $c (1 .. $conns) {
	for (split /\n/, slurp("$w/counts-$label-$c")) {
		my ($code, $k) = split;
		$n{$code} += $k;
	}
}
# the syncs the replay queued run now
sleep 2;
my $syncs1 = syncs();
my ($db1, $log1) = (size(@db), size($log));
my $sent = 0;
$sent += $_ for values %n;
my $others = join ', ', map { "$_: $n{$_}" } grep { $_ != 200 && $_ != 202 }
    sort keys %n;
printf "%-8s %7d sent in %ds (%5.0f/s): %6d accepted (202), %6d duplicates "
    . "(200)%s; db +%.1f MB, log +%.1f MB, %d syncs run\n", $label, $sent,
    $secs, $sent / $secs, $n{202} || 0, $n{200} || 0,
    $others ? ", others $others" : '', ($db1 - $db0) / 1e6,
    ($log1 - $log0) / 1e6, $syncs1 - $syncs0;

exit 0 unless $check;
$sent > 0 or fail('nothing was sent');
!$n{202} or fail("$n{202} replays were accepted");
($n{200} || 0) == $sent or fail("not every replay was a duplicate ($others)");
# at most 2 syncs a repo a poll interval (the replay is shorter than one)
my $max = 2 * POSIX::ceil($secs / $poll_s);
$syncs1 - $syncs0 <= $max
    or fail(sprintf "%d syncs in %ds (target: at most %d)",
	$syncs1 - $syncs0, $secs, $max);
$log1 - $log0 < 65536 or fail("the log grew by " . ($log1 - $log0) . " bytes");
