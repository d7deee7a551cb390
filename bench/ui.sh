#!/bin/sh
# ui.sh - the status page of a 1,000-task cascade (issue 8, item 4): how
# long scaffold serve takes to answer /c/REPO/CASCADE, and how big the page
# is.  Run by run.sh (make bench; BENCH_UI=0 skips it), or alone:
# ./bench/ui.sh.  See bench/README.md, "Status pages".
#
# The cascade is bench/gen-cascade.pl's (N tasks, a random DAG of about
# three parents each, the local runner; its few auto_execute: false lines
# dropped and its input without a value given one, so that every task
# runs) in a git repository that a real scaffold serve mirrors; a second
# commit edits the run script of task N/10, so the page's plan has a
# changed task and its many descendants (813 of 1,000).  Once every task has run, the pages are
# fetched with curl, ROUNDS times each, a new connection each time (as a
# browser that follows a commit status link): the cascade page, the
# cascade page at the first revision (?rev=), the index, one run page.
# For each: the median and best time to the first byte (the server builds
# the whole page before it sends it, so this is the server's time, plus a
# loopback round trip) and to the last byte, the size, and the size
# gzip -6 would send.  Checks: every answer is 200, the cascade page is
# well-formed (xmllint, when installed) and has a row per task.  No
# target: exit 1 only when a command or a check fails.
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_UI_TASKS (1000), BENCH_UI_RUNS (15 rounds), BENCH_SEED (1),
# BENCH_UI_CHANGED (the edited task's index, default BENCH_UI_TASKS/10).
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."

SCAFFOLD=${SCAFFOLD:-./scaffold}
N=${BENCH_UI_TASKS:-1000}
RUNS=${BENCH_UI_RUNS:-15}
SEED=${BENCH_SEED:-1}
CHANGED=${BENCH_UI_CHANGED:-$((N / 10))}
WORK=$PWD/bench/out/ui

die() {
	echo "bench: ui: $*" >&2
	exit 1
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
for c in perl git curl gzip; do
	command -v $c >/dev/null 2>&1 || die "$c is required"
done
case $N in '' | *[!0-9]* | 0*) die "BENCH_UI_TASKS must be a positive number" ;; esac
case $RUNS in '' | *[!0-9]* | 0*) die "BENCH_UI_RUNS must be a positive number" ;; esac

rm -rf "$WORK"
mkdir -p "$WORK/work/.scaffold"
g() {
	GIT_CONFIG_NOSYSTEM=1 HOME="$WORK" GIT_AUTHOR_NAME=bench \
		GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench \
		GIT_COMMITTER_EMAIL=bench@example.com git -C "$WORK/work" "$@"
}
git init -q --bare -b main "$WORK/repo.git"
g init -q -b main
# every task runs by itself, and can (API_TOKEN gets a value), so that the
# page has a run for every task
gen() {
	perl bench/gen-cascade.pl "$N" "$SEED" "$@" | sed -e '/auto_execute: false/d' \
		-e 's/^\(    description: benchmark input API_TOKEN\)$/\1\n    default: "t"/'
}
gen >"$WORK/work/.scaffold/bench.yaml"
g add -A
g commit -q -m "bench: $N tasks"
FIRST=$(g rev-parse HEAD)
g push -q "$WORK/repo.git" HEAD:main

# full: the run page with its log, as measured before public_status had modes
cat >"$WORK/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1s
public_status: full
max_parallel: 4
local: {user: nobody}
repos:
  - name: bench
    url: $WORK/repo.git
    branch: main
    runners: [local]
Y
"$SCAFFOLD" serve --config "$WORK/scaffold.yaml" 2>"$WORK/serve.log" &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null' EXIT INT TERM

# wait_settled SECONDS: until no task runs or waits, twice in a row
busy() {
	"$SCAFFOLD" status -d "$WORK/data" bench 2>/dev/null |
		awk 'NR > 2 && ($2 == "running" || $2 == "waiting") { n++ }
		     END { print (NR > 2 ? n + 0 : "none") }'
}
wait_settled() {
	_i=0
	_quiet=0
	while [ $_i -lt $(($1 * 2)) ]; do
		if [ "$(busy)" = 0 ]; then
			_quiet=$((_quiet + 1))
			[ $_quiet -ge 2 ] && return 0
		else
			_quiet=0
		fi
		sleep 0.5
		_i=$((_i + 1))
	done
	return 1
}
i=0
until grep -q "port [0-9]" "$WORK/serve.log"; do
	i=$((i + 1))
	[ $i -lt 100 ] || die "serve did not start: $(tail -3 "$WORK/serve.log")"
	sleep 0.1
done
PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$WORK/serve.log")
H="http://127.0.0.1:$PORT"
wait_settled 300 || die "the first revision's tasks did not settle"

# the second revision: one task's run script edited
gen "$CHANGED" >"$WORK/work/.scaffold/bench.yaml"
g commit -q -a -m "bench: edit t$(printf '%05d' "$CHANGED")"
g push -q "$WORK/repo.git" HEAD:main
SECOND=$(g rev-parse HEAD)
i=0
until "$SCAFFOLD" status -d "$WORK/data" bench 2>/dev/null | grep -q "$SECOND"; do
	i=$((i + 1))
	[ $i -lt 300 ] || die "the second revision was not applied"
	sleep 0.1
done
wait_settled 300 || die "the second revision's tasks did not settle"
STATES=$("$SCAFFOLD" status -d "$WORK/data" bench |
	awk 'NR > 2 { n[$2]++ } END { for (s in n) printf "%d %s, ", n[s], s }' |
	sed 's/, $//')
RUN=$("$SCAFFOLD" status -d "$WORK/data" bench | awk 'NR > 2 && $4 ~ /^[0-9]+$/ { r = $4 } END { print r }')

# measure NAME PATH: ROUNDS fetches; prints the row, keeps the last answer
measure() {
	: >"$WORK/$1.times"
	_i=0
	while [ $_i -lt "$RUNS" ]; do
		curl -s -o "$WORK/$1.html" -w '%{http_code} %{time_starttransfer} %{time_total} %{size_download}\n' \
			"$H$2" >>"$WORK/$1.times"
		_i=$((_i + 1))
	done
	awk '$1 != 200 { bad = 1 } END { exit bad }' "$WORK/$1.times" ||
		die "$2 did not answer 200: $(sort -u "$WORK/$1.times" | head -3)"
	_gz=$(gzip -6 -c "$WORK/$1.html" | wc -c)
	sort -n -k2 "$WORK/$1.times" | awk -v name="$1" -v gz="$_gz" '
		{ ttfb[NR] = $2 * 1000; size = $4 }
		END {
			printf "%-14s %9.1f %9.1f", name, ttfb[int((NR + 1) / 2)], ttfb[1]
		}'
	sort -n -k3 "$WORK/$1.times" | awk -v gz="$_gz" '
		{ total[NR] = $3 * 1000; size = $4 }
		END {
			printf " %9.1f %9.1f %10d %9d\n", total[int((NR + 1) / 2)],
			    total[1], size, gz
		}'
}

echo "status pages of a $N-task cascade ($STATES), $RUNS fetches each, a"
echo "connection each; times in ms: first byte (server) and last byte"
printf '%-14s %9s %9s %9s %9s %10s %9s\n' PAGE 'TTFB MED' 'TTFB MIN' \
	'TOTAL MED' 'TOTAL MIN' BYTES GZIP
measure cascade /c/bench/bench
measure cascade-rev "/c/bench/bench?rev=$FIRST"
measure index /
measure run "/r/$RUN"

rows=$(grep -c '<tr id="task-' "$WORK/cascade.html" || true)
[ "$rows" = "$N" ] || die "the cascade page has $rows task rows, not $N"
grep -q 'id="plan"' "$WORK/cascade.html" || die "the cascade page has no plan"
if command -v xmllint >/dev/null 2>&1; then
	xmllint --noout "$WORK/cascade.html" || die "the cascade page is not well-formed"
fi
echo "checks: $N task rows, a plan, well-formed; pages in $WORK"
