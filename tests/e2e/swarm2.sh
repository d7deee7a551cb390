# swarm2.sh - a two-node swarm of the test's own: the manager is the
# test's dockerd (docker.sh); the worker a second dockerd in a network
# namespace of the test's own (a veth pair, its own address) and a UTS
# namespace (host name sw-worker), joined as a worker with the node label
# pool=build; the image $IMG on both.  Source after lib.sh and docker.sh,
# with $IMG set:
#   wk ARGS...   the docker CLI against the worker
#   WID          the worker's node id; WPID its dockerd
#   WCIDS        set it to container ids of the worker whose processes the
#                cleanup must end (a worker killed mid-run leaves them)
# (Its dirs are under $T/docker-*: docker_leftovers ends what it leaves.)
[ "$(id -u)" = 0 ] || skip_all "a network namespace needs root"
command -v ip >/dev/null || skip_all "ip (iproute2) is not installed"
command -v nsenter >/dev/null || skip_all "nsenter (util-linux) is not installed"
NS=scaffold-sw2-$$
VETH=sct$$
NET=10.$((200 + $$ % 50)).$(($$ / 50 % 250)).
WPID=""
WCIDS=""
cleanup_two() {
	if [ -n "$WPID" ]; then
		kill_ours "$WPID"
		wait "$WPID" 2>/dev/null
	fi
	# what runs in the containers the dead worker left (by their
	# cgroup: their shims die with docker_leftovers, they would not)
	for _c in $WCIDS; do
		grep -l "/docker/$_c\$" /proc/[0-9]*/cgroup 2>/dev/null |
			sed 's|/proc/\([0-9]*\)/cgroup|\1|' | xargs -r kill -9
	done
	ip netns del "$NS" 2>/dev/null
	ip link del "${VETH}a" 2>/dev/null
	stop_dockerd
	docker_leftovers
	rm -rf "$T"
}
trap cleanup_two EXIT

ip netns add "$NS" || skip_all "cannot make a network namespace here"
ip link add "${VETH}a" type veth peer name "${VETH}b" &&
	ip link set "${VETH}b" netns "$NS" &&
	ip addr add "${NET}1/24" dev "${VETH}a" && ip link set "${VETH}a" up &&
	ip -n "$NS" addr add "${NET}2/24" dev "${VETH}b" &&
	ip -n "$NS" link set "${VETH}b" up && ip -n "$NS" link set lo up ||
	skip_all "cannot make a veth pair here"

start_dockerd
import_image "$IMG"
# the worker: the net namespace only (ip netns exec would remount /sys,
# without the cgroups dockerd needs), a host name of its own
mkdir -p "$T/docker-w-data" "$T/docker-w-exec"
nsenter --net="/run/netns/$NS" unshare --uts sh -c "hostname sw-worker &&
	exec '$DOCKERD' --host 'unix://$T/docker-w.sock' --data-root '$T/docker-w-data' \
	--exec-root '$T/docker-w-exec' --pidfile '$T/docker-w.pid' --iptables=false \
	--bridge=none" >>"$T/dockerd-worker.log" 2>&1 &
WPID=$!
wk() { docker -H "unix://$T/docker-w.sock" "$@"; }
wait_for 30 wk version >/dev/null 2>&1 || {
	tail -5 "$T/dockerd-worker.log" | sed 's/^/# /'
	skip_all "a second dockerd cannot start in a network namespace here"
}
PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(
	Listen => 1, LocalAddr => "'"${NET}1"':0")->sockport')
dk swarm init --advertise-addr "${NET}1:$PORT" --listen-addr "${NET}1:$PORT" \
	>/dev/null || skip_all "docker swarm init failed"
ok wk swarm join --token "$(dk swarm join-token -q worker)" \
	--advertise-addr "${NET}2" --listen-addr "${NET}2:$PORT" "${NET}1:$PORT" \
	"the second engine joins as a worker"
WID=$(dk node ls -q --filter role=worker)
dk node update --label-add pool=build "$WID" >/dev/null
tar -C "$T/rootfs" -c . | wk import - "$IMG" >/dev/null
