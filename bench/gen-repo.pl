#!/usr/bin/perl
# gen-repo.pl - write a git fast-import stream for the gitsync benchmark.
#
#   bench/gen-repo.pl history FILES COMMITS SEED | git fast-import
#   bench/gen-repo.pl rounds ROUNDS FROM_COMMIT | git fast-import
#
# history: COMMITS commits on refs/heads/main that end with FILES source
# files (plus README and .scaffold/): every commit adds FILES/COMMITS new
# files and edits one line of five older ones, so the history holds about
# 1.5 x FILES blob versions.  The files sit two levels deep,
# src/pNN/mNN/fNNNNN.txt (20 files a folder, 25 folders a package), about
# 1.5 KiB of text each, their lines drawn from a pool of 1,000 generated
# lines.  The first commit also adds three cascades under .scaffold/
# (web, db, ops; `runner: local`, trivial scripts).  The root task of web,
# `build`, prints the time in nanoseconds (`date +%s%N`) before anything
# else, so the first line of its run log says when its script started.
#
# rounds: ROUNDS commits on refs/bench/rounds (outside refs/heads/, so a
# mirror fetch does not see them until refs/heads/main is pointed at one),
# the first one a child of FROM_COMMIT, each changing one line of the run
# script of web/build and nothing else: "echo round N".  Their marks are
# :1 .. :ROUNDS (fast-import --export-marks gives their ids).
#
# The output depends only on the arguments (the generator has its own
# PRNG, the commit dates are fixed).
use strict;
use warnings;

sub usage {
	print STDERR "usage: gen-repo.pl history FILES COMMITS SEED\n"
	    . "       gen-repo.pl rounds ROUNDS FROM_COMMIT\n";
	exit 2;
}

my $T0     = 1700000000;    # date of the first commit; one hour apart
my $AUTHOR = 'Bench <bench@example.com>';

# Park-Miller "minimal standard" generator (48271 variant), as in
# gen-cascade.pl.
my $state = 1;
sub seed { $state = ($_[0] % 2147483646) + 1 }
sub rnd {    # integer in [0, $_[0])
	$state = ($state * 48271) % 2147483647;
	return $state % $_[0];
}

sub data {    # a fast-import data block
	my ($s) = @_;
	return "data " . length($s) . "\n$s\n";
}

sub commit {    # REF MARK WHEN MESSAGE FROM FILEOPS
	my ($ref, $mark, $when, $msg, $from, $ops) = @_;
	my $s = "commit $ref\n";
	$s .= "mark :$mark\n" if defined $mark;
	$s .= "author $AUTHOR $when +0000\ncommitter $AUTHOR $when +0000\n";
	$s .= data($msg);
	$s .= "from $from\n" if defined $from;
	return $s . $ops;
}

sub modify { "M 100644 inline $_[0]\n" . data($_[1]) }

# The cascades.  web/build is the task the rounds change.
sub web_yaml {
	my ($round) = @_;
	return <<"Y";
# web: the benchmark's changed cascade (bench/gen-repo.pl)
version: v1
name: web
runner: local
tasks:
  - name: build
    run: |
      date +%s%N
      echo "round $round"
  - name: test
    depends_on: [build]
    run: echo testing
  - name: package
    depends_on: [test]
    run: echo packaging
  - name: docs
    run: echo docs
Y
}

sub other_yaml {
	my ($name) = @_;
	return <<"Y";
# $name: an unchanged cascade of the benchmark (bench/gen-repo.pl)
version: v1
name: $name
runner: local
tasks:
  - name: prepare
    run: echo preparing $name
  - name: migrate
    depends_on: [prepare]
    run: echo migrating $name
  - name: check
    depends_on: [migrate]
    run: echo checking $name
Y
}

usage() unless @ARGV >= 1;
my $mode = shift @ARGV;

if ($mode eq 'rounds') {
	usage() unless @ARGV == 2 && $ARGV[0] =~ /^[1-9][0-9]*$/
	    && $ARGV[1] =~ /^[0-9a-f]{40}$/;
	my ($rounds, $from) = @ARGV;
	binmode STDOUT;
	for my $r (1 .. $rounds) {
		print commit('refs/bench/rounds', $r, $T0 + 86400 * 365 + $r,
		    "web: round $r\n", $r == 1 ? $from : undef,
		    modify('.scaffold/web.yaml', web_yaml($r)));
	}
	exit 0;
}

usage() unless $mode eq 'history' && @ARGV == 3;
my ($nfiles, $ncommits, $seed) = @ARGV;
usage() unless $nfiles =~ /^[1-9][0-9]*$/ && $ncommits =~ /^[1-9][0-9]*$/
    && $seed =~ /^[0-9]+$/;
if ($ncommits > $nfiles) {
	print STDERR "gen-repo.pl: COMMITS must not exceed FILES\n";
	exit 2;
}

# the line pool
seed($seed);
my @words = map {
	my $w = '';
	$w .= chr(ord('a') + rnd(26)) for 0 .. 2 + rnd(7);
	$w;
} 1 .. 300;
my @ops = ('=', '+=', '->', '==', '!=', '<', '>=', '&&', '||', '+');
my @pool;
for (1 .. 1000) {
	my $indent = "\t" x rnd(4);
	my $n      = 2 + rnd(8);
	my $line   = $indent . $words[ rnd(300) ];
	$line .= ' ' . $ops[ rnd(10) ] . ' ' . $words[ rnd(300) ] for 2 .. $n;
	push @pool, "$line;\n";
}

sub path_of {
	my ($f) = @_;
	return sprintf 'src/p%02d/m%02d/f%05d.txt', int($f / 500),
	    int($f / 20) % 25, $f;
}

# content of file f at version v: its own lines, v-th edit in one of them
sub content {
	my ($f, $v) = @_;
	my $saved = $state;
	seed($seed * 1000003 + $f);
	my $n     = 30 + rnd(31);
	my @lines = map { $pool[ rnd(1000) ] } 1 .. $n;
	$lines[ (7 * $v) % $n ] = "// f$f edit $v\n" if $v;
	$state = $saved;
	return sprintf("// f%05d.txt\n", $f) . join('', @lines);
}

binmode STDOUT;
my @version;    # of each file so far
my $made  = 0;
my $readme = "Synthetic repository of the scaffold gitsync benchmark:\n"
    . "$nfiles files, $ncommits commits (bench/gen-repo.pl $nfiles "
    . "$ncommits $seed).\n";
seed($seed + 7);
for my $c (1 .. $ncommits) {
	my $ops = '';
	if ($c == 1) {
		$ops .= modify('README', $readme);
		$ops .= modify('.scaffold/web.yaml', web_yaml(0));
		$ops .= modify(".scaffold/$_.yaml", other_yaml($_)) for qw(db ops);
	}
	my $upto = int($nfiles * $c / $ncommits);
	my $new  = $upto - $made;
	if ($made) {    # edit five older files
		my %seen;
		for (1 .. 5) {
			my $f = rnd($made);
			next if $seen{$f}++;
			$ops .= modify(path_of($f), content($f, ++$version[$f]));
		}
	}
	for my $f ($made .. $upto - 1) {
		$version[$f] = 0;
		$ops .= modify(path_of($f), content($f, 0));
	}
	$made = $upto;
	print commit('refs/heads/main', undef, $T0 + 3600 * $c,
	    "commit $c: $new new files\n", undef, $ops);
}
