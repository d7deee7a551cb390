#!/bin/sh
# check.sh - the cost of drift probes (issue 16): N tasks, each with a
# 1 s local probe (`true`), under `scaffold serve`.  Run by run.sh (make
# bench) or alone: ./bench/check.sh.  See bench/README.md ("Drift probes").
#
# Once all N tasks have succeeded (one run each), the daemon is watched for
# BENCH_CHECK_WINDOW seconds: its own CPU time (utime+stime of its threads
# from /proc, the probes' processes not included) over the probes that
# ended in that window gives the daemon's CPU per probe; with the probes'
# processes (reaped children) it gives the total per probe.  The baseline
# is a shell loop running as many `sh -c true` one after another (its
# total CPU per iteration; a probe also pays for the local runner's
# sandbox: namespaces and an init).  The spread: the probes' start times
# in the window, by their millisecond within the second, counted in ten
# 100 ms buckets (all in one bucket would be a thundering herd).
#
# Checks: every task succeeded once, no probe failed, no task ran again
# (probes are not runs), and max_checks_parallel held (never more probes
# at once, from their start and end times).  Exit 1 when one fails.
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_CHECK_TASKS (1000), BENCH_CHECK_WINDOW (20 s),
# BENCH_CHECK_PARALLEL (max_checks_parallel, default 2: the daemon's
# default).  Needs sqlite3 and git.
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."
SCAFFOLD=${SCAFFOLD:-./scaffold}
N=${BENCH_CHECK_TASKS:-1000}
WINDOW=${BENCH_CHECK_WINDOW:-20}
PAR=${BENCH_CHECK_PARALLEL:-2}
WORK=$PWD/bench/out/check

die() {
	echo "bench: check: $*" >&2
	[ -n "${spid:-}" ] && kill "$spid" 2>/dev/null
	exit 1
}
for c in sqlite3 git perl; do
	command -v $c >/dev/null 2>&1 || {
		echo "bench: check: skipped: $c is not installed"
		exit 0
	}
done
[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"

rm -rf "$WORK"
mkdir -p "$WORK/repo/.scaffold"
{
	printf 'version: v1\nname: probes\nrunner: local\ntasks:\n'
	i=0
	while [ $i -lt "$N" ]; do
		printf '  - name: t%05d\n    run: "true"\n' $i
		printf '    check: {interval: 1s, run: "true"}\n'
		i=$((i + 1))
	done
} >"$WORK/repo/.scaffold/probes.yaml"
g() {
	GIT_CONFIG_NOSYSTEM=1 HOME="$WORK" GIT_AUTHOR_NAME=bench \
		GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench \
		GIT_COMMITTER_EMAIL=bench@example.com git "$@"
}
(cd "$WORK/repo" && g init -q -b main && g add -A && g commit -q -m probes)
user=""
[ "$(id -u)" = 0 ] && user="local: {user: nobody}"
cat >"$WORK/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 1s
max_parallel: 8
max_checks_parallel: $PAR
$user
repos:
  - name: bench
    url: $WORK/repo
    runners: [local]
Y
q() { sqlite3 "$WORK/data/scaffold.db" "$1"; }
"$SCAFFOLD" serve --config "$WORK/scaffold.yaml" 2>"$WORK/serve.log" &
spid=$!
t=0
while :; do
	ok=$(q "SELECT COUNT(*) FROM tasks WHERE state = 'success'" 2>/dev/null || echo 0)
	[ "$ok" = "$N" ] && break
	t=$((t + 1))
	[ $t -lt 1200 ] || die "the $N tasks did not all succeed in 10 minutes"
	kill -0 $spid 2>/dev/null || die "serve died: $(tail -5 "$WORK/serve.log")"
	sleep 0.5
done
sleep 3 # the first probes: due within an interval of each success

cpu() { # own and own+children, in clock ticks
	awk '{ print $14 + $15, $14 + $15 + $16 + $17 }' "/proc/$spid/stat"
}
ended() { q "SELECT COUNT(*) FROM check_runs WHERE ended_at IS NOT NULL"; }
set -- $(cpu)
c0=$1 a0=$2
e0=$(ended)
w0=$(($(date +%s%N) / 1000000))
sleep "$WINDOW"
set -- $(cpu)
c1=$1 a1=$2
e1=$(ended)
w1=$(($(date +%s%N) / 1000000))
kill "$spid"
wait "$spid" 2>/dev/null || true
spid=
probes=$((e1 - e0))
[ "$probes" -gt 0 ] || die "no probe ended in the window"
hz=$(getconf CLK_TCK)

# the baseline: as many `sh -c true`, one after another
base=$(perl -e '
	my $n = shift;
	my @t0 = times;
	system("sh", "-c", "i=0; while [ \$i -lt $n ]; do sh -c true; i=\$((i+1)); done") == 0 or die;
	my @t1 = times;
	printf "%.3f\n", ($t1[2] + $t1[3] - $t0[2] - $t0[3]) * 1000 / $n;
' "$probes")

# checks
fail=""
[ "$(q "SELECT COUNT(*) FROM tasks WHERE state = 'success'")" = "$N" ] ||
	fail="$fail; not every task is success"
[ "$(q "SELECT COUNT(*) FROM runs")" = "$N" ] ||
	fail="$fail; a task ran more than once"
[ "$(q "SELECT COUNT(*) FROM check_runs WHERE state = 'error' OR drift = 1")" = 0 ] ||
	fail="$fail; a probe failed"
over=$(q "SELECT COALESCE(MAX(n), 0) FROM (SELECT (SELECT COUNT(*) FROM check_runs b WHERE b.started_at <= a.started_at AND (b.ended_at IS NULL OR b.ended_at > a.started_at)) AS n FROM check_runs a WHERE a.started_at >= $w0)")
[ "$over" -le "$PAR" ] || fail="$fail; $over probes at once (max_checks_parallel $PAR)"

buckets=$(q "SELECT GROUP_CONCAT(n, ' ') FROM (SELECT b, COUNT(*) AS n FROM (SELECT (started_at % 1000) / 100 AS b FROM check_runs WHERE started_at >= $w0 AND started_at < $w1) GROUP BY b ORDER BY b)")
awk -v n="$N" -v win="$WINDOW" -v p="$probes" -v c="$((c1 - c0))" \
	-v a="$((a1 - a0))" -v hz="$hz" -v base="$base" -v par="$PAR" \
	-v wall="$((w1 - w0))" -v b="$buckets" -v over="$over" 'BEGIN {
	printf "Drift probes: %d tasks, a 1 s local probe each (true), max_checks_parallel %d\n", n, par
	printf "  window                  %.1f s, %d probes ended (%.1f/s; %d/s due)\n", wall / 1000, p, p * 1000 / wall, n
	printf "  daemon CPU per probe    %.3f ms (its own threads)\n", c * 1000 / hz / p
	printf "  total CPU per probe     %.3f ms (with the probe processes)\n", a * 1000 / hz / p
	printf "  shell loop per probe    %s ms (sh -c true, total)\n", base
	printf "  daemon CPU              %.1f%% of one core\n", c * 100000 / hz / wall
	printf "  most probes at once     %d\n", over
	printf "  starts by 100 ms of the second: %s\n", b
}'
[ -z "$fail" ] || die "${fail#; }"
