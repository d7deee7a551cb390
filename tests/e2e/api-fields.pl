#!/usr/bin/perl
# api-fields.pl DOC SECTION [PATH] < JSON: compare the fields docs/api.md
# lists for SECTION (the table under "### SECTION", or, for a section
# "Other answers/ANSWER", the rows of that answer) with the keys of the
# JSON object on stdin (at PATH: keys and array indexes joined by '.').
# Prints "ok", or a line per difference: "undocumented: KEY" for a key
# sent but not listed, "missing: KEY" for a listed field not sent (a field
# whose description starts with "only" may be missing).
use strict;
use warnings;
use JSON::PP;

my ($doc, $section, $path) = @ARGV;
open(my $fh, '<', $doc) or die "cannot read $doc: $!\n";
my ($in, $answer, %fields) = (0, '');
my ($head, $sub) = $section =~ m{^(Other answers)/(.*)$} ? ($1, $2) : ($section, undef);
while (my $line = <$fh>) {
	if ($line =~ /^### (.*?)\s*$/) {
		$in = $1 eq $head;
		next;
	}
	last if $in && $line =~ /^## /;
	next unless $in && $line =~ /^\|/;
	my @c = map { s/^\s+|\s+$//gr } split /\|/, $line;
	shift @c;
	if (defined $sub) {
		$answer = $c[0] =~ s/`//gr =~ s/\s*\(.*$//r if $c[0] ne '';
		next unless $answer eq $sub;
		shift @c;
	}
	next unless $c[0] =~ /^`([a-z0-9_]+)`$/;
	my $name = $1;
	$fields{$name} = ($c[2] // '') =~ /^only\b/ ? 'optional' : 'required';
}
die "no fields for '$section' in $doc\n" unless %fields;
local $/;
my $v = JSON::PP->new->decode(<STDIN>);
for my $k (split /\./, $path // '') {
	$v = ref $v eq 'ARRAY' ? $v->[$k] : $v->{$k};
}
die "no object at '$path'\n" unless ref $v eq 'HASH';
my @out;
push @out, "undocumented: $_" for grep { !exists $fields{$_} } sort keys %$v;
push @out, "missing: $_"
    for grep { $fields{$_} eq 'required' && !exists $v->{$_} } sort keys %fields;
print @out ? join("\n", @out) . "\n" : "ok\n";
