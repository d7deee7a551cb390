#!/bin/sh
# smoke.sh - every benchmark once, at its smallest size, with its checks
# (make bench-smoke, part of make check).  The timings printed mean nothing
# here; what counts is that each benchmark still runs its steps and its
# correctness checks against today's scaffold, so that none rots between
# two `make bench` (bench/webhook.sh once did: it counted log lines the
# daemon had stopped writing).
#
# A benchmark that skips itself (no Docker engine, no sshd, not root, a
# tool missing) says so and counts as passed; `make check` installs what
# they need first (scripts/install-deps.sh).  Exit 1 when one fails; its
# output is printed.  Each benchmark's output: bench/out/smoke/NAME.log.
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_SMOKE (the benchmarks to run, default all, in the order below).
set -u
case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."
SCAFFOLD=${SCAFFOLD:-$PWD/scaffold}
export SCAFFOLD
OUT=bench/out/smoke
mkdir -p "$OUT"

ALL="core engine gitsync docker swarm ssh webhook ui check http replay prplan"

# name: the command at its smallest size
smoke() {
	case $1 in
	core) # validate and plan of a 50-task cascade, the plan checked
		env BENCH_TASKS=50 BENCH_RUNS=1 BENCH_ENGINE=0 \
			BENCH_GITSYNC=0 BENCH_DOCKER=0 BENCH_SSH=0 \
			BENCH_WEBHOOK=0 BENCH_UI=0 BENCH_CHECK=0 \
			BENCH_PRPLAN=0 sh bench/run.sh ;;
	engine)
		env BENCH_ENGINE_TASKS=5 BENCH_ENGINE_RUNS=1 \
			sh bench/engine.sh ;;
	gitsync)
		env BENCH_GIT_FILES=40 BENCH_GIT_COMMITS=4 \
			BENCH_GIT_ROUNDS=1 BENCH_GIT_RUNS=1 \
			BENCH_GIT_CLONE_RUNS=1 sh bench/gitsync.sh ;;
	docker)
		env BENCH_DOCKER_TASKS=2 BENCH_DOCKER_RUNS=1 \
			BENCH_DOCKER_ONE=1 BENCH_DOCKER_WIDE=2 \
			BENCH_DOCKER_WIDE_RUNS=1 sh bench/docker.sh ;;
	swarm)
		env BENCH_SWARM_JOBS=2 BENCH_SWARM_PAR=2 BENCH_SWARM_ONE=1 \
			sh bench/swarm.sh ;;
	ssh)
		env BENCH_SSH_TASKS=2 BENCH_SSH_RUNS=1 BENCH_SSH_J=2 \
			BENCH_SSH_HOSTS=2 BENCH_SSH_FAN_TASKS=1 \
			sh bench/ssh.sh ;;
	webhook)
		env BENCH_WEBHOOK_RUNS=1 BENCH_WEBHOOK_DURATION=1s \
			BENCH_WEBHOOK_THREADS=1 BENCH_WEBHOOK_CONNS=2 \
			sh bench/webhook.sh ;;
	ui)
		env BENCH_UI_TASKS=10 BENCH_UI_RUNS=1 sh bench/ui.sh ;;
	check)
		env BENCH_CHECK_TASKS=5 BENCH_CHECK_WINDOW=2 sh bench/check.sh ;;
	http)
		env BENCH_HTTP_SMOKE=1 sh bench/http.sh ;;
	replay)
		env BENCH_REPLAY_SMOKE=1 sh bench/replay.sh ;;
	prplan) # one pull request on 2 cascades of 10 tasks
		env BENCH_PR_CASCADES=2 BENCH_PR_TASKS=10 BENCH_PR_ROUNDS=1 \
			BENCH_PR_SMOKE=1 sh bench/prplan.sh ;;
	*)
		echo "bench-smoke: no benchmark '$1' (known: $ALL)" >&2
		return 2 ;;
	esac
}

failed=""
for b in ${BENCH_SMOKE:-$ALL}; do
	t0=$(date +%s)
	if smoke "$b" >"$OUT/$b.log" 2>&1; then
		verdict=ok
		grep -qi 'skipped' "$OUT/$b.log" &&
			verdict="ok, skipped: $(grep -i -m1 'skipped' "$OUT/$b.log")"
	else
		verdict=FAILED
		failed="$failed $b"
		sed 's/^/# /' "$OUT/$b.log" | tail -n 40
	fi
	echo "bench-smoke: $b $verdict ($(($(date +%s) - t0)) s)"
done
if [ -n "$failed" ]; then
	echo "bench-smoke: failed:$failed" >&2
	exit 1
fi
