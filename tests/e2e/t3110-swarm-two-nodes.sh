#!/bin/sh
# The swarm runner on a two-node swarm the test builds itself: the manager
# is the test's dockerd; the worker a second dockerd in a network
# namespace of the test's own (a veth pair, its own address) and a UTS
# namespace (its own host name), joined as a worker with the node label
# pool=build.  A task constrained to that label runs there (its log names
# the node), and its stored file reaches a task on the manager; the worker
# killed while a task runs there ends that run lost, with the reason.
# (Its dirs are under $T/docker-*: docker_leftovers ends what it leaves.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
[ "$(id -u)" = 0 ] || skip_all "a network namespace needs root"
command -v ip >/dev/null || skip_all "ip (iproute2) is not installed"
command -v nsenter >/dev/null || skip_all "nsenter (util-linux) is not installed"
D="$T/data"
IMG=scaffold-test:busybox
NS=scaffold-t3110-$$
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

cat >"$T/c.yaml" <<Y
data_dir: $D
swarm: {socket: $DOCKER_SOCK, pending_timeout: 60s}
Y
cat >"$T/two.yaml" <<Y
version: v1
name: two
runner: swarm
tasks:
  - name: build
    image: $IMG
    placement: [node.labels.pool==build]
    run: echo built; printf 'artifact' >out.txt
    store: {file: [out.txt]}
  - name: use
    image: $IMG
    placement: [node.role==manager]
    depends_on: [build]
    load: {file: [out.txt]}
    run: cat out.txt; echo
Y
run "$SCAFFOLD" apply -q -c "$T/c.yaml" -d "$D" "$T/two.yaml"
is "$RC" 0 "both tasks succeed"
is "$("$SCAFFOLD" logs -d "$D" two build | sed -n '2,3p')" "scaffold: swarm node sw-worker
built" "the task constrained to pool=build runs on the worker, and its log says so"
is "$("$SCAFFOLD" logs -d "$D" two use | sed -n '2,3p')" "scaffold: swarm node $(dk info -f '{{.Name}}')
artifact" "the file it stored reaches a task on the manager"
is "$(dk service ls -q | wc -l) $(wk ps -aq --filter label=scaffold.run --filter status=running | wc -l)" "0 0" \
	"no service is left, and nothing of the runs runs on the worker"
# the worker dies while a task runs on it
cat >"$T/dies.yaml" <<Y
version: v1
name: dies
runner: swarm
tasks:
  - name: long
    image: $IMG
    placement: [node.labels.pool==build]
    run: echo begin; sleep 120
Y
"$SCAFFOLD" apply -q -c "$T/c.yaml" -d "$D" "$T/dies.yaml" >"$T/dies.out" 2>&1 &
apid=$!
begun() { "$SCAFFOLD" logs -d "$D" dies long 2>/dev/null | grep -q '^begin$'; }
ok wait_for 60 begun "a task runs on the worker"
WCIDS=$(wk ps -q --no-trunc)
kill -9 "$WPID"
wait "$WPID" 2>/dev/null
WPID=""
wait $apid
is "$?" 1 "apply ends, exit 1"
is "$("$SCAFFOLD" logs -d "$D" dies long | sed -n '2,$p' | sed 's/ after [0-9a-z.]*$//' | sed 's/^scaffold: run [0-9]* /scaffold: run N /')" "scaffold: swarm node sw-worker
begin
scaffold: swarm node 'sw-worker' is down: heartbeat failure
scaffold: run N ended lost: swarm node 'sw-worker' is down: heartbeat failure" \
	"the run ends lost, saying which node went down and why"
is "$(dk service ls -q | wc -l)" 0 "its service is removed"
done_testing
