#!/usr/bin/perl
# check-plan.pl - check `scaffold plan -o json` against an independent count.
#
#   bench/check-plan.pl CASCADE.yaml CHANGED_TASK PLAN.json
#   bench/check-plan.pl --stats CASCADE.yaml
#
# Reads the task names and depends_on lists of a cascade written by
# gen-cascade.pl (a line-oriented reader for that generator's layout, not a
# general YAML parser), computes CHANGED_TASK plus all its descendants
# (through success, error and always dependencies alike) and compares that
# set with the plan's "reset" list, and checks that "changed" is exactly
# CHANGED_TASK and nothing was added or removed.  Prints one line
# "reset N" on success; exit 1 with the differences otherwise.
#
# With --stats, prints "tasks N edges E stores S loads L lines X bytes B"
# for the cascade instead.
use strict;
use warnings;
use JSON::PP;

sub read_dag {
	my ($file) = @_;
	my (@names, %deps, %idx, $cur, $in_deps, $in_tasks);
	my ($stores, $loads, $lines) = (0, 0, 0);
	my $add = sub {
		my ($list) = @_;
		for my $d (split /\s*,\s*/, $list) {
			$d =~ s/^\s+|\s+$//g;
			push @{ $deps{$cur} }, $d if length $d;
		}
	};
	open my $fh, '<', $file or die "check-plan.pl: $file: $!\n";
	while (my $l = <$fh>) {
		$lines++;
		if ($l =~ /^tasks:\s*$/) {
			$in_tasks = 1;
			next;
		}
		next unless $in_tasks;
		if ($l =~ /^  - name:\s*(\S+)\s*$/) {
			$cur = $1;
			die "check-plan.pl: $file:$.: duplicate task $cur\n"
			    if exists $idx{$cur};
			$idx{$cur} = scalar @names;
			push @names, $cur;
			$deps{$cur} = [];
			$in_deps = 0;
		} elsif ($l =~ /^    depends_on:\s*\[(.*)\]\s*$/) {
			$add->($1);
			$in_deps = 0;
		} elsif ($l =~ /^    depends_on:\s*$/) {
			$in_deps = 1;
		} elsif ($in_deps && $l =~ /^      (success|error|always):\s*\[(.*)\]\s*$/) {
			$add->($2);
		} elsif ($l =~ /^    (\w+):/) {
			$in_deps = 0;
			$stores++ if $1 eq 'store';
			$loads++  if $1 eq 'load';
		}
	}
	close $fh;
	for my $t (@names) {
		for my $d (@{ $deps{$t} }) {
			die "check-plan.pl: $file: task $t depends on unknown $d\n"
			    unless exists $idx{$d};
		}
	}
	return {
		names => \@names, deps => \%deps, stores => $stores,
		loads => $loads, lines => $lines, bytes => -s $file,
	};
}

if (@ARGV == 2 && $ARGV[0] eq '--stats') {
	my $g = read_dag($ARGV[1]);
	my $edges = 0;
	$edges += @{ $g->{deps}{$_} } for @{ $g->{names} };
	printf "tasks %d edges %d stores %d loads %d lines %d bytes %d\n",
	    scalar @{ $g->{names} }, $edges, $g->{stores}, $g->{loads},
	    $g->{lines}, $g->{bytes};
	exit 0;
}

die "usage: check-plan.pl CASCADE.yaml CHANGED_TASK PLAN.json\n"
    . "       check-plan.pl --stats CASCADE.yaml\n" unless @ARGV == 3;
my ($file, $changed, $planfile) = @ARGV;
my $g = read_dag($file);

# children lists, then a breadth-first walk down from the changed task
my %children;
for my $t (@{ $g->{names} }) {
	push @{ $children{$_} }, $t for @{ $g->{deps}{$t} };
}
die "check-plan.pl: no task $changed in $file\n"
    unless exists $g->{deps}{$changed};
my %expect = ($changed => 1);
my @q = ($changed);
while (@q) {
	my $v = shift @q;
	for my $w (@{ $children{$v} || [] }) {
		next if $expect{$w}++;
		push @q, $w;
	}
}

my $json = do {
	local $/;
	open my $fh, '<', $planfile or die "check-plan.pl: $planfile: $!\n";
	<$fh>;
};
my $plan = eval { decode_json($json) }
    or die "check-plan.pl: $planfile is not JSON: $@\n";

my @bad;
my @changed = @{ $plan->{changed} || [] };
push @bad, "plan 'changed' is [@changed], expected [$changed]"
    unless @changed == 1 && $changed[0] eq $changed;
for my $k (qw(added removed)) {
	push @bad, "plan '$k' is not empty: [@{ $plan->{$k} }]"
	    if @{ $plan->{$k} || [] };
}
my %got = map { $_ => 1 } @{ $plan->{reset} || [] };
my @missing = grep { !$got{$_} } sort keys %expect;
my @extra   = grep { !$expect{$_} } sort keys %got;
push @bad, sprintf("plan resets %d tasks, expected %d", scalar keys %got,
    scalar keys %expect) if keys %got != keys %expect;
push @bad, sprintf("%d expected tasks missing from 'reset', e.g. %s",
    scalar @missing, join(" ", @missing[0 .. ($#missing < 4 ? $#missing : 4)]))
    if @missing;
push @bad, sprintf("%d unexpected tasks in 'reset', e.g. %s",
    scalar @extra, join(" ", @extra[0 .. ($#extra < 4 ? $#extra : 4)]))
    if @extra;
if (@bad) {
	print STDERR "check-plan.pl: $_\n" for @bad;
	exit 1;
}
printf "reset %d\n", scalar keys %expect;
