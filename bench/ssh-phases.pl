#!/usr/bin/perl
# ssh-phases.pl - where the time of a chain of ssh tasks goes, from an
# strace of `scaffold apply` (bench/ssh.sh's chain, one host).
#
#   strace -f -ttt -qq --seccomp-bpf -e trace=sendto,clone3,exit \
#       -o TRACE scaffold apply -q -c CONF -d FRESH chain.yaml
#   bench/ssh-phases.pl TRACE
#
# The ssh runner's threads, as runner/ssh.c and cli/exec.c make them: the
# main thread (the first pid of the trace) claims a task and, in
# ssh_start(), sends the SFTP requests that make the run dir and upload
# the files, then the channel open and exec of launch.sh; then it creates
# the run's thread (clone3), which waits (ssh_wait) for the channel to
# close, collects what the run left, then removes the run dir through a
# second channel (rm -rf) and exits.  The host's I/O thread reads the
# run's channel (and sends window adjustments and the like).  So, per
# task k (slot thread S_k, started at C_k, the main thread's clone3):
#
#   prepare   main thread: its first sendto after C_{k-1} to its last
#             sendto before C_k (the SFTP round trips, the channel open and
#             the exec)
#   run       from that last sendto to S_k's first sendto: launch.sh on
#             the host until the channel closes, and the wake-up of S_k
#   remove    S_k's first sendto to its exit: the collection (an SFTP
#             lstat of run/.display) and the rm -rf channel
#   engine    S_k's exit to the main thread's first sendto for task k+1:
#             reaping the run, recording its end, claiming the next task
#             (SQLite), its log file, the request
#
# Prints the median and mean of each phase in ms and the number of sendto
# calls of each thread per task (about one per SSH packet: an SFTP request,
# a channel request).  The first and the last task are left out (the
# connection, the end of the apply).  strace slows every traced system
# call down (about 0.02-0.1 ms each here), so the phases are a little
# longer than without it: compare them with each other.
use strict;
use warnings;

die "usage: ssh-phases.pl STRACE_OUTPUT\n" unless @ARGV == 1;
open my $fh, '<', $ARGV[0] or die "ssh-phases.pl: $ARGV[0]: $!\n";

my (@ev, $main, %span);
while (<$fh>) {
	my ($pid, $t, $rest) = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/ or next;
	$main //= $pid;
	next if $rest =~ /^<\.\.\. /;    # a resumed call: counted at its start
	my ($call) = $rest =~ /^(\w+)\(/ or next;
	push @ev, [$pid, $t, $call];
	$span{$pid}[0] //= $t;
	$span{$pid}[1] = $t;
}
close $fh;
# the I/O thread: of the other threads, the one that lives longest (the
# run threads live one task each)
sub life { my $s = $span{ $_[0] }; return $s->[1] - $s->[0] }
my ($io) = sort { life($b) <=> life($a) } grep { $_ != $main } keys %span;
$io //= -1;

my (@tasks, %slot_of, $cur);
for my $e (@ev) {
	my ($pid, $t, $call) = @$e;
	if ($pid == $main) {
		if ($call eq 'sendto') {
			if (!$cur || $cur->{clone}) {
				$cur = { first => $t, sends => 0 };
				push @tasks, $cur;
			}
			$cur->{last} = $t;
			$cur->{sends}++;
		} elsif ($call eq 'clone3' && $cur && !$cur->{clone}) {
			$cur->{clone} = $t;
		}
	} elsif ($pid == $io) {
		$cur->{io_sends}++ if $cur && $call eq 'sendto';
	} else {
		# a run thread: it belongs to the last task started before it
		my $s = $slot_of{$pid} //= $cur;
		next unless $s;
		$s->{slot} = $pid;
		if ($call eq 'sendto') {
			$s->{rm_first} //= $t;
			$s->{slot_sends}++;
		} elsif ($call eq 'exit') {
			$s->{exit} = $t;
		}
	}
}

my (%ph, %cnt);
for my $k (1 .. $#tasks - 1) {
	my ($a, $b) = @tasks[$k, $k + 1];
	next unless $a->{slot} && defined $a->{rm_first} && $a->{exit};
	push @{ $ph{prepare} }, ($a->{last} - $a->{first}) * 1000;
	push @{ $ph{run} },     ($a->{rm_first} - $a->{last}) * 1000;
	push @{ $ph{remove} },  ($a->{exit} - $a->{rm_first}) * 1000;
	push @{ $ph{engine} },  ($b->{first} - $a->{exit}) * 1000;
	push @{ $ph{total} },   ($b->{first} - $a->{first}) * 1000;
	push @{ $cnt{main} }, $a->{sends};
	push @{ $cnt{slot} }, $a->{slot_sends} // 0;
	push @{ $cnt{io} },   $a->{io_sends} // 0;
}
die "ssh-phases.pl: no complete task in $ARGV[0]\n" unless $ph{total};

sub median {
	my @v = sort { $a <=> $b } @_;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}
sub mean { my $s = 0; $s += $_ for @_; return $s / @_ }

my $n = @{ $ph{total} };
printf "tasks: %d (of %d; the first and last left out)\n", $n,
    scalar @tasks;
printf "%-8s %9s %9s %7s\n", 'PHASE', 'MEDIAN ms', 'MEAN ms', 'SHARE';
my $tot = mean(@{ $ph{total} });
for my $p (qw(prepare run remove engine total)) {
	my $m = mean(@{ $ph{$p} });
	printf "%-8s %9.2f %9.2f %6.1f%%\n", $p, median(@{ $ph{$p} }), $m,
	    100 * $m / $tot;
}
printf "sendto per task: main thread %.1f (prepare), run thread %.1f " .
    "(remove), other threads %.1f\n", mean(@{ $cnt{main} }),
    mean(@{ $cnt{slot} }), mean(@{ $cnt{io} });
