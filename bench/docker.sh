#!/bin/sh
# docker.sh - the docker runner beside the bare Engine API (issue 5, item
# 6).  Run by run.sh (make bench) last, or alone: sh bench/docker.sh.  See
# bench/README.md.
#
# The per-task wall time of a trivial task (`run: "true"` with `image:`)
# through scaffold, beside the raw Engine API sequence by curl on the same
# image (create, start, wait, remove): the ratio, target <= 1.1.  Beside
# them, scaffold's own request sequence replayed from perl, request by
# request, to show what each request scaffold adds costs; the fixed cost
# of a run of scaffold (a one-task cascade); and 20 independent tasks in
# parallel (-j 20 against -j 1, and the raw sequence 20 at once).  The
# measurements are bench/docker.pl's.
#
# The engine: BENCH_DOCKER_SOCKET when set; else a Docker engine of the
# benchmark's own, started as tests/e2e/docker.sh does (socket, data-root
# and exec-root in a temporary directory, --iptables=false --bridge=none)
# and stopped at the end; else, when dockerd cannot be started here, the
# engine at /var/run/docker.sock.  With none, the benchmark is skipped
# (exit 0).  The image, scaffold-bench:busybox, is built without a
# registry: a root file system holding the static busybox, imported with
# POST /images/create?fromSrc=- (docker import).  Every container has
# NetworkMode "none".
#
# Exit 1 when a step or a check fails (see docker.pl); the target only
# decides the verdict printed.
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_DOCKER_TASKS (N, tasks a round, 10), BENCH_DOCKER_RUNS (rounds, 6),
# BENCH_DOCKER_ONE (one-task runs a round, 1), BENCH_DOCKER_WIDE (tasks at
# once, 20), BENCH_DOCKER_WIDE_RUNS (2), BENCH_DOCKER_SOCKET (an engine
# to use instead of starting one).
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."

SCAFFOLD=${SCAFFOLD:-$PWD/scaffold}
N=${BENCH_DOCKER_TASKS:-10}
WIDE=${BENCH_DOCKER_WIDE:-20}
IMAGE=scaffold-bench:busybox
W=$PWD/bench/out/docker

die() {
	echo "bench: docker: $*" >&2
	exit 1
}
skip() {
	echo "bench: docker: skipped: $*"
	exit 0
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
command -v perl >/dev/null 2>&1 || die "perl is required"
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
[ -x /bin/busybox ] ||
	skip "busybox is not installed (scripts/install-deps.sh installs busybox-static)"
for v in "$N" "$WIDE" "${BENCH_DOCKER_RUNS:-6}" "${BENCH_DOCKER_ONE:-1}" \
	"${BENCH_DOCKER_WIDE_RUNS:-2}"; do
	case $v in
	'' | *[!0-9]* | 0*) die "BENCH_DOCKER_* must be positive numbers" ;;
	esac
done
[ "$N" -ge 2 ] || die "BENCH_DOCKER_TASKS must be 2 or more"
build_note=""
if grep -q __asan_init "$SCAFFOLD" 2>/dev/null ||
	grep -q __ubsan_handle "$SCAFFOLD" 2>/dev/null; then
	build_note=" (SANITIZER BUILD: figures not representative)"
fi

rm -rf "$W"
mkdir -p "$W"
# a copy of the binary: a rebuild during the run must not mix two builds
cp "$SCAFFOLD" "$W/scaffold"

# 1. the engine
T=""
DOCKERD_PID=""
stop_engine() {
	[ -n "$DOCKERD_PID" ] || return 0
	kill "$DOCKERD_PID" 2>/dev/null || :
	wait "$DOCKERD_PID" 2>/dev/null || :
	DOCKERD_PID=""
	# what it may leave mounted under its directories
	grep " $T/" /proc/mounts | awk '{ print $2 }' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || :
}
cleanup() {
	stop_engine
	[ -z "$T" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

ping() { # SOCKET
	[ -S "$1" ] &&
		curl -sf --max-time 5 --unix-socket "$1" http://localhost/_ping \
			>/dev/null 2>&1
}

DOCKERD=$(command -v dockerd || echo /usr/sbin/dockerd)
if [ -n "${BENCH_DOCKER_SOCKET:-}" ]; then
	SOCK=$BENCH_DOCKER_SOCKET
	ping "$SOCK" || die "no Docker engine answers at $SOCK"
	engine_kind="the engine at $SOCK (BENCH_DOCKER_SOCKET)"
elif [ -x "$DOCKERD" ] && [ "$(id -u)" = 0 ]; then
	T=$(mktemp -d /tmp/scaffold-bench-docker.XXXXXX)
	SOCK=$T/docker.sock
	mkdir -p "$T/docker-data" "$T/docker-exec"
	"$DOCKERD" --host "unix://$SOCK" --data-root "$T/docker-data" \
		--exec-root "$T/docker-exec" --pidfile "$T/docker.pid" \
		--iptables=false --bridge=none >>"$W/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	i=0
	until ping "$SOCK"; do
		i=$((i + 1))
		if [ "$i" -ge 60 ] || ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
			tail -n 20 "$W/dockerd.log" >&2
			die "the benchmark's Docker engine did not start"
		fi
		sleep 0.5
	done
	engine_kind="an engine of its own (dockerd --iptables=false"
	engine_kind="$engine_kind --bridge=none, data-root in $T)"
elif ping /var/run/docker.sock; then
	SOCK=/var/run/docker.sock
	engine_kind="the engine at $SOCK"
else
	skip "no Docker engine, and dockerd cannot be started here"
fi

# the API version, as runner/docker.c agrees on it: the engine's, at most 1.41
curl -sf --unix-socket "$SOCK" http://localhost/version >"$W/version.json" ||
	die "GET /version failed"
api=$(perl -MJSON::PP -e '
	local $/; my $v = decode_json(<STDIN>);
	my ($a, $b) = split /\./, $v->{ApiVersion};
	($a, $b) = (1, 41) if $a > 1 || ($a == 1 && $b > 41);
	printf "v%d.%d %s %s\n", $a, $b, $v->{Version},
		$v->{ApiVersion}' <"$W/version.json") ||
	die "cannot read the engine's version"
# shellcheck disable=SC2086
set -- $api
api=$1 engine_version=$2 engine_api=$3
driver=$(curl -sf --unix-socket "$SOCK" http://localhost/info |
	perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{Driver}')

# 2. the image: busybox, imported (no registry)
rootfs=$W/rootfs
mkdir -p "$rootfs/bin" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/"
for c in sh true false cat echo printf env mkdir rm test [; do
	ln -s busybox "$rootfs/bin/$c"
done
tar -C "$rootfs" -cf "$W/rootfs.tar" .
curl -sf --unix-socket "$SOCK" -H 'Content-Type: application/x-tar' \
	--data-binary @"$W/rootfs.tar" -o "$W/import.out" \
	"http://localhost/$api/images/create?fromSrc=-&repo=scaffold-bench&tag=busybox" ||
	die "cannot import $IMAGE"
grep -q '"error' "$W/import.out" && die "cannot import $IMAGE: $(cat "$W/import.out")"

# 3. the cascades, and the archive scaffold puts in a container
cascade() { # NAME COUNT [local]
	echo "# Generated by bench/docker.sh; do not edit."
	echo "version: v1"
	echo "name: $1"
	echo "description: $2 independent no-op task(s)"
	[ -z "${3:-}" ] || echo "runner: local"
	echo "tasks:"
	i=0
	while [ "$i" -lt "$2" ]; do
		printf '  - name: t%05d\n' "$i"
		[ -n "${3:-}" ] || printf '    image: %s\n' "$IMAGE"
		printf '    run: "true"\n'
		i=$((i + 1))
	done
}
cascade serial "$N" >"$W/serial.yaml"
cascade wide "$WIDE" >"$W/wide.yaml"
cascade one 1 >"$W/one.yaml"
cascade one 1 local >"$W/one-local.yaml"
for f in serial wide one one-local; do
	"$W/scaffold" validate -q "$W/$f.yaml" 2>"$W/validate.err" ||
		die "$f.yaml is not valid: $(head -n 5 "$W/validate.err")"
	[ ! -s "$W/validate.err" ] ||
		die "$f.yaml: validate warned: $(head -n 5 "$W/validate.err")"
done

# what runner/docker.c's build_archive() writes for `run: "true"` with no
# store, load or exports: the run dir, the script and the wrapper
st=$W/stage
mkdir -p "$st/tmp/run" "$st/tmp/.scaffold/env"
chmod 0777 "$st/tmp/run" "$st/tmp/.scaffold" "$st/tmp/.scaffold/env"
printf 'true' >"$st/tmp/.scaffold/script"
cat >"$st/tmp/.scaffold/wrapper.sh" <<'EOF'
# Written by scaffold: runs the task's script in this shell, then records
# its exit status and, on success, the store env.
__scaffold_end() {
	if [ -n "${__scaffold_done-}" ]; then return 0; fi
	__scaffold_done=1
	command printf '%s\n' "$1" >/tmp/.scaffold/exit
	if [ "$1" -eq 0 ]; then
		:
	fi
}
trap '__scaffold_end "$?"' EXIT
. /tmp/.scaffold/script
__scaffold_st=$?
__scaffold_end "$__scaffold_st"
exit "$__scaffold_st"
EOF
chmod 0644 "$st/tmp/.scaffold/script" "$st/tmp/.scaffold/wrapper.sh"
tar -C "$st" --format=ustar --owner=0 --group=0 --numeric-owner \
	--no-recursion -cf "$W/put.tar" tmp/run/ tmp/.scaffold/ \
	tmp/.scaffold/env/ tmp/.scaffold/script tmp/.scaffold/wrapper.sh ||
	die "cannot write $W/put.tar"

# 4. the measurements
cores=$(nproc 2>/dev/null || echo '?')
echo "scaffold docker benchmark, $(date -u +%Y-%m-%d), $cores cores," \
	"$(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg)$build_note"
echo "engine:   Docker $engine_version (API $engine_api, used $api," \
	"$driver), $engine_kind"
echo "image:    $IMAGE (static busybox, docker import); every container" \
	"NetworkMode none"
perl bench/docker.pl "$W/scaffold" "$W" "$SOCK" "$IMAGE" "$api" "$N" \
	"$WIDE" || die "docker benchmark failed (see $W)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
