#!/usr/bin/perl
# webhook.pl - the measurements of bench/webhook.sh (which prepares W and
# explains the cases): `scaffold serve` and `webhook` under wrk, in
# rounds, and the report.  See bench/README.md.
#
#   perl bench/webhook.pl W SECRET
#
# W holds scaffold (a copy of the binary), serve.yaml, hooks.json and
# push.json.  Settings from the environment as webhook.sh describes.
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256_hex);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

@ARGV == 2 or die "usage: $0 W SECRET\n";
my ($w, $secret) = @ARGV;
my $runs    = $ENV{BENCH_WEBHOOK_RUNS}     || 3;
my $dur     = $ENV{BENCH_WEBHOOK_DURATION} || '10s';
my $threads = $ENV{BENCH_WEBHOOK_THREADS}  || 2;
my $conns   = $ENV{BENCH_WEBHOOK_CONNS}    || 16;
my @cases   = split ' ', ($ENV{BENCH_WEBHOOK_CASES} || 'bad dup');
my $lua     = 'bench/webhook.lua';
my $tck     = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
for (@cases) { /^(bad|dup)$/ or fail("unknown case '$_' (bad, dup)") }

my %pid;    # server => pid
sub fail {
	print STDERR "bench: webhook: @_\n";
	exit 1;
}
END {
	my $rc = $?;
	for (values %pid) { kill 'TERM', $_; waitpid $_, 0 }
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
sub loadavg { return (split ' ', slurp('/proc/loadavg'))[0] }

# VmRSS and VmHWM in KiB, and the thread count
sub mem {
	my ($pid) = @_;
	my $s = slurp("/proc/$pid/status");
	my %m = map { $s =~ /^$_:\s*(\d+)/m ? ($_ => $1) : ($_ => 0) }
	    qw(VmRSS VmHWM RssAnon RssFile Threads);
	return \%m;
}

# CPU seconds of a process and of its reaped children
sub cpu {
	my ($pid) = @_;
	my $s = slurp("/proc/$pid/stat");
	$s =~ s/^.*\)\s+//s or fail("cannot read /proc/$pid/stat");
	my @f = split ' ', $s;    # f[0] is field 3 (state)
	return (($f[11] + $f[12]) / $tck, ($f[13] + $f[14]) / $tck);
}

# busy CPU seconds of the whole machine (all cores), from /proc/stat
sub busy {
	my ($l) = slurp('/proc/stat') =~ /^cpu\s+(.*)$/m or fail('no /proc/stat');
	my @f = split ' ', $l;    # user nice system idle iowait irq softirq steal
	my $b = 0;
	$b += $f[$_] || 0 for 0, 1, 2, 5, 6, 7;
	return $b / $tck;
}

sub alive { return kill 0, $_[0] }

sub spawn {
	my ($log, @cmd) = @_;
	my $pid = fork;
	defined $pid or fail("fork: $!");
	if (!$pid) {
		open STDIN,  '<', '/dev/null' or POSIX::_exit(127);
		open STDOUT, '>', $log        or POSIX::_exit(127);
		open STDERR, '>&', \*STDOUT   or POSIX::_exit(127);
		exec { $cmd[0] } @cmd or POSIX::_exit(127);
	}
	return $pid;
}

# post URL BODYFILE HEADERS...: (code, body) by curl
sub post {
	my ($url, $file, @h) = @_;
	my @cmd = ('curl', '-s', '--max-time', '10', '-o', "$w/.resp", '-w',
		'%{http_code}', '-X', 'POST', '--data-binary', "\@$file",
		map({ ('-H', $_) } @h), $url);
	open my $fh, '-|', @cmd or fail("curl: $!");
	my $code = <$fh>;
	close $fh;
	my $body = slurp("$w/.resp");
	$body =~ s/\s+$//;
	return ($code || 0, $body);
}

my $bad_sig = 'sha256=' . ('0' x 64);
my $body    = slurp("$w/push.json");
my $sig     = 'sha256=' . hmac_sha256_hex($body, $secret);
my $dlv     = 'a1b2c3d4-0e0f-11f1-8a5c-bench0000001';
my @gh_headers = ('Content-Type: application/json', 'X-GitHub-Event: push',
	"X-GitHub-Delivery: $dlv");

# ---- the servers ---------------------------------------------------------
my $load0 = loadavg();
my $t0    = time;
$pid{scaffold} = spawn("$w/serve.log", "$w/scaffold", 'serve', '--config',
	"$w/serve.yaml");
my $port;
until (($port) = slurp("$w/serve.log") =~ /\(port (\d+)\)/) {
	alive($pid{scaffold}) && time - $t0 < 15
	    or fail("scaffold serve did not start:\n" . slurp("$w/serve.log"));
	sleep 0.05;
}
# the first sync at start: it has applied the cascade and run its task
until (slurp("$w/serve.log") =~ /run 1 web\/build: (\w+)/) {
	alive($pid{scaffold}) && time - $t0 < 60
	    or fail("scaffold serve did not run its first task:\n"
		. slurp("$w/serve.log"));
	sleep 0.1;
}
slurp("$w/serve.log") =~ /run 1 web\/build: success/
    or fail("the first task did not succeed:\n" . slurp("$w/serve.log"));
my %url = (scaffold => "http://127.0.0.1:$port/hooks/github");

my $wport;
for my $try (1 .. 10) {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
		Listen => 1, ReuseAddr => 1) or fail("socket: $!");
	$wport = $s->sockport;
	close $s;
	$pid{webhook} = spawn("$w/webhook.log", 'webhook', '-hooks',
		"$w/hooks.json", '-ip', '127.0.0.1', '-port', $wport);
	my $t = time;
	while (alive($pid{webhook}) && time - $t < 10) {
		last if `curl -s --max-time 2 http://127.0.0.1:$wport/` eq 'OK';
		sleep 0.05;
	}
	if (waitpid($pid{webhook}, WNOHANG) == 0) {
		last if `curl -s --max-time 2 http://127.0.0.1:$wport/` eq 'OK';
		kill 'TERM', $pid{webhook};
		waitpid $pid{webhook}, 0;
	}
	delete $pid{webhook};
	fail("webhook did not start:\n" . slurp("$w/webhook.log")) if $try == 10;
}
$url{webhook} = "http://127.0.0.1:$wport/hooks/github";

# idle, then the memory after start
sleep 2;
my %mem0 = map { $_ => mem($pid{$_}) } keys %pid;

# ---- what each case answers ------------------------------------------------
my %expect;    # "case server" => [code, body]
for my $srv (qw(scaffold webhook)) {
	my @r = post($url{$srv}, "$w/push.json", @gh_headers,
		"X-Hub-Signature-256: $bad_sig");
	$expect{"bad $srv"} = \@r;
}
my @first = post($url{scaffold}, "$w/push.json", @gh_headers,
	"X-Hub-Signature-256: $sig");
$first[0] == 202
    or fail("scaffold: the first signed delivery: $first[0] $first[1]");
# let the sync that delivery starts finish before measuring
{
	my $t = time;
	sleep 0.1 until slurp("$w/serve.log") =~ /syncs now/ || time - $t > 10;
	sleep 2;
}
for my $srv (qw(scaffold webhook)) {
	my @r = post($url{$srv}, "$w/push.json", @gh_headers,
		"X-Hub-Signature-256: $sig");
	$expect{"dup $srv"} = \@r;
}
$expect{'bad scaffold'}[0] == 401
    or fail("scaffold, bad signature: @{$expect{'bad scaffold'}}");
$expect{'bad webhook'}[0] =~ /^(401|500)$/
    or fail("webhook, bad signature: @{$expect{'bad webhook'}}");
"@{$expect{'dup scaffold'}}" eq qq(200 {"duplicate":true,"delivery":"$dlv"})
    or fail("scaffold, duplicate: @{$expect{'dup scaffold'}}");
$expect{'dup webhook'}[0] == 200
    or fail("webhook, valid signature: @{$expect{'dup webhook'}}");
my $syncs0 = () = slurp("$w/serve.log") =~ /syncs now/g;

# ---- the rounds ----------------------------------------------------------
sub lat_ms {
	my ($v, $u) = @_;
	return $v / 1000 if $u eq 'us';
	return $v if $u eq 'ms';
	return $v * 1000 if $u eq 's';
	return $v * 60000 if $u eq 'm';
	fail("unknown latency unit '$u'");
}

sub wrk {
	my ($case, $srv, $round) = @_;
	local $ENV{WRK_BODY}     = "$w/push.json";
	local $ENV{WRK_SIG}      = $case eq 'bad' ? $bad_sig : $sig;
	local $ENV{WRK_DELIVERY} = $dlv;
	my $out = "$w/wrk-$round-$case-$srv.txt";
	my $load = loadavg();
	my ($c0, $k0) = cpu($pid{$srv});
	my @t0 = times;
	my $b0 = busy();
	my $w0 = time;
	my $rc = system("wrk -t$threads -c$conns -d$dur --latency -s $lua "
		    . "$url{$srv} >$out 2>&1");
	my @t1 = times;
	my $b1 = busy();
	my $w1 = time;
	my ($c1, $k1) = cpu($pid{$srv});
	$rc == 0 or fail("wrk failed on $srv ($case):\n" . slurp($out));
	alive($pid{$srv}) or fail("$srv died during the $case round $round");
	my $o = slurp($out);
	my %r = (case => $case, srv => $srv, round => $round, load => $load);
	($r{rps}) = $o =~ /^Requests\/sec:\s+([\d.]+)/m
	    or fail("no Requests/sec in $out:\n$o");
	($r{n}, $r{secs}) = $o =~ /^\s*(\d+) requests in ([\d.]+)(?:s)/m
	    or fail("no request count in $out:\n$o");
	for my $p (50, 99) {
		my ($v, $u) = $o =~ /^\s*$p%\s+([\d.]+)(us|ms|s|m)\s*$/m
		    or fail("no $p% latency in $out:\n$o");
		$r{"p$p"} = lat_ms($v, $u);
	}
	($r{non2xx}) = $o =~ /Non-2xx or 3xx responses: (\d+)/;
	$r{non2xx} ||= 0;
	$r{sockerr} = $o =~ /Socket errors: (.*)/ ? $1 : '';
	$r{cpu}  = $c1 - $c0;    # the server's own
	$r{kids} = $k1 - $k0;    # its reaped children (webhook's /bin/true)
	$r{wrk}  = ($t1[2] + $t1[3]) - ($t0[2] + $t0[3]);
	# the cores the rest of the machine kept busy meanwhile
	$r{others} = ($b1 - $b0 - $r{cpu} - $r{kids} - $r{wrk}) / ($w1 - $w0);
	$r{others} = 0 if $r{others} < 0;
	$r{n} > 0 or fail("$srv answered nothing ($case round $round)");
	if ($case eq 'bad' && $r{non2xx} != $r{n}) {
		fail("$srv: $r{non2xx} of $r{n} answers to a bad signature "
			. "were not errors");
	}
	if ($case eq 'dup' && $r{non2xx}) {
		fail("$srv: $r{non2xx} of $r{n} answers to a valid signature "
			. "were errors");
	}
	return \%r;
}

my @res;
for my $round (1 .. $runs) {
	for my $case (@cases) {
		for my $srv (qw(scaffold webhook)) {
			push @res, wrk($case, $srv, $round);
			sleep 1;
		}
	}
}
my $load1 = loadavg();
sleep 2;
my %mem1 = map { $_ => mem($pid{$_}) } keys %pid;

# the duplicates started no sync, and scaffold logged every one
my $log = slurp("$w/serve.log");
my $syncs1 = () = $log =~ /syncs now/g;
$syncs1 == $syncs0
    or fail("duplicates started syncs: $syncs0 before, $syncs1 after");
# duplicates are logged at debug level only (a flood of them must not
# fill the disk): /metrics counts them
my $token = `"$w/scaffold" token create bench-metrics --role viewer -d "$w/data" 2>/dev/null`;
$? == 0 or fail("cannot create a token to read /metrics");
chomp $token;
my $metrics = `curl -s --max-time 10 -H 'Authorization: Bearer $token' http://127.0.0.1:$port/metrics`;
my ($dups) = $metrics
    =~ /^scaffold_webhook_deliveries_total\{forge="github",result="duplicate"\} (\d+)$/m
    or fail("no count of duplicates in /metrics:\n$metrics");
my $sent = 0;
$sent += $_->{n} for grep { $_->{case} eq 'dup' && $_->{srv} eq 'scaffold' } @res;
$dups >= $sent
    or fail("scaffold counted $dups duplicates for $sent answered");

# ---- the report ----------------------------------------------------------
sub median {
	my @s = sort { $a <=> $b } @_;
	return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
}
sub pick { my ($c, $s) = @_; grep { $_->{case} eq $c && $_->{srv} eq $s } @res }

my $cores = () = slurp('/proc/cpuinfo') =~ /^processor\s*:/mg;
my ($model) = slurp('/proc/cpuinfo') =~ /^model name\s*:\s*(.*)$/m;
my ($wrkv) = `wrk -v 2>&1` =~ /wrk (?:debian\/)?([\d.]+)/;
my ($whv)  = `webhook -version 2>&1` =~ /version ([\d.]+)/;
my @u = POSIX::uname();
printf "scaffold webhook benchmark, %s, %d cores (%s), %s, wrk %s, webhook %s\n",
    POSIX::strftime('%Y-%m-%d', gmtime), $cores, $model || '?', $u[4],
    $wrkv || '?', $whv || '?';
printf "request:  POST /hooks/github, a GitHub push delivery of %d bytes, "
    . "X-Hub-Signature-256 = HMAC-SHA256 of the body\n", length $body;
printf "load:     wrk -t%d -c%d -d%s --latency -s %s, %d round(s), each "
    . "running every case on scaffold then webhook\n", $threads, $conns, $dur,
    $lua, $runs;
printf "          1-min load average %.2f before the servers started, "
    . "%.2f at the end (the benchmark's own threads included)\n", $load0,
    $load1;
print "answers:  bad: scaffold $expect{'bad scaffold'}[0], webhook "
    . "$expect{'bad webhook'}[0] ('$expect{'bad webhook'}[1]'); dup: scaffold "
    . "$expect{'dup scaffold'}[0] $expect{'dup scaffold'}[1], webhook "
    . "$expect{'dup webhook'}[0] (after running /bin/true)\n";
print "\n";
printf "%-4s %-9s %7s %-21s %6s %7s %8s %8s %7s %6s\n", 'CASE', 'SERVER',
    'REQ/S', '(each round)', 'p50 ms', 'p99 ms', 'CPU us/r', '+kids us',
    'wrk us', 'OTHERS';
my (%med, %cpu);
for my $case (@cases) {
	for my $srv (qw(scaffold webhook)) {
		my @r = pick($case, $srv);
		my $m = median(map { $_->{rps} } @r);
		$med{"$case $srv"} = $m;
		# the latencies of the round nearest the median rate
		my ($mr) = sort { abs($a->{rps} - $m) <=> abs($b->{rps} - $m) } @r;
		my $n = 0;
		$n += $_->{n} for @r;
		my ($c, $k, $g) = (0, 0, 0);
		$c += $_->{cpu}  for @r;
		$k += $_->{kids} for @r;
		$g += $_->{wrk}  for @r;
		$cpu{"$case $srv"} = ($c + $k) / $n;
		printf "%-4s %-9s %7.0f %-21s %6.2f %7.2f %8.1f %8.1f %7.1f %6.2f\n",
		    $case, $srv, $m,
		    '(' . join(' ', map { sprintf '%.0f', $_->{rps} } @r) . ')',
		    $mr->{p50}, $mr->{p99}, 1e6 * $c / $n, 1e6 * $k / $n,
		    1e6 * $g / $n, median(map { $_->{others} } @r);
	}
}
print "REQ/S: median of the rounds; p50, p99: latency of the round nearest "
    . "the median; CPU per answered\nrequest (us): the server's own, its "
    . "children's (webhook's /bin/true), wrk's; OTHERS: cores kept\nbusy by "
    . "the rest of the machine during the run (of $cores), median of the "
    . "rounds\n\n";
for my $case (@cases) {
	my @ratio;
	for my $round (1 .. $runs) {
		my ($s) = grep { $_->{round} == $round } pick($case, 'scaffold');
		my ($k) = grep { $_->{round} == $round } pick($case, 'webhook');
		push @ratio, $s->{rps} / $k->{rps};
	}
	printf "ratio %s: scaffold / webhook req/s %.2fx (median of the "
	    . "rounds: %s); webhook / scaffold CPU per request %.1fx\n",
	    $case, median(@ratio), join(' ', map { sprintf '%.2f', $_ } @ratio),
	    $cpu{"$case webhook"} / $cpu{"$case scaffold"};
}
my @err = grep { $_->{sockerr} } @res;
printf "socket errors: %s\n", join('; ', map {
	"$_->{srv} $_->{case} round $_->{round}: $_->{sockerr}" } @err) if @err;
print "\n";
printf "%-9s %-32s %s\n", 'MEMORY', 'after start, idle (1 repo)',
    'after the benchmark';
for my $srv (qw(scaffold webhook)) {
	printf "%-9s %-32s %s\n", $srv, map {
		sprintf 'VmRSS %5.1f, VmHWM %5.1f MiB', $_->{VmRSS} / 1024,
		    $_->{VmHWM} / 1024 } $mem0{$srv}, $mem1{$srv};
}
printf "RssAnon:  scaffold %.1f then %.1f MiB, webhook %.1f then %.1f MiB "
    . "(the rest of VmRSS is mapped files: code and libraries)\n",
    map { $_->{RssAnon} / 1024 } $mem0{scaffold}, $mem1{scaffold},
    $mem0{webhook}, $mem1{webhook};
printf "threads:  scaffold %d then %d, webhook %d then %d\n",
    $mem0{scaffold}{Threads}, $mem1{scaffold}{Threads},
    $mem0{webhook}{Threads}, $mem1{webhook}{Threads};
print "checks:   every answer had the expected status; the duplicates "
    . "started no sync ($dups counted by /metrics)\n";
