#!/bin/sh
# http.sh - what hostile HTTP clients can take of scaffold serve (issue
# 15, items 1-3).  Run alone: ./bench/http.sh.  See bench/README.md.
#
# For each binary (SCAFFOLD, and with BENCH_HTTP_BEFORE=COMMIT the same
# measurements of a build of that commit, made in a temporary git worktree
# under /tmp), a fresh scaffold serve on 127.0.0.1 with one repo that has a
# webhook secret, then:
#   idle     its VmRSS once it answers /healthz
#   bodies   CONNS anonymous POST /hooks/github (a made-up signature, which
#            only the body can disprove), each sending a body of the
#            largest size the build takes (25 MiB before, 5 MiB with the
#            limits) but its last byte, then held: the peak RSS (VmHWM)
#            above idle, and how the connections were answered
#   chunked  the same with chunked bodies that never end (each sends twice
#            the size, then holds)
#   loris    4 x CONNS half-sent request heads held open from 127.0.0.1,
#            then 10 GET /healthz: their status, median and worst latency
# Each attack gets its own daemon, so that one peak does not hide another.
#
# Checks (exit 1 when one fails, for SCAFFOLD only): the peak above idle
# is under BENCH_HTTP_MAX_MB (100) for both body attacks, the daemon is
# alive after each, and every /healthz under the loris answers 200 within
# a second.
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_HTTP_CONNS (64; 4 is the smallest, quick size), BENCH_HTTP_MAX_MB
# (100), BENCH_HTTP_BEFORE (a commit to measure beside, e.g. 6542d81;
# unset: none).
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."

SCAFFOLD=${SCAFFOLD:-./scaffold}
N=${BENCH_HTTP_CONNS:-64}
MAX_MB=${BENCH_HTTP_MAX_MB:-100}
BEFORE=${BENCH_HTTP_BEFORE:-}
W=$PWD/bench/out/http

die() {
	echo "bench: http: $*" >&2
	exit 1
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
command -v perl >/dev/null 2>&1 || die "perl is required"
command -v git >/dev/null 2>&1 || die "git is required"
for v in "$N" "$MAX_MB"; do
	case $v in
	'' | *[!0-9]* | 0*) die "BENCH_HTTP_CONNS and BENCH_HTTP_MAX_MB must be positive numbers" ;;
	esac
done

rm -rf "$W"
mkdir -p "$W"
SPID=
OLD=
cleanup() {
	[ -z "$SPID" ] || kill "$SPID" 2>/dev/null || :
	wait 2>/dev/null || :
	if [ -n "$OLD" ]; then
		git worktree remove --force "$OLD" 2>/dev/null || rm -rf "$OLD"
	fi
}
trap cleanup EXIT
cp "$SCAFFOLD" "$W/scaffold"

git init -q --bare "$W/src.git"
printf 'bench s3cret\n' >"$W/secret"
# serve BINARY NAME: a fresh daemon; sets SPID and PORT
serve() {
	rm -rf "$W/data-$2"
	cat >"$W/serve-$2.yaml" <<Y
listen: 127.0.0.1:0
data_dir: $W/data-$2
poll_interval: 1h
repos:
  - name: infra
    url: $W/src.git
    webhook_secret_file: $W/secret
Y
	"$1" serve --config "$W/serve-$2.yaml" 2>"$W/serve-$2.log" &
	SPID=$!
	i=0
	while ! grep -qs "port [0-9]" "$W/serve-$2.log"; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "serve did not start: $(cat "$W/serve-$2.log")"
		sleep 0.1
	done
	PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$W/serve-$2.log" | head -1)
	curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null ||
		die "$2: /healthz does not answer"
}
stop() {
	kill "$SPID" 2>/dev/null || :
	wait "$SPID" 2>/dev/null || :
	SPID=
}
vm() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$SPID/status"; }

FAIL=0
# measure LABEL BINARY CHECK SIZE: the three attacks, one line each;
# SIZE is the largest webhook body BINARY takes
measure() {
	for attack in bodies chunked; do
		serve "$2" "$1-$attack"
		idle=$(vm VmRSS)
		chunked=0
		[ $attack = bodies ] || chunked=1
		res=$(perl bench/http.pl "$PORT" "$SPID" bodies "$N" "$4" $chunked)
		hwm=${res#hwm_kb=}
		hwm=${hwm%% *}
		alive=yes
		kill -0 "$SPID" 2>/dev/null || alive=no
		printf '%-7s %-8s idle %4d MiB  peak above idle %6.1f MiB  alive %-3s  answers: %s\n' \
			"$1" "$attack" $((idle / 1024)) "$(echo "$hwm $idle" | awk '{print ($1 - $2) / 1024}')" \
			"$alive" "${res#* }"
		if [ "$3" = check ]; then
			[ "$alive" = yes ] || { echo "bench: http: $attack: the daemon died" >&2; FAIL=1; }
			[ $((hwm - idle)) -lt $((MAX_MB * 1024)) ] ||
				{ echo "bench: http: $attack: peak above idle over $MAX_MB MiB" >&2; FAIL=1; }
		fi
		stop
	done
	serve "$2" "$1-loris"
	res=$(perl bench/http.pl "$PORT" "$SPID" loris $((4 * N)) 10)
	printf '%-7s %-8s %s\n' "$1" loris "$res"
	if [ "$3" = check ]; then
		case $res in
		*" healthz_200=10") ;;
		*) echo "bench: http: loris: not every /healthz answered 200" >&2; FAIL=1 ;;
		esac
		worst=${res#*worst_ms=}
		worst=${worst%% *}
		[ "${worst%.*}" -lt 1000 ] ||
			{ echo "bench: http: loris: /healthz took ${worst} ms" >&2; FAIL=1; }
	fi
	stop
}

echo "bench: http: $N connections of bodies, $((4 * N)) half-sent heads"
if [ -n "$BEFORE" ]; then
	OLD=$(mktemp -d /tmp/scaffold-bench-http.XXXXXX)
	rmdir "$OLD"
	git worktree add -q --detach "$OLD" "$BEFORE" || die "cannot check out '$BEFORE'"
	make -C "$OLD" -s -j2 >"$W/before-build.log" 2>&1 ||
		die "cannot build '$BEFORE': see $W/before-build.log"
	# today's limit of every body: 25 MiB
	measure before "$OLD/scaffold" none $((25 * 1024 * 1024))
fi
# webhooks: 5 MiB (HTTP_MAX_HOOK, webhook/webhook-int.h)
measure now "$W/scaffold" check $((5 * 1024 * 1024))
exit $FAIL
