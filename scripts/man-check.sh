#!/bin/sh
# man-check.sh SCAFFOLD PAGE - does the man page PAGE (docs/scaffold.1)
# document exactly the commands, subcommands and options the binary's
# --help texts show?  Prints one line per difference, saying what is
# missing where, and exits 1; silent and 0 when they agree.  -h and
# --help are left out: every command takes them and the page says so
# once.  The page's conventions are at its top.
set -eu
export LC_ALL=C
S=$1
PAGE=$2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/man-check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

sh "$(dirname "$0")/help-table.sh" "$S" |
	grep -v -e ' -h$' -e ' --help$' | sort -u >"$TMP/help"

# the same facts from the mdoc source: ".Ss CMD" under COMMANDS, ".Cm CMD
# SUB" after ".Nm" in SYNOPSIS, ".It Fl x , Fl \-long" in a command's
# subsection or under OPTIONS
awk '
/^\.Sh / { sec = $2; cmd = ""; next }
sec == "SYNOPSIS" && /^\.Nm/ { nm = 1; next }
sec == "SYNOPSIS" && nm && /^\.Cm / && NF == 3 { print "sub " $2 " " $3 }
sec == "SYNOPSIS" { nm = 0; next }
sec == "COMMANDS" && /^\.Ss / { cmd = $2; print "command " cmd; next }
/^\.It / && ((sec == "COMMANDS" && cmd != "") || sec == "OPTIONS") {
	for (i = 2; i < NF; i++)
		if ($i == "Fl") {
			o = "-" $(i + 1)
			gsub(/\\/, "", o)
			print (sec == "OPTIONS" ? "global " : "option " cmd " ") o
		}
}' "$PAGE" | grep -v -e ' -h$' -e ' --help$' | sort -u >"$TMP/page"

page=$(basename "$PAGE")
comm -23 "$TMP/help" "$TMP/page" | while read -r kind a b c; do
	case $kind in
	global) echo "scaffold --help shows option $a; $page does not document it (an '.It Fl' under OPTIONS)" ;;
	command) echo "scaffold --help lists command '$a'; $page does not document it (a '.Ss $a' under COMMANDS)" ;;
	sub) echo "scaffold $a --help shows subcommand '$a $b'; $page does not document it (a SYNOPSIS line '.Cm $a $b')" ;;
	option) echo "scaffold $a --help shows option $b; $page does not document it (an '.It Fl' under '.Ss $a')" ;;
	esac
done >"$TMP/out"
comm -13 "$TMP/help" "$TMP/page" | while read -r kind a b c; do
	case $kind in
	global) echo "$page documents option $a of scaffold; scaffold --help does not show it" ;;
	command) echo "$page documents command '$a'; scaffold --help does not list it" ;;
	sub) echo "$page documents subcommand '$a $b'; scaffold $a --help does not show it" ;;
	option) echo "$page documents option $b of '$a'; scaffold $a --help does not show it" ;;
	esac
done >>"$TMP/out"
cat "$TMP/out"
[ ! -s "$TMP/out" ]
