#!/bin/sh
# The corpus of invalid cascades: every tests/cases/invalid/NNN-name.yaml
# must make `scaffold validate` print exactly NNN-name.err on stderr (byte
# for byte, run from the top of the source tree so that the paths match),
# nothing on stdout, and exit 1.  Cases named NNN-warn-*.yaml hold only
# warnings: they exit 0 and print the "ok" line on stdout.
#
# To add a case: write the .yaml, then from the top of the tree run
#   ./scaffold validate tests/cases/invalid/NNN-name.yaml 2>tests/cases/invalid/NNN-name.err
# and read the .err: it is the contract.
#
# Also: files over the 16 MiB limit and documents over the node limit,
# generated here rather than committed.
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1

# A crash must not look like "errors found": sanitizers exit 1 by default.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=99"
export ASAN_OPTIONS UBSAN_OPTIONS

# A hang must fail, not stall the suite.
TIMEOUT=
if command -v timeout >/dev/null 2>&1; then
	TIMEOUT="timeout 60"
fi

# validate FILE...: run the binary, leaving $RC and the output in
# $T/stdout and $T/stderr (kept as files: $(...) would drop trailing
# newlines and the comparison must be exact).
validate() {
	$TIMEOUT "$SCAFFOLD" validate "$@" >"$T/stdout" 2>"$T/stderr"
	RC=$?
}

# The contents of a file, trailing newlines included.
contents() {
	cat "$1"
	echo .
}

DIR=tests/cases/invalid
ncases=0
for yaml in "$DIR"/*.yaml; do
	[ -e "$yaml" ] || continue
	ncases=$((ncases + 1))
	name=${yaml#"$DIR"/}
	name=${name%.yaml}
	err=$DIR/$name.err
	case $name in
	*-warn-*) want_rc=0 ;;
	*) want_rc=1 ;;
	esac
	if [ ! -f "$err" ]; then
		_result 1 "$name: has an .err file"
		continue
	fi
	validate "$yaml"
	ok test "$RC" -le 2 "$name: no crash or hang (exit $RC)"
	is "$RC" "$want_rc" "$name: exit status"
	is "$(contents "$T/stderr")" "$(contents "$err")" "$name: diagnostics"
	if [ "$want_rc" -eq 0 ]; then
		is "$(head -c $((${#yaml} + 5)) "$T/stdout")" "$yaml: ok " \
			"$name: reported valid on stdout"
	else
		is "$(contents "$T/stdout")" "." "$name: nothing on stdout"
	fi
done
ok test "$ncases" -ge 60 "the corpus holds $ncases cases (at least 60)"

# Every expectation has its case (a renamed .yaml leaves no stale .err).
orphans=
for err in "$DIR"/*.err; do
	[ -e "$err" ] || continue
	[ -f "${err%.err}.yaml" ] || orphans="$orphans ${err#"$DIR"/}"
done
is "$orphans" "" "every .err file has its .yaml"

# Files larger than 16 MiB are refused before parsing; exactly 16 MiB is
# read.  The filler is a comment so that the file is otherwise valid.
hdr='version: v1
name: big
tasks:
  - name: build
    run: make
# '
limit=16777216
make_file() { # PATH SIZE
	{
		printf '%s' "$hdr"
		head -c $(($2 - ${#hdr} - 1)) /dev/zero | tr '\0' x
		echo
	} >"$1"
}
make_file "$T/limit.yaml" $limit
is "$(wc -c <"$T/limit.yaml" | tr -d ' ')" $limit "the 16 MiB file has the right size"
validate "$T/limit.yaml"
is "$RC:$(cat "$T/stderr")" "0:" "a file of exactly 16 MiB is accepted"
make_file "$T/big.yaml" $((limit + 1))
validate "$T/big.yaml"
is "$RC" 1 "a file over 16 MiB is refused"
is "$(contents "$T/stderr")" "$T/big.yaml: error: '$T/big.yaml' is larger than $limit bytes
1 error, 0 warnings in 1 file
." "a file over 16 MiB: the exact error"

# More than 2,000,000 nodes in 4 MB: a flow list of 2,100,000 items.
{
	printf 'version: v1\nname: nodes\nx: ['
	yes '1,' | head -n 2100000 | tr -d '\n'
	printf '1]\ntasks:\n  - name: build\n    run: make\n'
} >"$T/nodes.yaml"
validate "$T/nodes.yaml"
is "$RC:$(cat "$T/stderr")" "1:$T/nodes.yaml:3:3999993: error: YAML document has more than 2000000 nodes
1 error, 0 warnings in 1 file" "a document over the node limit is refused"

# Cascade names are unique across the files of one run.
printf 'version: v1\nname: same\ntasks:\n  - name: build\n    run: make\n' >"$T/one.yaml"
cp "$T/one.yaml" "$T/two.yaml"
validate "$T/one.yaml" "$T/two.yaml"
is "$RC:$(cat "$T/stdout")" "1:$T/one.yaml: ok (cascade 'same', 1 task)" \
	"two files with one cascade name: the first is valid"
is "$(cat "$T/stderr")" "$T/two.yaml:2:7: error: cascade name 'same' is also used by '$T/one.yaml'
1 error, 0 warnings in 2 files" "two files with one cascade name: the second is refused"

done_testing
