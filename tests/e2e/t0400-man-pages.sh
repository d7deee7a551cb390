#!/bin/sh
# The man pages: docs/scaffold.1 documents exactly the commands,
# subcommands and options that `scaffold --help` and `scaffold CMD --help`
# show (scripts/man-check.sh, which says what is missing where); the three
# pages are clean under mandoc -Tlint; the bash completion made from the
# same --help texts completes commands, subcommands and options.
. "$(dirname "$0")/lib.sh"
[ -z "${SANITIZE:-}" ] ||
	skip_all "the pages and the --help texts are checked in the plain build's pass of make check"
command -v mandoc >/dev/null ||
	skip_all "mandoc is not installed (scripts/install-deps.sh installs it)"
CHECK="$SRC/scripts/man-check.sh"

run sh "$CHECK" "$SCAFFOLD" "$SRC/docs/scaffold.1"
is "$RC:$OUT" "0:" "scaffold.1 and --help agree"

# the check can fail, and says where: an option gone from the page...
grep -v '^\.It Fl \\-check$' "$SRC/docs/scaffold.1" >"$T/scaffold.1"
run sh "$CHECK" "$SCAFFOLD" "$T/scaffold.1"
is "$RC:$OUT" "1:scaffold logs --help shows option --check; scaffold.1 does not document it (an '.It Fl' under '.Ss logs')" \
	"an undocumented option is named, with its command"
# ...a subcommand gone from the SYNOPSIS, a command the program lacks...
sed -e '/^\.Cm token revoke$/d' -e 's/^\.Ss kill$/.Ss kill\n.Bl -tag -width Ds\n.It Fl x , Fl \\-extra\n.El/' \
	-e 's/^\.Sh ENVIRONMENT$/.Ss frob\n.Sh ENVIRONMENT/' \
	"$SRC/docs/scaffold.1" >"$T/scaffold.1"
run sh "$CHECK" "$SCAFFOLD" "$T/scaffold.1"
is "$RC:$OUT" "1:scaffold token --help shows subcommand 'token revoke'; scaffold.1 does not document it (a SYNOPSIS line '.Cm token revoke')
scaffold.1 documents command 'frob'; scaffold --help does not list it
scaffold.1 documents option --extra of 'kill'; scaffold kill --help does not show it
scaffold.1 documents option -x of 'kill'; scaffold kill --help does not show it" \
	"a missing subcommand, an extra command and extra options are named"
# ...and a command or option the program has and the page lacks (a stand-in
# binary whose --help shows one command and one option more)
cat >"$T/scaffold" <<S
#!/bin/sh
if [ "\$1" = --help ]; then
	"$SCAFFOLD" --help | sed 's/^  file .*/&\n  vacuum     compact the database/'
elif [ "\$1" = vacuum ]; then
	printf 'usage: scaffold vacuum [--dry-run]\n\n  -n, --dry-run   say what would go\n'
elif [ "\$1" = status ]; then
	"$SCAFFOLD" "\$@" | sed 's/^  -o, --output.*/&\n      --all          every cascade/'
else
	exec "$SCAFFOLD" "\$@"
fi
S
chmod +x "$T/scaffold"
run sh "$CHECK" "$T/scaffold" "$SRC/docs/scaffold.1"
is "$RC:$OUT" "1:scaffold --help lists command 'vacuum'; scaffold.1 does not document it (a '.Ss vacuum' under COMMANDS)
scaffold status --help shows option --all; scaffold.1 does not document it (an '.It Fl' under '.Ss status')
scaffold vacuum --help shows option --dry-run; scaffold.1 does not document it (an '.It Fl' under '.Ss vacuum')
scaffold vacuum --help shows option -n; scaffold.1 does not document it (an '.It Fl' under '.Ss vacuum')" \
	"a new command and a new option the page lacks are named"

# mandoc -Tlint, style messages included; a cross-reference to a page not
# installed on this machine (our own, before make install) is no fault
for p in scaffold.1 scaffold.yaml.5 scaffold-cascade.5; do
	run mandoc -Tlint -W style "$SRC/docs/$p"
	is "$(printf '%s\n' "$ERR" "$OUT" | grep -v -e 'referenced manual not found' \
		-e 'outdated mandoc.db' -e '^$')" "" "mandoc -Tlint: $p is clean"
done

# the bash completion, from the same table
command -v bash >/dev/null || { done_testing; exit; }
sh "$SRC/scripts/completion.sh" "$SCAFFOLD" >"$T/scaffold.bash"
complete_words() { # WORDS...: what completing the last word offers
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_scaffold; echo "${COMPREPLY[*]}"' - "$T/scaffold.bash" "$@"
}
is "$(complete_words scaffold inp)" "input" "completion: a command"
is "$(complete_words scaffold file '')" "put get ls rm" "completion: subcommands"
is "$(complete_words scaffold logs -d D --ch)" "--check" "completion: an option"
is "$(complete_words scaffold token create --r)" "--role" \
	"completion: an option after a subcommand"
is "$(complete_words scaffold --v)" "--version" "completion: a global option"

done_testing
