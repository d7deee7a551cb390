#!/bin/sh
# swarm.sh - the swarm runner beside the bare Engine API (issue 19).  Run
# alone: sh bench/swarm.sh; bench/smoke.sh runs it at its smallest size.
# See bench/README.md ("Swarm runner beside the bare Engine API").
#
# On a single-node swarm of the benchmark's own (dockerd with its socket,
# data-root and exec-root in a temporary directory, --iptables=false
# --bridge=none, `docker swarm init` on 127.0.0.1 and a free port), the
# image from `docker import` of a static busybox:
#   raw      N one-second jobs, P at once, each driven straight through the
#            Engine API by curl: POST /services/create (ReplicatedJob,
#            RestartPolicy none), GET /tasks until it has ended, GET the
#            service's logs, DELETE the service;
#   scaffold the same N jobs as a cascade of N independent tasks
#            (runner: swarm, run: sleep 1), scaffold apply -j P;
# the ratio scaffold / raw (target <= 1.1); and the per-job overhead of a
# trivial task (run: "true") on swarm beside runner docker on the same
# engine, one at a time, and on swarm in placement mode global (one run
# on the one node: what listing the nodes at the claim costs).
#
# Settings: SCAFFOLD (binary, default ./scaffold), BENCH_SWARM_JOBS (N,
# 100), BENCH_SWARM_PAR (P, 10), BENCH_SWARM_ONE (trivial tasks for the
# per-job overhead, 10).  Skipped (exit 0) when dockerd cannot run here.
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."
SCAFFOLD=${SCAFFOLD:-$PWD/scaffold}
N=${BENCH_SWARM_JOBS:-100}
P=${BENCH_SWARM_PAR:-10}
ONE=${BENCH_SWARM_ONE:-10}
IMAGE=scaffold-bench:busybox
W=$PWD/bench/out/swarm

die() {
	echo "bench: swarm: $*" >&2
	exit 1
}
skip() {
	echo "bench: swarm: skipped: $*"
	exit 0
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
command -v perl >/dev/null 2>&1 || die "perl is required"
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
[ -x /bin/busybox ] || skip "busybox is not installed (busybox-static)"
DOCKERD=$(command -v dockerd || echo /usr/sbin/dockerd)
[ -x "$DOCKERD" ] || skip "dockerd is not installed"
[ "$(id -u)" = 0 ] || skip "dockerd needs root"
for v in "$N" "$P" "$ONE"; do
	case $v in
	'' | *[!0-9]* | 0*) die "BENCH_SWARM_* must be positive numbers" ;;
	esac
done

rm -rf "$W"
mkdir -p "$W"
cp "$SCAFFOLD" "$W/scaffold"
T=$(mktemp -d /tmp/scaffold-bench-swarm.XXXXXX)
SOCK=$T/docker.sock
DOCKERD_PID=""
cleanup() {
	if [ -n "$DOCKERD_PID" ]; then
		kill "$DOCKERD_PID" 2>/dev/null || :
		wait "$DOCKERD_PID" 2>/dev/null || :
	fi
	grep " $T/" /proc/mounts | awk '{ print $2 }' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || :
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

api() { # METHOD PATH [BODY]: the answer's body on stdout
	if [ $# -ge 3 ]; then
		curl -sf --unix-socket "$SOCK" -X "$1" \
			-H 'Content-Type: application/json' -d "$3" \
			"http://localhost/v1.41$2"
	else
		curl -sf --unix-socket "$SOCK" -X "$1" "http://localhost/v1.41$2"
	fi
}

mkdir -p "$T/data-root" "$T/exec-root"
"$DOCKERD" --host "unix://$SOCK" --data-root "$T/data-root" \
	--exec-root "$T/exec-root" --pidfile "$T/docker.pid" \
	--iptables=false --bridge=none >>"$W/dockerd.log" 2>&1 &
DOCKERD_PID=$!
i=0
until curl -sf --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 60 ] && kill -0 "$DOCKERD_PID" 2>/dev/null ||
		skip "the benchmark's dockerd did not start (see $W/dockerd.log)"
	sleep 0.5
done
port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(
	Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
api POST /swarm/init "{\"ListenAddr\":\"127.0.0.1:$port\",\"AdvertiseAddr\":\"127.0.0.1:$port\"}" \
	>/dev/null || skip "docker swarm init failed here"
mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp"
cp /bin/busybox "$T/rootfs/bin/"
for c in sh sleep true cat od mkdir chmod printf; do
	ln -s busybox "$T/rootfs/bin/$c"
done
tar -C "$T/rootfs" -c . |
	curl -sf --unix-socket "$SOCK" -X POST -H 'Content-Type: application/x-tar' \
		--data-binary @- \
		"http://localhost/v1.41/images/create?fromSrc=-&repo=scaffold-bench&tag=busybox" \
		>/dev/null || die "cannot import the image"

now_ms() { perl -MTime::HiRes=time -e 'printf "%d\n", time * 1000'; }

# raw: one job through the bare API; its name is $1
raw_job() {
	api POST /services/create "{\"Name\":\"raw-$1\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"$IMAGE\",\"Command\":[\"/bin/sh\",\"-c\",\"sleep 1\"]},\"RestartPolicy\":{\"Condition\":\"none\"}},\"Mode\":{\"ReplicatedJob\":{\"MaxConcurrent\":1,\"TotalCompletions\":1}}}" >/dev/null ||
		return 1
	f=$(printf '%%7B%%22service%%22%%3A%%5B%%22raw-%s%%22%%5D%%7D' "$1")
	while :; do
		s=$(api GET "/tasks?filters=$f") || return 1
		case $s in
		*'"State":"complete"'* | *'"State":"failed"'* | *'"State":"rejected"'*) break ;;
		esac
		sleep 0.25
	done
	api GET "/services/raw-$1/logs?stdout=1&stderr=1" >/dev/null || return 1
	api DELETE "/services/raw-$1" >/dev/null
}
raw_round() { # P workers, each taking every P-th job (not `wait`: the
	# engine is a child of this shell too)
	pids=""
	w=0
	while [ "$w" -lt "$P" ]; do
		(
			k=$w
			while [ "$k" -lt "$N" ]; do
				raw_job "$k" || exit 1
				k=$((k + P))
			done
		) &
		pids="$pids $!"
		w=$((w + 1))
	done
	st=0
	for p in $pids; do
		wait "$p" || st=1
	done
	return $st
}

cascade() { # NAME COUNT RUNNER SCRIPT [MORE]: MORE more keys of each task
	printf 'version: v1\nname: %s\nrunner: %s\ntasks:\n' "$1" "$3"
	k=0
	while [ "$k" -lt "$2" ]; do
		printf '  - {name: t%03d, image: %s, run: "%s"%s}\n' "$k" "$IMAGE" \
			"$4" "${5:+, $5}"
		k=$((k + 1))
	done
}
printf 'data_dir: %s/d\ndocker: {socket: %s}\nswarm: {socket: %s}\n' \
	"$T" "$SOCK" "$SOCK" >"$T/c.yaml"
cascade jobs "$N" swarm "sleep 1" >"$W/jobs.yaml"
cascade one "$ONE" swarm "true" >"$W/one-swarm.yaml"
cascade one "$ONE" docker "true" >"$W/one-docker.yaml"
cascade one "$ONE" swarm "true" "placement: {mode: global}" >"$W/one-global.yaml"

applied() { # FILE J: wall ms of scaffold apply on a fresh data dir
	rm -rf "$T/d"
	a=$(now_ms)
	"$W/scaffold" apply -q -c "$T/c.yaml" -d "$T/d" -j "$2" "$1" \
		>"$W/apply.out" 2>&1 || die "scaffold apply $1 failed (see $W/apply.out)"
	b=$(now_ms)
	echo $((b - a))
}

echo "scaffold swarm benchmark, $(date +%F), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
a=$(now_ms)
raw_round || die "a raw job failed"
b=$(now_ms)
raw=$((b - a))
sc=$(applied "$W/jobs.yaml" "$P")
left=$(api GET /services | tr -cd '{' | wc -c)
[ "$left" -eq 0 ] || die "$left services left behind"
ratio=$(perl -e 'printf "%.2f", $ARGV[0] / $ARGV[1]' "$sc" "$raw")
echo "swarm: $N one-second jobs, $P at once: raw $raw ms, scaffold $sc ms (${ratio}x, target 1.1)"
ds=$(applied "$W/one-swarm.yaml" 1)
dd=$(applied "$W/one-docker.yaml" 1)
dg=$(applied "$W/one-global.yaml" 1)
echo "per job, one at a time, run: true: swarm $((ds / ONE)) ms, docker $((dd / ONE)) ms on the same engine"
echo "per job, placement mode global on the one node: $((dg / ONE)) ms (the nodes listed at each claim)"
perl -e 'exit($ARGV[0] <= 1.1 ? 0 : 1)' "$ratio" &&
	echo "verdict: met (${ratio}x <= 1.1)" ||
	echo "verdict: missed (${ratio}x > 1.1)"
