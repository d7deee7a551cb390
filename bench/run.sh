#!/bin/sh
# run.sh - scaffold's offline benchmarks (make bench).  See bench/README.md.
#
# Generates a 10,000-task cascade and a copy with one task's run script
# changed (bench/out/, not versioned), then measures
#   validate  scaffold validate big.yaml
#   plan      scaffold plan -o json big.yaml big-changed.yaml
# wall time (best of 5 runs) and peak RSS, prints a table, and checks the
# targets: each under 1 s and under 100 MiB.  The plan's reset set is
# checked against the changed task's descendants computed independently
# (bench/check-plan.pl).  Then the engine benchmark, bench/engine.sh:
# scaffold apply on 1,000 no-op tasks beside a shell loop running as many
# `sh -c true` (no target; its own checks).  Then bench/gitsync.sh: the
# clone and fetch of a 20,000-file repository beside git, and the time
# from a push to its first task in `scaffold serve` (no target; about two
# minutes; needs git).  Then bench/webhook.sh: forge webhook requests per
# second of `scaffold serve` beside the `webhook` tool under wrk, and the
# daemon's idle memory (no target; 2.5 minutes; BENCH_WEBHOOK=0
# skips it).  Exit 1 if a target is missed or a check fails.
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_TASKS (10000), BENCH_SEED (1), BENCH_CHANGED (index of the changed
# task, default BENCH_TASKS/2), BENCH_RUNS (5), BENCH_MAX_S (1.0),
# BENCH_MAX_KB (102400); for engine.sh BENCH_ENGINE_TASKS (1000),
# BENCH_ENGINE_RUNS (3), and BENCH_ENGINE=0 to skip it; BENCH_GITSYNC=0
# skips gitsync.sh, BENCH_DOCKER=0 docker.sh, BENCH_SSH=0 ssh.sh,
# BENCH_PRPLAN=0 prplan.sh (their settings: bench/README.md).
set -eu

# a relative SCAFFOLD is relative to where run.sh was started
case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."

SCAFFOLD=${SCAFFOLD:-./scaffold}
N=${BENCH_TASKS:-10000}
SEED=${BENCH_SEED:-1}
CHANGED=${BENCH_CHANGED:-$((N / 2))}
RUNS=${BENCH_RUNS:-5}
MAX_S=${BENCH_MAX_S:-1.0}
MAX_KB=${BENCH_MAX_KB:-102400}
OUT=bench/out
BIG=$OUT/big.yaml
CHG=$OUT/big-changed.yaml

die() {
	echo "bench: $*" >&2
	exit 1
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
command -v perl >/dev/null 2>&1 || die "perl is required"
mkdir -p "$OUT"

# A sanitizer build (make SANITIZE=...) is several times slower and bigger:
# its figures say nothing about the targets.
build_note=""
if grep -q __asan_init "$SCAFFOLD" 2>/dev/null ||
	grep -q __ubsan_handle "$SCAFFOLD" 2>/dev/null; then
	build_note=" (SANITIZER BUILD: figures not representative)"
	echo "bench: warning: $SCAFFOLD is a sanitizer build; rebuild" \
		"it with plain 'make' for meaningful figures" >&2
fi

if [ -x /usr/bin/time ]; then
	rss_method="GNU time (/usr/bin/time -v)"
else
	rss_method="wait4(2) rusage via perl (package 'time' not installed)"
fi

# 1. the cascades
perl bench/gen-cascade.pl "$N" "$SEED" >"$BIG"
perl bench/gen-cascade.pl "$N" "$SEED" "$CHANGED" >"$CHG"
changed_task=$(printf 't%05d' "$CHANGED")

# both must be valid, without a single warning
for f in "$BIG" "$CHG"; do
	if ! "$SCAFFOLD" validate -q "$f" 2>"$OUT/validate.err"; then
		head -n 20 "$OUT/validate.err" >&2
		die "$f is not valid"
	fi
	if [ -s "$OUT/validate.err" ]; then
		head -n 20 "$OUT/validate.err" >&2
		die "$f: validate printed warnings"
	fi
done

r=$(perl bench/check-plan.pl --stats "$BIG") || die "cannot read $BIG"
# shellcheck disable=SC2086
set -- $r
tasks=$2 edges=$4 stores=$6 loads=$8 lines=${10} bytes=${12}

# 2. the measurements
r=$(perl bench/timeit.pl "$RUNS" "$OUT/validate.out" "$OUT/validate.err" \
	"$SCAFFOLD" validate "$BIG") || die "validate failed"
# shellcheck disable=SC2086
set -- $r
v_best=$1 v_median=$2 v_rss=$3 v_cpu=$4

r=$(perl bench/timeit.pl "$RUNS" "$OUT/plan.json" "$OUT/plan.err" \
	"$SCAFFOLD" plan -o json "$BIG" "$CHG") || die "plan failed"
# shellcheck disable=SC2086
set -- $r
p_best=$1 p_median=$2 p_rss=$3 p_cpu=$4

# 3. the plan's reset set against the independent count
r=$(perl bench/check-plan.pl "$CHG" "$changed_task" "$OUT/plan.json") ||
	die "the plan's reset set is wrong (see above)"
# shellcheck disable=SC2086
set -- $r
reset=$2

# 4. the report
verdict() { # BEST_S RSS_KB
	awk -v s="$1" -v kb="$2" -v ms="$MAX_S" -v mkb="$MAX_KB" 'BEGIN {
		r = ""
		if (s + 0 >= ms + 0)
			r = sprintf("SLOW %.1fx", s / ms)
		if (kb + 0 >= mkb + 0)
			r = r (r == "" ? "" : ", ") sprintf("BIG %.1fx", kb / mkb)
		print r == "" ? "ok" : r
	}'
}
row() { # NAME BEST_S MEDIAN_S CPU_S RSS_KB
	printf '%-9s %8.3f %9.3f %8.3f %8.1f   %s\n' "$1" "$2" "$3" "$4" \
		"$(awk -v kb="$5" 'BEGIN { print kb / 1024 }')" \
		"$(verdict "$2" "$5")"
}

cores=$(nproc 2>/dev/null || echo '?')
echo "scaffold benchmark, $(date -u +%Y-%m-%d), $cores cores," \
	"$(uname -m)$build_note"
echo "cascade:  $BIG ($bytes bytes, $lines lines): $tasks tasks," \
	"$edges dependency edges, $stores with store, $loads with load"
echo "change:   run script of $changed_task; plan resets $reset tasks" \
	"(= $changed_task + descendants, checked)"
echo "runs:     $RUNS of each: BEST and MEDIAN wall time, CPU (user+sys) of" \
	"the cheapest run, peak RSS the largest, by $rss_method"
echo
printf '%-9s %8s %9s %8s %8s   %s\n' BENCHMARK 'BEST s' 'MEDIAN s' 'CPU s' \
	'RSS MiB' "TARGET (< ${MAX_S} s, < $((MAX_KB / 1024)) MiB)"
v_row=$(row validate "$v_best" "$v_median" "$v_cpu" "$v_rss")
p_row=$(row plan "$p_best" "$p_median" "$p_cpu" "$p_rss")
echo "$v_row"
echo "$p_row"
missed=no
case "$v_row$p_row" in
*SLOW* | *BIG*) missed=yes ;;
esac

# 5. the engine: scaffold's own cost per task (bench/engine.sh)
if [ "${BENCH_ENGINE:-1}" != 0 ]; then
	echo
	SCAFFOLD=$SCAFFOLD sh bench/engine.sh || die "engine benchmark failed"
fi

# 6. the daemon's git side on a big repository (bench/gitsync.sh)
if [ "${BENCH_GITSYNC:-1}" != 0 ]; then
	echo
	SCAFFOLD=$SCAFFOLD sh bench/gitsync.sh || die "gitsync benchmark failed"
fi

# 7. the docker runner beside the bare Engine API (bench/docker.sh; issue 5,
# item 6): a trivial task in a container through scaffold against create,
# start, wait, remove by curl, and 20 tasks at once.  About five minutes;
# skipped (exit 0) without a Docker engine, curl or busybox; its ratio
# target (<= 1.1) is reported, not enforced: it moves with the load.
# BENCH_DOCKER=0 skips it; its settings: bench/README.md.
if [ "${BENCH_DOCKER:-1}" != 0 ]; then
	echo
	SCAFFOLD=$SCAFFOLD sh bench/docker.sh || die "docker benchmark failed"
fi
# 8. the ssh runner beside OpenSSH (bench/ssh.sh; issue 6, item 7): 200
# trivial tasks on one throwaway sshd through scaffold against the same
# commands by ssh over one multiplexed connection (ControlMaster) and with
# a connection each, and fan-out to 10 hosts.  Eight to ten minutes;
# skipped (exit 0) without sshd, ssh or root; its ratio targets (<= 1.2x
# the multiplexed loop, well ahead of new connections) are reported, not
# enforced: they move with the load.  BENCH_SSH=0 skips it; its settings:
# bench/README.md.
if [ "${BENCH_SSH:-1}" != 0 ]; then
	echo
	SCAFFOLD=$SCAFFOLD sh bench/ssh.sh || die "ssh benchmark failed"
fi
# 9. forge webhooks beside the webhook tool (bench/webhook.sh; issue 7,
# item 8): requests per second of POST /hooks/github with a bad signature
# and with a valid duplicate delivery, by wrk against scaffold serve and
# against adnanh/webhook with the same HMAC-SHA256 rule, as ratios within
# each round; the daemons' VmRSS/VmHWM after start and after the load.
# About 2.5 minutes; installs wrk and webhook with apt-get when missing
# (root), else skipped (exit 0); no target.  BENCH_WEBHOOK=0 skips it;
# its settings: bench/README.md.
if [ "${BENCH_WEBHOOK:-1}" != 0 ]; then
	echo
	SCAFFOLD=$SCAFFOLD sh bench/webhook.sh || die "webhook benchmark failed"
fi
# 9b. replayed webhooks (bench/replay.sh; issue 15, item 5): one signed
# push replayed for 10 s under fresh delivery ids; checks that none is
# accepted and at most 2 syncs run.  About 15 s.  BENCH_REPLAY=0 skips
# it; its settings: bench/README.md.
if [ "${BENCH_REPLAY:-1}" != 0 ]; then
	echo
	SCAFFOLD=$SCAFFOLD sh bench/replay.sh || die "replay benchmark failed"
fi
# 10. the status pages (bench/ui.sh; issue 8, item 4): server time and size
# of the cascade page of a 1,000-task cascade that a real scaffold serve
# has run, beside the index and a run page.  About a minute; no target.
# BENCH_UI=0 skips it; its settings: bench/README.md.
if [ "${BENCH_UI:-1}" != 0 ]; then
	echo
	SCAFFOLD=$SCAFFOLD sh bench/ui.sh || die "status page benchmark failed"
fi
# 11. drift probes (bench/check.sh; issue 16): 1,000 tasks with a 1 s
# local probe under scaffold serve: the daemon's CPU per probe beside a
# shell loop, and the spread of the probes' start times.  A few minutes; no
# target.  BENCH_CHECK=0 skips it; its settings: bench/README.md.
if [ "${BENCH_CHECK:-1}" != 0 ]; then
	echo
	SCAFFOLD=$SCAFFOLD sh bench/check.sh || die "drift probe benchmark failed"
fi
# 12. pull request plans (bench/prplan.sh; issue 20): 200 cascades of 50
# tasks, pull requests that change one task: the webhook to the
# scaffold/plan status posted, under 200 ms after the fetch, beside
# `scaffold plan` on the two files.  A minute or two.  BENCH_PRPLAN=0
# skips it; its settings: bench/README.md.
if [ "${BENCH_PRPLAN:-1}" != 0 ]; then
	echo
	SCAFFOLD=$SCAFFOLD sh bench/prplan.sh || missed=yes
fi
if [ "$missed" = yes ]; then
	echo "bench: target missed" >&2
	exit 1
fi
