#!/bin/sh
# Every benchmark's checks run once at their smallest size, so that none
# rots between two `make bench`: the engine benchmark (bench/engine.sh)
# with 5 tasks and one round: every apply exits 0 with all tasks success
# after one run, the re-apply starts none.  Its timings mean nothing here.
. "$(dirname "$0")/lib.sh"
command -v perl >/dev/null || skip_all "perl is not installed"
run env SCAFFOLD="$SCAFFOLD" BENCH_ENGINE_TASKS=5 BENCH_ENGINE_RUNS=1 \
	sh "$SRC/bench/engine.sh"
is "$RC" 0 "bench/engine.sh passes its checks with 5 tasks"
[ "$RC" = 0 ] || printf '%s\n' "$ERR" | sed 's/^/# /'
is "$(printf '%s\n' "$OUT" | awk '/^BENCHMARK/ { t = 1; next } /^$/ { t = 0 } t { print $1 }' | tr '\n' ' ')" \
	"shell sandbox chain wide wide re-apply " "and prints its table"
done_testing
