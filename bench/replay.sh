#!/bin/sh
# replay.sh - replayed webhooks (issue 15, item 5): one captured signed
# GitHub push, sent again for 10 s under fresh X-GitHub-Delivery ids as
# fast as 4 keep-alive connections go.  The delivery id is not covered by
# the signature: before de-duplication on the body's digest every replay
# was a new delivery (recorded, logged, and a sync queued).  Reports the
# replays accepted, the growth of the database and of the log, and the
# syncs run; checks that none was accepted, that the log did not grow,
# and the target: at most 2 syncs a repo a poll interval (1 minute here).
# Run by run.sh (make bench), or alone: sh bench/replay.sh.  See
# bench/README.md.
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_REPLAY_OLD (a binary of an earlier version, measured the same way
# after it, without the checks: the figures to compare),
# BENCH_REPLAY_SECONDS (10), BENCH_REPLAY_CONNS (4).  BENCH_REPLAY_SMOKE=1
# is the smallest size, for make bench-smoke (bench/smoke.sh):
# BENCH_REPLAY_SECONDS=1 BENCH_REPLAY_CONNS=1, the same checks.
# Needs git, curl and perl (core modules).  Exit 1 when a check fails.
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
case ${BENCH_REPLAY_OLD:-} in
"" | /*) ;;
*) BENCH_REPLAY_OLD=$PWD/$BENCH_REPLAY_OLD ;;
esac
cd "$(dirname "$0")/.."

SCAFFOLD=${SCAFFOLD:-$PWD/scaffold}
W=$PWD/bench/out/replay

die() {
	echo "bench: replay: $*" >&2
	exit 1
}
skip() {
	echo "bench: replay: skipped: $*"
	exit 0
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
command -v perl >/dev/null 2>&1 || die "perl is required"
command -v git >/dev/null 2>&1 || skip "git is not installed"
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
if [ "${BENCH_REPLAY_SMOKE:-0}" = 1 ]; then
	BENCH_REPLAY_SECONDS=1
	BENCH_REPLAY_CONNS=1
fi
export BENCH_REPLAY_SECONDS=${BENCH_REPLAY_SECONDS:-10}
export BENCH_REPLAY_CONNS=${BENCH_REPLAY_CONNS:-4}
for v in "$BENCH_REPLAY_SECONDS" "$BENCH_REPLAY_CONNS"; do
	case $v in
	'' | *[!0-9]* | 0*) die "BENCH_REPLAY_SECONDS and _CONNS must be positive numbers" ;;
	esac
done

rm -rf "$W"
mkdir -p "$W"
cp "$SCAFFOLD" "$W/scaffold"

# the repository: one cascade of one task
git init -q --bare "$W/src.git"
git --git-dir="$W/src.git" symbolic-ref HEAD refs/heads/main
git init -q "$W/work"
mkdir -p "$W/work/.scaffold"
printf 'version: v1\nname: web\nrunner: local\ntasks:\n  - name: build\n    run: echo build\n' \
	>"$W/work/.scaffold/web.yaml"
git -C "$W/work" add -A
git -C "$W/work" -c user.name=bench -c user.email=bench@localhost \
	commit -qm "the web cascade"
git -C "$W/work" push -q "$W/src.git" HEAD:refs/heads/main

SECRET='bench replay s3cret'
printf '%s\n' "$SECRET" >"$W/secret"
perl bench/webhook-payload.pl tests/cases/webhooks/github-push.json \
	"$W/src.git" acme/infra >"$W/push.json" || die "cannot write the payload"
# @DATA@: each binary gets its own data dir (replay.pl fills it in)
cat >"$W/serve.yaml" <<EOF
listen: 127.0.0.1:0
data_dir: @DATA@
poll_interval: 1m
local: {user: nobody}
repos:
  - name: infra
    url: $W/src.git
    branch: main
    webhook_secret_file: $W/secret
    runners: [local]
EOF

echo "scaffold webhook replay: one signed push, then ${BENCH_REPLAY_SECONDS:-10} s of it under fresh delivery ids, ${BENCH_REPLAY_CONNS:-4} connection(s); poll_interval 1m"
perl bench/replay.pl "$W" "$W/scaffold" new "$SECRET"
if [ -n "${BENCH_REPLAY_OLD:-}" ]; then
	[ -x "$BENCH_REPLAY_OLD" ] || die "no $BENCH_REPLAY_OLD"
	cp "$BENCH_REPLAY_OLD" "$W/scaffold-old"
	BENCH_REPLAY_CHECK=0 perl bench/replay.pl "$W" "$W/scaffold-old" old "$SECRET"
fi
echo "checks:  no replay accepted, the log did not grow, at most 2 syncs a poll interval"
