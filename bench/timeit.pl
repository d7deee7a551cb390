#!/usr/bin/perl
# timeit.pl - run a command several times; best wall time and peak RSS.
#
#   bench/timeit.pl [--fresh DIR] RUNS STDOUT_FILE STDERR_FILE CMD [ARG...]
#
# Prints one line: "BEST_S MEDIAN_S MAXRSS_KB CPU_S METHOD", where BEST_S
# and MEDIAN_S are wall-clock seconds (Time::HiRes, around the whole run),
# MAXRSS_KB is the largest peak resident set size of the command over the
# runs, in KiB, and CPU_S the smallest user+system CPU time of a run (less
# sensitive than wall time to other load on the machine; GNU time gives it
# to 10 ms).  The last run's stdout and stderr are left in the files.
# Exit 1 if any run fails (non-zero exit or signal).
#
# --fresh DIR moves DIR (a scaffold data dir, say) out of the way before
# each run, outside the timed part, so that every run starts from nothing:
# DIR becomes DIR.old-N, for the caller to remove when the timing is over.
# Removing it there and then would free thousands of inodes just before the
# run, and on ext4 without a journal that makes the run's own file
# creations slower (ext4 skips recently freed inodes; bench/README.md).
#
# Peak RSS comes from GNU time (`/usr/bin/time -v`, Debian package `time`)
# when it is installed; its fork/exec adds well under a millisecond to the
# wall time.  Without it, the command is run directly and its rusage is
# read with the wait4(2) system call through perl's syscall(), which needs
# only core perl (METHOD says which one was used).  BENCH_NO_GNU_TIME=1
# forces the fallback.
use strict;
use warnings;
use Config;
use POSIX ();
use Time::HiRes qw(time);

my $fresh;
if (@ARGV >= 2 && $ARGV[0] eq '--fresh') {
	(undef, $fresh) = splice @ARGV, 0, 2;
}
die "usage: timeit.pl [--fresh DIR] RUNS STDOUT_FILE STDERR_FILE "
    . "CMD [ARG...]\n"
    unless @ARGV >= 4 && $ARGV[0] =~ /^[1-9][0-9]*$/;
my ($runs, $out, $err, @cmd) = @ARGV;

my $gnu_time = '/usr/bin/time';
my $use_gnu = -x $gnu_time && !$ENV{BENCH_NO_GNU_TIME};
my $rssfile = "$out.time";

# wait4(2) for the fallback
my $sys_wait4;
unless ($use_gnu) {
	$sys_wait4 = eval { require 'syscall.ph'; &SYS_wait4() };
	unless (defined $sys_wait4) {
		my %nr = (x86_64 => 61, aarch64 => 260, i686 => 114,
			  i386 => 114, arm => 114, riscv64 => 260);
		my ($arch) = $Config{archname} =~ /^([^-]+)/;
		$sys_wait4 = $nr{$arch};
	}
	die "timeit.pl: neither $gnu_time (package 'time') nor a known "
	    . "wait4 system call number for $Config{archname}\n"
	    unless defined $sys_wait4 && $^O eq 'linux';
}

sub run_once {
	if (defined $fresh && -e $fresh) {
		my $n = 1;
		$n++ while -e "$fresh.old-$n";
		rename $fresh, "$fresh.old-$n"
		    or die "timeit.pl: cannot move $fresh aside: $!\n";
	}
	my $t0  = time;
	my $pid = fork;
	die "timeit.pl: fork: $!\n" unless defined $pid;
	if (!$pid) {
		open STDIN,  '<', '/dev/null' or POSIX::_exit(127);
		open STDOUT, '>', $out or POSIX::_exit(127);
		open STDERR, '>', $err or POSIX::_exit(127);
		if ($use_gnu) {
			exec { $gnu_time } $gnu_time, '-v', '-o', $rssfile, @cmd;
		} else {
			exec { $cmd[0] } @cmd;
		}
		POSIX::_exit(127);
	}
	my ($status, $rss, $cpu);
	if ($use_gnu) {
		waitpid($pid, 0) == $pid or die "timeit.pl: waitpid: $!\n";
		$status = $?;
	} else {
		my $st = pack('i', 0);
		my $ru = "\0" x 512;    # struct rusage is 144 bytes on LP64
		my $r;
		do {
			$r = syscall($sys_wait4, $pid, $st, 0, $ru);
		} while ($r == -1 && $!{EINTR});
		die "timeit.pl: wait4: $!\n" unless $r == $pid;
		$status = unpack('i', $st);
		# ru_maxrss follows two struct timevals (two longs each)
		my $ls = $Config{longsize};
		$rss = unpack($ls == 8 ? 'q' : 'l', substr($ru, 4 * $ls, $ls));
		my @tv = unpack($ls == 8 ? "q4" : "l4", $ru);
		$cpu = $tv[0] + $tv[1] / 1e6 + $tv[2] + $tv[3] / 1e6;
	}
	my $wall = time - $t0;
	if ($use_gnu) {
		open my $fh, '<', $rssfile or die "timeit.pl: $rssfile: $!\n";
		while (<$fh>) {
			$rss = $1 if /Maximum resident set size \(kbytes\):\s*(\d+)/;
			$cpu += $1 if /(?:User|System) time \(seconds\):\s*([0-9.]+)/;
		}
		close $fh;
		unlink $rssfile;
		die "timeit.pl: no peak RSS in $gnu_time output\n"
		    unless defined $rss;
	}
	if ($status != 0) {
		my $how = ($status & 127) ? "signal " . ($status & 127)
		    : "exit status " . ($status >> 8);
		print STDERR "timeit.pl: '@cmd' failed ($how); see $err\n";
		exit 1;
	}
	return ($wall, $rss, $cpu);
}

my (@walls, $maxrss, $mincpu);
for (1 .. $runs) {
	my ($w, $r, $c) = run_once();
	$mincpu = $c if !defined $mincpu || $c < $mincpu;
	push @walls, $w;
	$maxrss = $r if !defined $maxrss || $r > $maxrss;
}
@walls = sort { $a <=> $b } @walls;
my $median = @walls % 2 ? $walls[$#walls / 2]
    : ($walls[@walls / 2 - 1] + $walls[@walls / 2]) / 2;
printf "%.4f %.4f %d %.3f %s\n", $walls[0], $median, $maxrss, $mincpu,
    $use_gnu ? 'gnu-time' : 'wait4';
