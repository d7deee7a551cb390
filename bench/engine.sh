#!/bin/sh
# engine.sh - scaffold's own cost per task with the local runner (issue 3,
# item 7).  Run by run.sh (make bench) after the offline benchmarks, or
# alone: ./bench/engine.sh.  See bench/README.md.
#
# N no-op tasks (`run: "true"`, runner local), in two cascades written by
# bench/gen-noop.pl to bench/out/: chain.yaml (each task depends on the
# previous one) and wide.yaml (N independent tasks).  Measured in turn, in
# rounds, so that all of them see the same machine:
#   shell     sh -c 'for i in $(seq N); do sh -c true; done'  (the baseline)
#   chain     scaffold apply -q -d FRESH chain.yaml
#   re-apply  scaffold apply -q -d DIR chain.yaml, DIR the data dir the
#             chain run just left: the same revision again, nothing runs
#   wide -j1  scaffold apply -q -d FRESH -j 1 wide.yaml
#   wide -j4  scaffold apply -q -d FRESH -j 4 wide.yaml
# FRESH is an empty data dir: before each run, outside the timing, the last
# one is moved aside (timeit.pl --fresh).  What was moved aside, and
# bench/out/engine of the previous invocation, are removed only once the
# timing is over: on ext4 without a journal, inodes freed just before a run
# make its own file creations slower (see bench/README.md).
# For each: best and median wall time of the rounds, CPU time (user+sys,
# the task processes included) of the cheapest round, the largest peak RSS,
# the wall time per task, scaffold's overhead per task against the shell
# loop, (T - T_shell) / N, and the ratio T / T_shell.
#
# Checks: every apply exits 0 and reports all N tasks in state success after
# exactly one run; the re-apply starts no run.  There is no target: exit 1
# only when a command or a check fails.
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_ENGINE_TASKS (1000), BENCH_ENGINE_RUNS (3 rounds).
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."

SCAFFOLD=${SCAFFOLD:-./scaffold}
N=${BENCH_ENGINE_TASKS:-1000}
RUNS=${BENCH_ENGINE_RUNS:-3}
OUT=bench/out
WORK=$OUT/engine
CHAIN=$OUT/chain.yaml
WIDE=$OUT/wide.yaml

die() {
	echo "bench: engine: $*" >&2
	exit 1
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
command -v perl >/dev/null 2>&1 || die "perl is required"
case $N in
'' | *[!0-9]* | 0*) die "BENCH_ENGINE_TASKS must be a positive number" ;;
esac
case $RUNS in
'' | *[!0-9]* | 0*) die "BENCH_ENGINE_RUNS must be a positive number" ;;
esac

build_note=""
if grep -q __asan_init "$SCAFFOLD" 2>/dev/null ||
	grep -q __ubsan_handle "$SCAFFOLD" 2>/dev/null; then
	build_note=" (SANITIZER BUILD: figures not representative)"
fi
if [ -x /usr/bin/time ]; then
	rss_method="GNU time (/usr/bin/time -v)"
else
	rss_method="wait4(2) rusage via perl (package 'time' not installed)"
fi

# the data dirs of an earlier invocation go when this one is timed
if [ -e "$WORK" ]; then
	mv "$WORK" "$WORK.old-$$" || die "cannot move $WORK aside"
fi
mkdir -p "$WORK"
perl bench/gen-noop.pl chain "$N" >"$CHAIN"
perl bench/gen-noop.pl wide "$N" >"$WIDE"
for f in "$CHAIN" "$WIDE"; do
	"$SCAFFOLD" validate -q "$f" 2>"$WORK/validate.err" ||
		die "$f is not valid: $(head -n 5 "$WORK/validate.err")"
done

# The last run's output: all N tasks success, each run exactly once.
check_status() { # NAME STDOUT_FILE
	ok=$(awk -v n="$N" '
		$1 ~ /^t[0-9]+$/ { tasks++; if ($2 == "success" && $3 == 1) ok++ }
		END { print (tasks == n && ok == n) ? "yes" : "no" }' "$2")
	[ "$ok" = yes ] ||
		die "$1: not all $N tasks ended success after one run (see $2)"
}

# One timed run of a benchmark, appended to $WORK/NAME.times.
measure() { # NAME FRESH_DIR|- CMD...
	name=$1 fresh=$2
	shift 2
	if [ "$fresh" = - ]; then
		r=$(perl bench/timeit.pl 1 "$WORK/$name.out" "$WORK/$name.err" \
			"$@") || die "$name failed (see $WORK/$name.err)"
	else
		r=$(perl bench/timeit.pl --fresh "$fresh" 1 "$WORK/$name.out" \
			"$WORK/$name.err" "$@") ||
			die "$name failed (see $WORK/$name.err)"
	fi
	echo "$r" >>"$WORK/$name.times"
}

# the kernel's part of the sandbox: the same loop, each sh in new PID,
# mount, IPC and UTS namespaces with a /proc of its own (util-linux's
# unshare; as root, or -r makes a user namespace)
if [ "$(id -u)" = 0 ]; then
	NS="unshare --pid --mount --ipc --uts --fork --mount-proc"
else
	NS="unshare -r --pid --mount --ipc --uts --fork --mount-proc"
fi
$NS true 2>/dev/null || die "cannot make namespaces: $NS true"

for b in shell sandbox chain reapply wide1 wide4; do
	: >"$WORK/$b.times"
done
round=0
while [ "$round" -lt "$RUNS" ]; do
	round=$((round + 1))
	measure shell - sh -c "for i in \$(seq $N); do sh -c true; done"
	measure sandbox - sh -c "for i in \$(seq $N); do $NS sh -c true; done"
	measure chain "$WORK/chain.d" "$SCAFFOLD" apply -q -d "$WORK/chain.d" \
		"$CHAIN"
	check_status chain "$WORK/chain.out"
	measure reapply - "$SCAFFOLD" apply -q -d "$WORK/chain.d" "$CHAIN"
	check_status re-apply "$WORK/reapply.out"
	nlogs=$(find "$WORK/chain.d/logs" -type f | wc -l)
	[ "$nlogs" -eq "$N" ] ||
		die "re-apply: $nlogs run logs in $WORK/chain.d, expected $N"
	measure wide1 "$WORK/wide1.d" "$SCAFFOLD" apply -q -d "$WORK/wide1.d" \
		-j 1 "$WIDE"
	check_status "wide -j1" "$WORK/wide1.out"
	measure wide4 "$WORK/wide4.d" "$SCAFFOLD" apply -q -d "$WORK/wide4.d" \
		-j 4 "$WIDE"
	check_status "wide -j4" "$WORK/wide4.out"
done

# BEST MEDIAN CPU RSS_KB of a benchmark's rounds
summary() { # NAME
	sort -n "$WORK/$1.times" | awk '
		{ w[NR] = $1; if ($3 > rss) rss = $3
		  if (NR == 1 || $4 < cpu) cpu = $4 }
		END { m = NR % 2 ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2
		      print w[1], m, cpu, rss }'
}

# shellcheck disable=SC2046
set -- $(summary shell)
shell_s=$1

row() { # LABEL NAME BASELINE(yes|no)
	# shellcheck disable=SC2046
	set -- "$1" "$3" $(summary "$2")
	awk -v label="$1" -v base="$2" -v best="$3" -v med="$4" -v cpu="$5" \
		-v kb="$6" -v sh="$shell_s" -v n="$N" 'BEGIN {
		printf "%-9s %8.3f %9.3f %8.3f %8.1f %9.3f", label, best, med,
			cpu, kb / 1024, best / n * 1000
		if (base == "yes")
			printf " %11.3f %8.2f\n", (best - sh) / n * 1000,
				best / sh
		else
			printf " %11s %8s\n", "-", "-"
	}'
}

# the timing is over: now the old data dirs can go
rm -rf "$WORK".old-* "$WORK"/*.old-*

cores=$(nproc 2>/dev/null || echo '?')
echo "scaffold engine benchmark, $(date -u +%Y-%m-%d), $cores cores," \
	"$(uname -m)$build_note"
echo "tasks:    $N no-op tasks (run: \"true\", local runner): $CHAIN" \
	"(each after the previous), $WIDE (independent)"
echo "runs:     the five in turn, $RUNS times: BEST and MEDIAN wall time," \
	"CPU (user+sys, tasks included) of the cheapest, peak RSS the" \
	"largest, by $rss_method"
echo "checked:  each apply exits 0, all $N tasks success after one run;" \
	"the re-apply starts none"
echo
printf '%-9s %8s %9s %8s %8s %9s %11s %8s\n' BENCHMARK 'BEST s' \
	'MEDIAN s' 'CPU s' 'RSS MiB' 'ms/TASK' 'OVERHEAD ms' 'x SHELL'
row shell shell no
row sandbox sandbox yes
row chain chain yes
row "wide -j1" wide1 yes
row "wide -j4" wide4 yes
row re-apply reapply no
echo
echo "shell     sh -c 'for i in \$(seq $N); do sh -c true; done'"
echo "sandbox   the same loop, each under $NS"
echo "chain     scaffold apply -q -d FRESH $CHAIN"
echo "wide -j1  scaffold apply -q -d FRESH -j 1 $WIDE"
echo "wide -j4  scaffold apply -q -d FRESH -j 4 $WIDE"
echo "re-apply  scaffold apply -q -d DIR $CHAIN  (DIR: chain's data dir;" \
	"nothing runs)"
echo "OVERHEAD ms = (BEST - BEST shell) / $N, per task; x SHELL = BEST /" \
	"BEST shell"
