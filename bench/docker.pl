#!/usr/bin/perl
# docker.pl - the measurements of bench/docker.sh; see bench/README.md.
#
#   bench/docker.pl SCAFFOLD WORKDIR SOCKET IMAGE API N WIDE
#
# WORKDIR holds what docker.sh wrote: serial.yaml (N independent tasks,
# `run: "true"`, `image: IMAGE`), wide.yaml (WIDE such tasks), one.yaml
# (one), one-local.yaml (that task with `runner: local`), and put.tar (the
# archive scaffold puts in every container: the run dir, the script and
# the wrapper, as runner/docker.c builds them).
# SOCKET is the engine's unix socket, API the version prefix ("v1.41").
# In BENCH_DOCKER_RUNS rounds (6), so that all of them see the same
# machine (other work on it moves all of them alike): N tasks each of raw,
# raw perl and replay, one of each in turn, half of them before scaffold
# and half after; then one and local:
#
#   raw       N times the bare Engine API sequence with curl, one process
#             per request: POST /containers/create (Image, Cmd ["true"],
#             HostConfig.NetworkMode "none"), POST .../start, POST
#             .../wait, DELETE ...?force=1&v=1.  Per task: the wall time
#             of the four, and curl's own time_total of each request.
#   scaffold  scaffold apply -q -d FRESH -j 1 serial.yaml: per task, the
#             wall time / N.  The ratio scaffold / raw is the target's.
#   raw perl  N times the same four requests from this script over the
#             socket (no process per request), timed request by request.
#   replay    N times scaffold's own request sequence (what runner/docker.c
#             sends for such a task, with the same create body and archive)
#             from this script, one connection per request as scaffold
#             does, timed request by request: GET /version, GET
#             /images/IMAGE/json, POST create, PUT archive, POST attach (to
#             its answer's headers), POST start, POST wait, the end of the
#             attach stream, DELETE.  Beside raw perl, it prices each
#             request scaffold adds.
#   one       scaffold apply of one.yaml, BENCH_DOCKER_ONE times (1);
#             then 3 times of one-local.yaml, the same task with `runner:
#             local`: the fixed cost of a run of scaffold (start, load,
#             plan, the store, exit) with a task that costs next to nothing.
#
# The ratio scaffold / raw is taken in each round; the median of the rounds
# is the figure held against the target.  Then, in BENCH_DOCKER_WIDE_RUNS
# rounds (2), WIDE tasks at once: the raw sequence by curl in WIDE
# processes, the replay in WIDE processes, and scaffold apply -j WIDE on
# wide.yaml; and scaffold apply -j 1 on it.
#
# FRESH is an empty data dir, removed before each run outside the timing.
# Checks: every apply exits 0 and reports each task success after exactly
# one run; every raw and replayed request gets the expected status; the
# containers exit 0; no container of the benchmark is left on the engine.
# Exit 1 when a check fails; the target (scaffold / raw <= 1.1 per task)
# only decides the verdict printed.
use strict;
use warnings;
use File::Path qw(remove_tree);
use IO::Socket::UNIX;
use JSON::PP qw(decode_json);
use POSIX ();
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(time);

die "usage: docker.pl SCAFFOLD WORKDIR SOCKET IMAGE API N WIDE\n"
    unless @ARGV == 7;
my ($scaffold, $w, $sock, $image, $api, $n, $wide) = @ARGV;
my $rounds      = $ENV{BENCH_DOCKER_RUNS}      || 6;
my $ones        = $ENV{BENCH_DOCKER_ONE}       || 1;
my $wide_rounds = $ENV{BENCH_DOCKER_WIDE_RUNS} || 2;
my $target = 1.1;

sub fail { print STDERR "docker.pl: @_\n"; exit 1 }

# ---- the raw sequence, with curl -----------------------------------------

my $raw_body = '{"Image":"' . $image
    . '","Cmd":["true"],"HostConfig":{"NetworkMode":"none"}}';

# one request by curl: HTTP status, body, curl's time_total (s)
sub curl {
	my ($method, $path, $body) = @_;
	my @a = ('curl', '-sS', '--unix-socket', $sock, '-X', $method,
		'-w', "\n%{http_code} %{time_total}");
	push @a, '-H', 'Content-Type: application/json', '-d', $body
	    if defined $body;
	open my $fh, '-|', @a, "http://localhost/$api$path"
	    or fail "cannot run curl: $!";
	local $/;
	my $out = <$fh> // '';
	close $fh or fail "curl $method $path failed";
	$out =~ s/\n(\d+) ([0-9.]+)\z//s or fail "curl $method $path: no -w line";
	return ($1, $out, $2);
}

# one raw task: [wall, create, start, wait, delete] in seconds
sub raw_task {
	my $t0 = time;
	my ($st, $b, $tc) = curl('POST', '/containers/create', $raw_body);
	$st == 201 && $b =~ /"Id":"([0-9a-f]+)"/ or fail "raw create: $st $b";
	my $id = $1;
	my ($st2, $b2, $ts) = curl('POST', "/containers/$id/start");
	$st2 == 204 or fail "raw start: $st2 $b2";
	my ($st3, $b3, $tw) = curl('POST', "/containers/$id/wait");
	$st3 == 200 && $b3 =~ /"StatusCode":0\b/ or fail "raw wait: $st3 $b3";
	my ($st4, $b4, $td) = curl('DELETE', "/containers/$id?force=1&v=1");
	$st4 == 204 or fail "raw delete: $st4 $b4";
	return [time - $t0, $tc, $ts, $tw, $td];
}

# ---- scaffold's sequence, replayed ---------------------------------------

my $put_tar = do {
	open my $fh, '<:raw', "$w/put.tar" or fail "$w/put.tar: $!";
	local $/;
	<$fh>;
};

# the body runner/docker.c sends for a task of one.yaml (run 1)
my $replay_body = '{"Image":"' . $image . '","Entrypoint":["/bin/sh","-e",'
    . '"/tmp/.scaffold/wrapper.sh"],"Cmd":[],"WorkingDir":"/tmp/run",'
    . '"Env":["SCAFFOLD_CASCADE=replay","SCAFFOLD_TASK=t0",'
    . '"SCAFFOLD_RUN_ID=1","SCAFFOLD_REVISION=local-000000000000",'
    . '"SCAFFOLD_ATTEMPT=1","SCAFFOLD_RUN_DIR=/tmp/run"],'
    . '"Labels":{"scaffold.run":"1","scaffold.cascade":"replay",'
    . '"scaffold.task":"t0"},"AttachStdin":false,"AttachStdout":true,'
    . '"AttachStderr":true,"OpenStdin":false,"Tty":false,'
    . '"HostConfig":{"NetworkMode":"none"}}';

sub connect_engine {
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $sock)
	    or fail "cannot connect to $sock: $!";
	binmode $s;
	return $s;
}

sub send_request {
	my ($s, $method, $path, $ctype, $body) = @_;
	my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\n"
	    . "User-Agent: scaffold-bench\r\nAccept: */*\r\n";
	if (defined $body || $method eq 'POST' || $method eq 'PUT') {
		$body //= '';
		$req .= "Content-Type: " . ($ctype // 'application/json') . "\r\n"
		    . "Content-Length: " . length($body) . "\r\n";
	}
	$req .= "Connection: close\r\n\r\n" . ($body // '');
	my $off = 0;
	while ($off < length $req) {
		my $k = syswrite $s, $req, length($req) - $off, $off;
		fail "write to the engine: $!" unless defined $k;
		$off += $k;
	}
}

# one request on its own connection: HTTP status, body, elapsed (s)
sub http {
	my ($method, $path, $ctype, $body) = @_;
	my $t0 = time;
	my $s  = connect_engine();
	send_request($s, $method, $path, $ctype, $body);
	my $r = '';
	1 while sysread $s, $r, 65536, length $r;
	close $s;
	my $t = time - $t0;
	$r =~ m{^HTTP/1\.[01] (\d+)} or fail "$method $path: no answer";
	my $st = $1;
	my ($head, $ans) = split /\r\n\r\n/, $r, 2;
	$ans //= '';
	if ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
		my $plain = '';
		while ($ans =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
			my $len = hex $1;
			last unless $len;
			$plain .= substr $ans, 0, $len, '';
			$ans =~ s/\A\r\n//;
		}
		$ans = $plain;
	}
	return ($st, $ans, $t);
}

# the raw sequence again, from this script: no process per request
sub raw_perl_task {
	my $t0 = time;
	my @t;
	my ($st, $r, $t) = http('POST', "/$api/containers/create", undef,
		$raw_body);
	$st == 201 && $r =~ /"Id":"([0-9a-f]+)"/ or fail "raw create: $r";
	my $id = $1;
	push @t, $t;
	($st, $r, $t) = http('POST', "/$api/containers/$id/start");
	$st == 204 or fail "raw start: $r";
	push @t, $t;
	($st, $r, $t) = http('POST', "/$api/containers/$id/wait");
	$st == 200 && $r =~ /"StatusCode":0\b/ or fail "raw wait: $r";
	push @t, $t;
	($st, $r, $t) = http('DELETE', "/$api/containers/$id?force=1&v=1");
	$st == 204 or fail "raw delete: $r";
	push @t, $t;
	return [time - $t0, @t];
}

# one task as runner/docker.c does it: [wall, version, inspect, create,
# put, attach, start, wait, attach end, delete] in seconds
sub replay_task {
	my $t0 = time;
	my @t;
	my ($st, $r, $t) = http('GET', '/version');
	$st == 200 or fail "replay version: $st";
	push @t, $t;
	($st, $r, $t) = http('GET', "/$api/images/$image/json");
	$st == 200 or fail "replay image inspect: $st";
	push @t, $t;
	($st, $r, $t) = http('POST', "/$api/containers/create", undef,
		$replay_body);
	$st == 201 && $r =~ /"Id":"([0-9a-f]+)"/ or fail "replay create: $r";
	my $id = $1;
	push @t, $t;
	($st, $r, $t) = http('PUT', "/$api/containers/$id/archive?path=/",
		'application/x-tar', $put_tar);
	$st == 200 or fail "replay archive: $r";
	push @t, $t;
	# attach: the engine answers once attached; the stream stays open
	my $ta = time;
	my $att = connect_engine();
	send_request($att, 'POST',
		"/$api/containers/$id/attach?stream=1&stdout=1&stderr=1");
	my $h = '';
	while ($h !~ /\r\n\r\n/) {
		sysread $att, $h, 4096, length $h or fail "replay attach: no answer";
	}
	$h =~ m{^HTTP/1\.[01] 200} or fail "replay attach: $h";
	push @t, time - $ta;
	($st, $r, $t) = http('POST', "/$api/containers/$id/start");
	$st == 204 or fail "replay start: $r";
	push @t, $t;
	($st, $r, $t) = http('POST', "/$api/containers/$id/wait");
	$st == 200 && $r =~ /"StatusCode":0\b/ or fail "replay wait: $r";
	push @t, $t;
	# the rest of the output, to the end of the stream
	$ta = time;
	1 while sysread $att, $h, 65536, length $h;
	close $att;
	push @t, time - $ta;
	($st, $r, $t) = http('DELETE', "/$api/containers/$id?force=1&v=1");
	$st == 204 or fail "replay delete: $r";
	push @t, $t;
	return [time - $t0, @t];
}

# ---- scaffold ------------------------------------------------------------

# wall time and CPU (user+sys of the children) of one apply on a fresh
# data dir; its output in WORKDIR/NAME.out, .err
sub apply {
	my ($name, $file, $j, $count) = @_;
	my $data = "$w/$name.d";
	remove_tree($data);
	fail "cannot remove $data" if -e $data;
	my @c0 = times;
	my $t0 = time;
	my $pid = fork;
	fail "fork: $!" unless defined $pid;
	if (!$pid) {
		$ENV{SCAFFOLD_DOCKER_SOCKET} = $sock;
		open STDIN,  '<', '/dev/null'       or POSIX::_exit(127);
		open STDOUT, '>', "$w/$name.out"    or POSIX::_exit(127);
		open STDERR, '>', "$w/$name.err"    or POSIX::_exit(127);
		exec { $scaffold } $scaffold, 'apply', '-q', '-d', $data, '-j', $j,
		    $file
		    or POSIX::_exit(127);
	}
	waitpid $pid, 0;
	my $t  = time - $t0;
	my @c1 = times;
	fail "$name: scaffold apply failed (exit $?, see $w/$name.err)" if $?;
	open my $fh, '<', "$w/$name.out" or fail "$w/$name.out: $!";
	my ($tasks, $ok) = (0, 0);
	while (<$fh>) {
		my @f = split;
		next unless @f >= 3 && $f[0] =~ /^t\d+$/;
		$tasks++;
		$ok++ if $f[1] eq 'success' && $f[2] eq '1';
	}
	fail "$name: $ok of $tasks tasks success after one run, expected "
	    . "$count (see $w/$name.out)"
	    unless $tasks == $count && $ok == $count;
	return [$t, $c1[2] + $c1[3] - $c0[2] - $c0[3]];
}

# WIDE tasks at once, each in its own process: the wall time of all
sub at_once {
	my ($task) = @_;
	my $t0 = time;
	my @pids;
	for (1 .. $wide) {
		my $pid = fork;
		fail "fork: $!" unless defined $pid;
		if (!$pid) {
			$task->();
			POSIX::_exit(0);
		}
		push @pids, $pid;
	}
	my $bad = 0;
	for (@pids) {
		waitpid $_, 0;
		$bad++ if $?;
	}
	fail "$wide at once: $bad tasks failed" if $bad;
	return time - $t0;
}

# the containers of IMAGE on the engine (short ids): the benchmark's own
# must all be gone
sub leftovers {
	my ($st, $r) = http('GET', "/$api/containers/json?all=1");
	$st == 200 or fail "cannot list the containers: $st";
	my $list = eval { decode_json($r) };
	fail "cannot list the containers: $r" unless ref $list eq 'ARRAY';
	return map { substr $_->{Id}, 0, 12 }
	    grep { ($_->{Image} // '') eq $image } @$list;
}

# ---- the rounds ----------------------------------------------------------

fail "containers of $image are already on the engine: " . join(' ', leftovers())
    if leftovers();
$| = 1;
printf "runs:     %d rounds of: %d tasks each of raw, raw by perl and "
    . "replay, one of each in turn, half before and half after scaffold "
    . "(the %d-task cascade); the one-task cascade (%d run%s), the same "
    . "with runner local (3 runs); then %d rounds of %d tasks at once: raw, "
    . "replay, scaffold -j %d; and scaffold -j 1\n", $rounds, $n, $n, $ones,
    $ones == 1 ? '' : 's',
    $wide_rounds, $wide, $wide;

my (@raw, @rawp, @rep, @scf, @one, @local, @ratios, $raw_cpu, $scf_cpu);
my (@w_raw, @w_rep, @w_j1, @w_jn);
($raw_cpu, $scf_cpu) = (0, 0);
# N/2 tasks of each of raw, raw perl and replay, interleaved task by task;
# the total of the raw ones
sub mixed {
	my ($count) = @_;
	my @c0 = times;
	my $cpu = 0;
	my $tr  = 0;
	for (1 .. $count) {
		my $x = raw_task();
		my @c1 = times;
		$cpu += $c1[2] + $c1[3] - $c0[2] - $c0[3];
		push @raw, $x;
		$tr += $x->[0];
		push @rawp, raw_perl_task();
		push @rep,  replay_task();
		@c0 = times;
	}
	$raw_cpu += $cpu;
	return $tr;
}

for my $round (1 .. $rounds) {
	my $load = (split ' ', do { local (@ARGV, $/) = '/proc/loadavg'; <> })[0];
	my $tr = mixed(int($n / 2));
	my $s  = apply('serial', "$w/serial.yaml", 1, $n);
	$tr += mixed($n - int($n / 2));
	push @scf, $s;
	$scf_cpu += $s->[1];
	push @ratios, $s->[0] / $tr;
	push @one, apply('one', "$w/one.yaml", 1, 1) for 1 .. $ones;
	push @local, apply('local', "$w/one-local.yaml", 1, 1) for 1 .. 3;
	printf STDERR "docker.pl: round %d of %d (load %s): raw %.1f ms, "
	    . "scaffold %.1f ms per task (%.2fx)\n", $round, $rounds, $load,
	    $tr / $n * 1000, $s->[0] / $n * 1000, $ratios[-1];
}
for my $round (1 .. $wide_rounds) {
	push @w_raw, at_once(\&raw_task);
	push @w_rep, at_once(\&replay_task);
	push @w_jn,  apply('wide', "$w/wide.yaml", $wide, $wide)->[0];
	push @w_j1,  apply('wide1', "$w/wide.yaml", 1, $wide)->[0];
	printf STDERR "docker.pl: %d at once, round %d of %d: raw %.1f s, "
	    . "scaffold -j %d %.1f s, -j 1 %.1f s\n", $wide, $round,
	    $wide_rounds, $w_raw[-1], $wide, $w_jn[-1], $w_j1[-1];
}
my @left = leftovers();
fail "containers left on the engine: @left" if @left;

# ---- the report ----------------------------------------------------------

sub median {
	my @v = sort { $a <=> $b } @_;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}
sub mean { my $s = 0; $s += $_ for @_; return @_ ? $s / @_ : 0 }
sub col  { my $i = shift; return map { $_->[$i] } @_ }
sub ms   { return map { $_ * 1000 } @_ }
sub min  { return (sort { $a <=> $b } @_)[0] }
sub max  { return (sort { $b <=> $a } @_)[0] }

my $tasks    = $rounds * $n;
my $raw_task = mean(col(0, @raw));
my $scf_task = mean(col(0, @scf)) / $n;
my $rawp     = mean(col(0, @rawp));
my $ratio    = $scf_task / $raw_task;
my $one_med  = median(col(0, @one));
my $fixed    = median(col(0, @local));
my $beyond   = (mean(col(0, @scf)) - $fixed) / $n;

print "\n";
printf "%-42s %8s %8s %8s %8s %8s\n", 'ONE TASK AFTER ANOTHER (ms per task)',
    'MEAN', 'MEDIAN', 'MIN', 'MAX', 'CPU';
sub srow {
	my ($label, $cpu, @v) = @_;
	printf "%-42s %8.1f %8.1f %8.1f %8.1f %8s\n", $label, mean(@v),
	    median(@v), min(@v), max(@v),
	    defined $cpu ? sprintf('%.1f', $cpu * 1000) : '-';
}
srow('raw: curl, create start wait delete', $raw_cpu / $tasks,
    ms(col(0, @raw)));
srow('  in the requests (curl time_total)', undef,
    ms(map { $_->[1] + $_->[2] + $_->[3] + $_->[4] } @raw));
srow("scaffold apply -j 1, $n tasks: wall / $n", $scf_cpu / $tasks,
    map { $_->[0] / $n * 1000 } @scf);
srow('raw by perl (no process per request)', undef, ms(col(0, @rawp)));
srow("replay of scaffold's requests by perl", undef, ms(col(0, @rep)));
print "\n";
my $rmed = median(@ratios);
printf "ratio scaffold / raw (curl), per task: %.2fx, the median of the "
    . "rounds (%s); all rounds together %.2fx; target <= %.1f: %s\n",
    $rmed, join(' ', map { sprintf '%.2f', $_ } @ratios), $ratio, $target,
    $rmed <= $target ? 'met' : 'MISSED';
printf "ratio scaffold / raw by perl: %.2fx; replay / raw by perl: %.2fx; "
    . "scaffold / replay: %.2fx\n", $scf_task / $rawp,
    mean(col(0, @rep)) / $rawp, $scf_task / mean(col(0, @rep));
printf "fixed cost of a run of scaffold (the one task with runner local, "
    . "median of %d): %.1f ms; per task without it: %.1f ms, %.2fx raw\n",
    scalar @local, $fixed * 1000, $beyond * 1000, $beyond / $raw_task;
printf "one-task cascade (docker): median %.1f ms (%.1f-%.1f, %d runs), "
    . "%.1f ms more than a replayed task\n", $one_med * 1000,
    min(ms(col(0, @one))), max(ms(col(0, @one))), scalar @one,
    ($one_med - mean(col(0, @rep))) * 1000;
print "\n";

printf "%-34s %13s %13s %13s %9s\n", 'REQUEST (ms, mean / median)',
    'raw, curl', 'raw, perl', 'replay', 'replay-raw';
sub cell {
	return sprintf '%5.1f / %5.1f', mean(@_), median(@_);
}
# label, index in raw and raw-perl, index in replay
my @rows = (
	['GET /version',                       undef, 1],
	['GET /images/IMAGE/json',             undef, 2],
	['POST /containers/create',            1,     3],
	['PUT /containers/ID/archive',         undef, 4],
	['POST .../attach (to its answer)',    undef, 5],
	['POST .../start',                     2,     6],
	['POST .../wait',                      3,     7],
	['attach stream: from wait to end',    undef, 8],
	['DELETE /containers/ID',              4,     9],
);
my ($sum_c, $sum_r, $sum_p) = (0, 0, 0);
for my $row (@rows) {
	my ($label, $ri, $pi) = @$row;
	my @pv = ms(col($pi, @rep));
	my ($cc, $rc, $d) = ('-', '-', mean(@pv));
	if (defined $ri) {
		my @cv = ms(col($ri, @raw));
		my @rv = ms(col($ri, @rawp));
		($cc, $rc) = (cell(@cv), cell(@rv));
		$d -= mean(@rv);
		$sum_c += mean(@cv);
		$sum_r += mean(@rv);
	}
	$sum_p += mean(@pv);
	printf "%-34s %13s %13s %13s %+9.1f\n", $label, $cc, $rc, cell(@pv), $d;
}
printf "%-34s %13.1f %13.1f %13.1f %+9.1f\n", 'sum of the requests', $sum_c,
    $sum_r, $sum_p, $sum_p - $sum_r;
printf "%-34s %13.1f %13.1f %13.1f %+9.1f\n", 'wall per task',
    $raw_task * 1000, $rawp * 1000, mean(ms(col(0, @rep))),
    mean(ms(col(0, @rep))) - $rawp * 1000;
print "\n";

printf "%-42s %8s %8s %8s\n", "$wide INDEPENDENT TASKS (s)", 'BEST',
    'MEDIAN', 'ms/TASK';
for my $p (["raw (curl), $wide at once", \@w_raw],
	["replay, $wide at once", \@w_rep],
	["scaffold apply -j $wide", \@w_jn],
	['scaffold apply -j 1', \@w_j1])
{
	my @v = @{ $p->[1] };
	printf "%-42s %8.3f %8.3f %8.1f\n", $p->[0], min(@v), median(@v),
	    median(@v) / $wide * 1000;
}
printf "%-42s %8s %8.3f %8.1f\n", "raw (curl), one after another: $wide x "
    . "mean", '-', $raw_task * $wide, $raw_task * 1000;
printf "-j %d is %.2fx faster than -j 1; scaffold -j %d / raw at once: "
    . "%.2fx; / replay at once: %.2fx\n", $wide,
    median(@w_j1) / median(@w_jn), $wide, median(@w_jn) / median(@w_raw),
    median(@w_jn) / median(@w_rep);
