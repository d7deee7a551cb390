#!/bin/sh
# help-table.sh SCAFFOLD - the command table of a scaffold binary, read
# from what it prints for --help (cli/main.c's table and each command's
# usage text), one fact a line:
#	global OPTION		an option of scaffold itself
#	command CMD		a command
#	sub CMD SUB		a subcommand (from the usage lines)
#	option CMD OPTION	an option of CMD (-x and --long, each a line)
# The man page test (tests/e2e/t0400-man-pages.sh, scripts/man-check.sh)
# and the bash completion (scripts/completion.sh) are made from it, so
# that both follow the program.
set -eu
export LC_ALL=C
S=$1

commands() {
	"$S" --help | awk '/^Commands:/ { c = 1; next }
		c && /^  [a-z]/ { print $1 }
		c && /^$/ { c = 0 }'
}

"$S" --help | awk 'NR == 1 {
	for (i = 1; i <= NF; i++)
		if ($i ~ /^\[--?[A-Za-z]/) {
			o = $i
			gsub(/\[|\]/, "", o)
			print "global " o
		}
}'
for cmd in $(commands); do
	echo "command $cmd"
	# usage lines: "usage: scaffold CMD SUB ..." and "       scaffold
	# CMD SUB ..."; an option line starts with - within 6 columns (a
	# description's continuation is indented further)
	"$S" "$cmd" --help | awk -v cmd="$cmd" '
	/^(usage: |       )scaffold / {
		sub(/^usage: /, "")
		sub(/^ +/, "")
		if ($2 == cmd && $3 ~ /^[a-z][a-z-]*$/)
			print "sub " cmd " " $3
		next
	}
	/^  +-/ && match($0, /^ +/) && RLENGTH <= 6 {
		n = split($0, w, " ")
		for (i = 1; i <= n; i++) {
			x = w[i]
			more = sub(/,$/, "", x)
			if (x !~ /^--?[A-Za-z0-9]/)
				break
			print "option " cmd " " x
			if (!more)
				break
		}
	}'
done
