#!/usr/bin/perl
# gitsync.pl - the measurements of bench/gitsync.sh; see bench/README.md.
#
#   bench/gitsync.pl SCAFFOLD WORKDIR H0 ROUND_COMMIT...
#
# WORKDIR/src.git is the "remote": a bare repository whose refs/heads/main
# is H0, and which also holds the ROUND_COMMITs (each one a child of the
# previous, the first one a child of H0, each changing the run script of
# web/build; none of them under refs/heads/).  "Pushing" a round commit is
# writing refs/heads/main the way git does (a lock file renamed over the
# ref), so the moment the new commit becomes available is the time taken
# right after the rename.
#
# 1. Clone: `scaffold __gitsync-fetch` into an empty directory (what the
#    daemon does the first time) beside `git clone --mirror --no-local`,
#    alternately, best of BENCH_GIT_CLONE_RUNS (3).
# 2. Fetch: refs/heads/main moves to the first round commit; a copy of
#    the scaffold clone (one commit behind) is fetched by
#    `scaffold __gitsync-fetch` and another copy by `git fetch`,
#    alternately, best of BENCH_GIT_RUNS (5); then both again with
#    nothing new (the cost of every idle poll).
# 3. Latency: refs/heads/main back to H0, `scaffold serve` on an empty
#    data dir (poll_interval BENCH_GIT_POLL, default 1s); once H0 is
#    applied and its ten runs succeeded, each round commit is pushed in
#    turn, at evenly spread points of the poll cycle, and the times of
#    the steps up to the run of web/build are taken (see the README).
#    Last, with the daemon idle, the fetch of step 2 again (from a second
#    remote, src2.git, hard links to the same objects, one commit ahead):
#    the idle daemon competes with it for the CPU.
#
# While the daemon runs, a loop with a 1 ms tick (select(2) on the
# daemon's stderr, so a log line is stamped as soon as it is written)
# watches: the daemon's stderr lines; its children, from
# /proc/PID/task/*/children, to see each fetch helper
# (`scaffold __gitsync-fetch`) start and be reaped; and DATA/logs/, where
# a run's log file is created when the run starts.  The run script of
# web/build prints `date +%s%N` first, so its log also says when the
# script itself started.
use strict;
use warnings;
use File::Path qw(remove_tree);
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

die "usage: gitsync.pl SCAFFOLD WORKDIR H0 ROUND_COMMIT...\n" unless @ARGV >= 4;
my ($scaffold, $w, $h0, @rounds) = @ARGV;
my $src        = "$w/src.git";
my $clone_runs = $ENV{BENCH_GIT_CLONE_RUNS} || 3;
my $runs       = $ENV{BENCH_GIT_RUNS} || 5;
my $poll       = $ENV{BENCH_GIT_POLL} || '1s';
my $data       = "$w/data";
my @git_quiet  = ('-c', 'gc.auto=0', '-c', 'maintenance.auto=false');

sub fail { print STDERR "gitsync.pl: @_\n"; exit 1 }

sub out_of {    # run a command, return its stdout; fail if it fails
	my @cmd = @_;
	open my $fh, '-|', @cmd or fail "cannot run $cmd[0]: $!";
	local $/;
	my $s = <$fh> // '';
	close $fh or fail "'@cmd' failed";
	return $s;
}

sub head_of {
	my $s = out_of('git', "--git-dir=$_[0]", 'rev-parse', '--verify', '-q',
	    'refs/heads/main');
	chomp $s;
	return $s;
}

# the wall time of a command, its stdout and stderr in LOG
sub timed {
	my ($log, @cmd) = @_;
	my $t0  = time;
	my $pid = fork;
	fail "fork: $!" unless defined $pid;
	if (!$pid) {
		open STDIN,  '<',  '/dev/null' or POSIX::_exit(127);
		open STDOUT, '>',  $log        or POSIX::_exit(127);
		open STDERR, '>&', \*STDOUT    or POSIX::_exit(127);
		exec { $cmd[0] } @cmd or POSIX::_exit(127);
	}
	waitpid($pid, 0);
	my $wall = time - $t0;
	fail "'@cmd' failed (status $?); see $log" if $?;
	return $wall;
}

# a fresh copy of a mirror, written out before anything is timed
sub copy_of {
	my ($from, $to) = @_;
	remove_tree($to);
	system('cp', '-a', $from, $to) == 0 or fail "cp -a $from $to failed";
	system('sync');
}

# Point refs/heads/main of the remote at a commit as git does: write the
# lock file, rename it over the ref.  Returns the time of the rename.
sub set_main {
	my ($sha, $repo) = @_;
	my $ref = ($repo // $src) . "/refs/heads/main";
	open my $fh, '>', "$ref.lock" or fail "$ref.lock: $!";
	print $fh "$sha\n";
	close $fh or fail "$ref.lock: $!";
	rename "$ref.lock", $ref or fail "rename $ref.lock: $!";
	return time;
}

sub best   { (sort { $a <=> $b } @_)[0] }
sub median {
	my @v = sort { $a <=> $b } @_;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

my @fetch_cmd = ($scaffold, '__gitsync-fetch');    # + MIRROR NAME URL BRANCH '' '' ''
sub scaffold_fetch {    # MIRROR [URL]
	(@fetch_cmd, $_[0], 'bench', $_[1] // $src, 'main', '', '', '');
}
sub git_fetch {        # MIRROR [URL]: its remote origin, or URL with the same refspec
	('git', "--git-dir=$_[0]", @git_quiet, 'fetch', '-q', '--prune',
	    '--no-tags', '--no-write-fetch-head',
	    defined $_[1] ? ($_[1], '+refs/heads/*:refs/heads/*') : 'origin');
}

# ---- 1. clone ------------------------------------------------------------
set_main($h0);
my (@clone_s, @clone_g);
for (1 .. $clone_runs) {
	remove_tree("$w/clone-scaffold.git");
	system('sync');
	push @clone_s, timed("$w/clone-scaffold.log",
	    scaffold_fetch("$w/clone-scaffold.git"));
	remove_tree("$w/clone-git.git");
	system('sync');
	push @clone_g, timed("$w/clone-git.log", 'git', @git_quiet, 'clone',
	    '-q', '--mirror', '--no-local', $src, "$w/clone-git.git");
}
fail "the scaffold clone is not at $h0"
    unless head_of("$w/clone-scaffold.git") eq $h0;
fail "the git clone is not at $h0" unless head_of("$w/clone-git.git") eq $h0;
system('git', "--git-dir=$w/clone-scaffold.git", 'fsck', '--no-progress',
    '--connectivity-only') == 0
    or fail "git fsck finds the scaffold clone broken";
my $base = "$w/clone-scaffold.git";

# ---- 2. fetch -------------------------------------------------------------
my $h1 = $rounds[0];
set_main($h1);
my (@fetch_s, @fetch_g, @noop_s, @noop_g);
for (1 .. $runs) {
	copy_of($base, "$w/fetch-scaffold.git");
	push @fetch_s, timed("$w/fetch-scaffold.log",
	    scaffold_fetch("$w/fetch-scaffold.git"));
	copy_of($base, "$w/fetch-git.git");
	push @fetch_g, timed("$w/fetch-git.log", git_fetch("$w/fetch-git.git"));
}
fail "the scaffold fetch is not at $h1"
    unless head_of("$w/fetch-scaffold.git") eq $h1;
fail "the git fetch is not at $h1" unless head_of("$w/fetch-git.git") eq $h1;
for (1 .. $runs) {
	push @noop_s, timed("$w/fetch-scaffold.log",
	    scaffold_fetch("$w/fetch-scaffold.git"));
	push @noop_g, timed("$w/fetch-git.log", git_fetch("$w/fetch-git.git"));
}

# a second remote sharing the objects (hard links), for step 3
remove_tree("$w/src2.git");
system('cp', '-al', $src, "$w/src2.git") == 0 or fail "cp -al $src failed";
set_main($h1, "$w/src2.git");

# ---- 3. the daemon ---------------------------------------------------------
set_main($h0);
remove_tree($data);
open my $cf, '>', "$w/serve.yaml" or fail "$w/serve.yaml: $!";
print $cf "data_dir: $data\npoll_interval: $poll\nfetch_timeout: 10m\n"
    . "max_parallel: 4\nlocal: {user: nobody}\nrepos:\n"
    . "  - name: bench\n    url: $src\n    branch: main\n"
    . "    runners: [local]\n";
close $cf;

pipe(my $rd, my $wr) or fail "pipe: $!";
my $t_serve = time;
my $dpid    = fork;
fail "fork: $!" unless defined $dpid;
if (!$dpid) {
	close $rd;
	open STDIN,  '<',  '/dev/null' or POSIX::_exit(127);
	open STDOUT, '>&', $wr         or POSIX::_exit(127);
	open STDERR, '>&', $wr         or POSIX::_exit(127);
	exec { $scaffold } $scaffold, 'serve', '--config', "$w/serve.yaml"
	    or POSIX::_exit(127);
}
close $wr;
open my $serve_log, '>', "$w/serve.log" or fail "$w/serve.log: $!";
$serve_log->autoflush(1);
my $daemon_done = 0;
END { kill 'TERM', $dpid if $dpid && !$daemon_done }

my $errbuf = '';
my @lines;         # [time, text] of each stderr line
my (%kid, @fetches, %logs, @newlogs);
sub tick {         # watch for at most ~1 ms
	my $rin = '';
	vec($rin, fileno($rd), 1) = 1;
	if (select(my $rout = $rin, undef, undef, 0.001) > 0) {
		my $n = sysread($rd, my $chunk, 65536);
		my $t = time;
		fail "scaffold serve exited; see $w/serve.log" unless $n;
		$errbuf .= $chunk;
		while ($errbuf =~ s/^([^\n]*)\n//) {
			push @lines, [ $t, $1 ];
			printf $serve_log "%.6f %s\n", $t, $1;
		}
	}
	my $now = time;
	my %alive;
	for my $f (glob "/proc/$dpid/task/*/children") {
		open my $fh, '<', $f or next;
		$alive{$_} = 1 for split ' ', (<$fh> // '');
	}
	for my $p (keys %alive) {
		my $k = $kid{$p} //= { pid => $p, start => $now };
		next if $k->{fetch} || $k->{other};
		# the command line is the daemon's until the exec
		open my $fh, '<', "/proc/$p/cmdline" or next;
		my $cmd = <$fh> // '';
		if ($cmd =~ /__gitsync-fetch/) {
			$k->{fetch} = 1;
			push @fetches, $k;
		} elsif ($cmd ne '' && $cmd !~ /\0serve\0/) {
			$k->{other} = 1;
		}
	}
	for my $k (values %kid) {
		$k->{end} //= $now unless $alive{ $k->{pid} };
	}
	if (opendir my $dh, "$data/logs") {
		for my $name (readdir $dh) {
			next unless $name =~ /^(\d+)\.log$/ && !$logs{$name};
			$logs{$name} = $now;
			push @newlogs, [ $now, $1 ];
		}
	}
}

# run until cond() holds, checking it every `every` seconds
sub watch_until {
	my ($limit, $every, $what, $cond) = @_;
	my $t0   = time;
	my $next = 0;
	for (;;) {
		tick();
		my $t = time;
		if ($t >= $next) {
			return $t if $cond->();
			$next = $t + $every;
		}
		fail "timed out waiting for $what; see $w/serve.log"
		    if $t - $t0 > $limit;
	}
}

sub status {
	return decode_json(out_of($scaffold, 'status', '-d', $data, '-o', 'json'));
}

# H is applied, web/build has run `builds` times, and nothing is left to do
sub settled {
	my ($h, $builds) = @_;
	my $r = decode_json(out_of($scaffold, 'repos', '-d', $data, '-o',
	    'json'));
	return 0 unless ($r->{repos}[0]{applied} // '') eq $h;
	my $s = status();
	my $n = 0;
	for my $c (@{ $s->{cascades} }) {
		for my $t (@{ $c->{tasks} }) {
			return 0 unless $t->{state} eq 'success';
			$n++;
			return 0 if $c->{name} eq 'web' && $t->{name} eq 'build'
			    && $t->{runs} != $builds;
		}
	}
	return $n == 10;
}

sub cpu_ticks {    # utime+stime of the daemon, and of its reaped children
	open my $fh, '<', "/proc/$dpid/stat" or fail "/proc/$dpid/stat: $!";
	my $s = <$fh>;
	$s =~ s/^.*\) //;
	my @f = split ' ', $s;
	return ($f[11] + $f[12], $f[13] + $f[14]);
}

# cold start: empty data dir, the whole clone first
watch_until(600, 0.01, 'the first run', sub { @newlogs > 0 });
my $t_cold_run = $newlogs[0][0];
watch_until(600, 0.1, "$h0 to be applied and run", sub { settled($h0, 1) });

# the poll cycle and the idle cost, over a few idle polls
my $nf0 = @fetches;
watch_until(30, 0.01, 'a poll', sub { @fetches > $nf0 });
my $t_idle0 = time;
my @cpu0    = cpu_ticks();
watch_until(60, 0.01, 'idle polls', sub { @fetches >= $nf0 + 5 });
my @cpu1      = cpu_ticks();
my $idle_wall = time - $t_idle0;
my $hz        = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
my $idle_cpu  = ($cpu1[0] - $cpu0[0]) / $hz / $idle_wall;
my $idle_kids = ($cpu1[1] - $cpu0[1]) / $hz / $idle_wall;
my @gaps      = map { $fetches[$_]{start} - $fetches[ $_ - 1 ]{start} }
    $nf0 + 1 .. $#fetches;
my @idle_fetch = map { $_->{end} - $_->{start} }
    grep { defined $_->{end} } @fetches[ $nf0 .. $#fetches ];
my $period = median(@gaps);

# the rounds
my @res;
for my $i (0 .. $#rounds) {
	my $h     = $rounds[$i];
	my $short = substr($h, 0, 12);
	# push at phase (i + 0.5) / n of the poll cycle
	my $nf = @fetches;
	watch_until(30, 0.001, 'a poll', sub { @fetches > $nf });
	my $at = $fetches[-1]{start} + $period * ($i + 0.5) / @rounds;
	watch_until(30, 0.001, 'the moment to push', sub { time >= $at });
	my $nl     = @newlogs;
	my $nlines = @lines;
	my $t_push = set_main($h);
	watch_until(60, 0, "the run of round " . ($i + 1),
	    sub { @newlogs > $nl });
	my ($t_log, $run) = @{ $newlogs[$nl] };
	my ($f) = grep { $_->{start} < $t_log } reverse @fetches;
	fail "no fetch before run $run" unless $f && defined $f->{end};
	# its reconcile line came first, but may still be in the pipe
	my $rec;
	watch_until(10, 0, "the reconcile line of $short", sub {
		($rec) = grep { $_->[1] =~ /reconcile: repo 'bench' at $short/ }
		    @lines[ $nlines .. $#lines ];
		return $rec;
	});
	watch_until(60, 0.05, "round " . ($i + 1) . " to settle",
	    sub { settled($h, $i + 2) });
	open my $lf, '<', "$data/logs/$run.log" or fail "$data/logs/$run.log: $!";
	my $first = <$lf> // '';
	my $stamp = <$lf> // '';
	close $lf;
	fail "run $run is not web/build: $first"
	    unless $first =~ /^scaffold: run $run of web\/build, attempt 1/;
	fail "run $run: no timestamp" unless $stamp =~ /^(\d{19})$/;
	push @res, {
		push    => $t_push,
		fstart  => $f->{start},
		fend    => $f->{end},
		rec     => $rec->[0],
		log     => $t_log,
		script  => $1 / 1e9,
	};
}

# the fetch of one new commit again, from the second remote, with the
# daemon idle beside it
my (@busy_s, @busy_g);
for (1 .. $runs) {
	copy_of($base, "$w/fetch-scaffold.git");
	push @busy_s, timed("$w/fetch-scaffold.log",
	    scaffold_fetch("$w/fetch-scaffold.git", "$w/src2.git"));
	copy_of($base, "$w/fetch-git.git");
	push @busy_g, timed("$w/fetch-git.log",
	    git_fetch("$w/fetch-git.git", "$w/src2.git"));
}
fail "the fetches beside the daemon did not reach $h1"
    unless head_of("$w/fetch-scaffold.git") eq $h1
    && head_of("$w/fetch-git.git") eq $h1;

kill 'TERM', $dpid;
while (!eof($rd)) {
	my $l = <$rd>;
	printf $serve_log "%.6f %s", time, $l;
}
waitpid($dpid, 0);
$daemon_done = 1;
fail "scaffold serve did not stop cleanly (status $?)" if $?;

# ---- the report ------------------------------------------------------------
my $nobj = () = out_of('git', "--git-dir=$src", 'rev-list', '--objects',
    $h0) =~ /\n/g;
my $pack = (out_of('git', "--git-dir=$base", 'count-objects', '-v')
    =~ /size-pack: (\d+)/)[0];
my $nfiles = () = out_of('git', "--git-dir=$src", 'ls-tree', '-r',
    '--name-only', $h0) =~ /\n/g;
my $ncommits = out_of('git', "--git-dir=$src", 'rev-list', '--count', $h0);
chomp $ncommits;

printf "repository: %s, %d files, %d commits, %d objects; mirror pack "
    . "%.1f MiB\n", $src, $nfiles, $ncommits, $nobj, $pack / 1024;
printf "change:     one line of the run script of web/build in "
    . ".scaffold/web.yaml\n";
printf "runs:       clone best of %d, fetch best of %d (each on a fresh "
    . "copy of the mirror); %d pushes; poll_interval %s\n\n", $clone_runs,
    $runs, scalar @rounds, $poll;

printf "%-36s %10s %8s %8s   %s\n", "FETCH (wall time, s)", "scaffold", "git",
    "ratio", "median scaffold / git";
for my $r (["clone: the whole repository",        \@clone_s, \@clone_g],
	   ["fetch: one new commit",              \@fetch_s, \@fetch_g],
	   ["fetch: nothing new",                 \@noop_s,  \@noop_g],
	   ["fetch: one new commit, daemon idle", \@busy_s,  \@busy_g]) {
	my ($s, $g) = (best(@{ $r->[1] }), best(@{ $r->[2] }));
	printf "%-36s %10.3f %8.3f %7.2fx   %.3f / %.3f\n", $r->[0], $s, $g,
	    $s / $g, median(@{ $r->[1] }), median(@{ $r->[2] });
}
print "  (best of each; scaffold: `scaffold __gitsync-fetch`, git: "
    . "`git clone --mirror --no-local`,\n  `git fetch --prune --no-tags`; "
    . "the last row runs beside the idle daemon of step 3)\n\n";

sub ms { 1000 * $_[0] }
my @steps = (
	[ 'poll wait: push -> fetch helper starts',
	    sub { $_[0]{fstart} - $_[0]{push} } ],
	[ 'fetch helper: start -> reaped', sub { $_[0]{fend} - $_[0]{fstart} } ],
	[ 'reaped -> reconcile logged', sub { $_[0]{rec} - $_[0]{fend} } ],
	[ 'reconcile logged -> run log created',
	    sub { $_[0]{log} - $_[0]{rec} } ],
	[ 'run log -> script\'s first line', sub { $_[0]{script} - $_[0]{log} } ],
	[ 'TOTAL push -> run starts (run log)',
	    sub { $_[0]{log} - $_[0]{push} } ],
	[ 'TOTAL push -> script starts', sub { $_[0]{script} - $_[0]{push} } ],
	[ 'without the poll wait: fetch start -> run',
	    sub { $_[0]{log} - $_[0]{fstart} } ],
);
printf "%-42s %8s %8s %8s\n", 'PUSH -> FIRST TASK (ms, ' . @res . ' pushes)',
    'min', 'median', 'max';
for my $s (@steps) {
	my @v = map { ms($s->[1]->($_)) } @res;
	printf "%-42s %8.1f %8.1f %8.1f\n", $s->[0], (sort { $a <=> $b } @v)[0],
	    median(@v), (sort { $a <=> $b } @v)[-1];
}
printf "\ndaemon: poll cycle %.3f s (median of %d; poll_interval %s); "
    . "idle fetch helper %.0f ms (median)\n", $period, scalar @gaps, $poll,
    ms(median(@idle_fetch));
printf "daemon: CPU while idle %.2f cores (its own threads), %.2f cores "
    . "(fetch helpers)\n", $idle_cpu, $idle_kids;
printf "daemon: cold start (empty data dir) -> first run starts: %.1f s\n",
    $t_cold_run - $t_serve;
