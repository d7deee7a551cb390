# docker.sh - a Docker engine of the test's own, on a socket in $T, and a
# small image built without any registry (docker import of a root file
# system holding the distribution's static busybox).  Source after lib.sh:
#   start_dockerd      starts it (DOCKER_SOCK, DOCKERD_PID); stopped on exit
#   stop_dockerd [crash]  stops it; with crash, SIGKILL as if it died
#   dk ARGS...         the docker CLI against it (for setup and checks only)
#   import_image NAME  builds NAME from busybox
DOCKERD=$(command -v dockerd || echo /usr/sbin/dockerd)
[ -x "$DOCKERD" ] || skip_all "dockerd is not installed (scripts/install-deps.sh installs docker.io)"
[ -x /bin/busybox ] || skip_all "busybox is not installed (scripts/install-deps.sh installs busybox-static)"
DOCKER_SOCK="$T/docker.sock"
DOCKERD_PID=""
trap 'stop_dockerd; docker_leftovers; rm -rf "$T"' EXIT

# what a crashed engine leaves: its containerd, shims and mounts
docker_leftovers() {
	pkill -9 -f "$T/docker" 2>/dev/null
	sleep 0.5
	grep " $T/" /proc/mounts | awk '{print $2}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null
	# its state: a stale pid file or socket stops the next start
	rm -rf "$T/docker-exec"
}

dk() { docker -H "unix://$DOCKER_SOCK" "$@"; }

start_dockerd() {
	docker_leftovers
	mkdir -p "$T/docker-data" "$T/docker-exec"
	"$DOCKERD" --host "unix://$DOCKER_SOCK" --data-root "$T/docker-data" \
		--exec-root "$T/docker-exec" --pidfile "$T/docker.pid" \
		--iptables=false --bridge=none >>"$T/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	if ! wait_for 30 dk version; then
		echo "# dockerd did not start:"
		sed 's/^/#   /' "$T/dockerd.log" | tail -20
		echo "Bail out! the Docker engine cannot run here"
		exit 1
	fi
}

stop_dockerd() {
	[ -n "$DOCKERD_PID" ] || return 0
	if [ "${1:-}" = crash ]; then
		kill_ours -KILL "$DOCKERD_PID"
	else
		dk ps -aq 2>/dev/null | xargs -r docker -H "unix://$DOCKER_SOCK" rm -f >/dev/null 2>&1
		kill_ours "$DOCKERD_PID"
	fi
	wait "$DOCKERD_PID" 2>/dev/null
	DOCKERD_PID=""
	rm -f "$DOCKER_SOCK"
}

import_image() {
	_r="$T/rootfs"
	rm -rf "$_r"
	mkdir -p "$_r/bin" "$_r/tmp"
	cp /bin/busybox "$_r/bin/"
	for c in sh ls cat echo sleep printf env mkdir rm od tr true false \
		test [ head tail wc sed grep id; do
		ln -s busybox "$_r/bin/$c"
	done
	tar -C "$_r" -c . | dk import - "$1" >/dev/null
}
