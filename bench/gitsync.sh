#!/bin/sh
# gitsync.sh - the daemon's git side on a big repository.  See
# bench/README.md.
#
# Generates a repository of 20,000 files and 2,000 commits with three
# cascades under .scaffold/ (bench/gen-repo.pl through git fast-import,
# in bench/out/gitsync/), then measures (bench/gitsync.pl):
#   - the clone and the fetch of one new commit by scaffold's fetch helper
#     (`scaffold __gitsync-fetch`, libgit2) beside git on copies of the same
#     mirror, best of 3 and 5, as ratios;
#   - `scaffold serve` on that repository: the time from a push that
#     changes one task of one cascade file to that task's run starting,
#     split into the poll wait, the fetch, the reconcile and the start.
# No target; exit 1 if a step fails or a check does not hold (the clones
# and fetches must end at the pushed commit, every run must succeed).
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_GIT_FILES (20000), BENCH_GIT_COMMITS (2000), BENCH_GIT_SEED (1),
# BENCH_GIT_ROUNDS (pushes measured, 5), BENCH_GIT_RUNS (5),
# BENCH_GIT_CLONE_RUNS (3), BENCH_GIT_POLL (poll_interval, 1s).
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."

SCAFFOLD=${SCAFFOLD:-$PWD/scaffold}
FILES=${BENCH_GIT_FILES:-20000}
COMMITS=${BENCH_GIT_COMMITS:-2000}
SEED=${BENCH_GIT_SEED:-1}
ROUNDS=${BENCH_GIT_ROUNDS:-5}
W=$PWD/bench/out/gitsync

die() {
	echo "bench: $*" >&2
	exit 1
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
command -v git >/dev/null 2>&1 || die "git is required"
command -v perl >/dev/null 2>&1 || die "perl is required"
build_note=""
if grep -q __asan_init "$SCAFFOLD" 2>/dev/null ||
	grep -q __ubsan_handle "$SCAFFOLD" 2>/dev/null; then
	build_note=" (SANITIZER BUILD: figures not representative)"
fi

# 1. the repository: the "remote" every clone and fetch reads
rm -rf "$W"
mkdir -p "$W"
# a copy of the binary: a rebuild during the run must not mix two builds
cp "$SCAFFOLD" "$W/scaffold"
t0=$(date +%s)
git init -q --bare "$W/src.git"
git --git-dir="$W/src.git" symbolic-ref HEAD refs/heads/main
# fast-import grows and trims its heap with brk(2) for every object; in a
# VM where that is slow, a large top pad makes it ten times faster
perl bench/gen-repo.pl history "$FILES" "$COMMITS" "$SEED" |
	GLIBC_TUNABLES=glibc.malloc.top_pad=268435456:glibc.malloc.trim_threshold=268435456 \
		git --git-dir="$W/src.git" fast-import --quiet ||
	die "cannot generate the repository"
# packed as a server's repository would be
git --git-dir="$W/src.git" gc --quiet
h0=$(git --git-dir="$W/src.git" rev-parse --verify refs/heads/main)
# the commits to push, each changing web/build; kept off refs/heads/
perl bench/gen-repo.pl rounds "$ROUNDS" "$h0" |
	git --git-dir="$W/src.git" fast-import --quiet \
		--export-marks="$W/rounds.marks" ||
	die "cannot generate the pushed commits"
git --git-dir="$W/src.git" update-ref -d refs/bench/rounds
rounds=$(sort -t: -k2 -n "$W/rounds.marks" | awk '{ print $2 }')
t1=$(date +%s)

# 2. the measurements
cores=$(nproc 2>/dev/null || echo '?')
echo "scaffold gitsync benchmark, $(date -u +%Y-%m-%d), $cores cores," \
	"$(uname -m), $(git --version)$build_note"
echo "generated:  bench/gen-repo.pl history $FILES $COMMITS $SEED," \
	"$((t1 - t0)) s"
# shellcheck disable=SC2086
perl bench/gitsync.pl "$W/scaffold" "$W" "$h0" $rounds ||
	die "gitsync benchmark failed (see $W)"
