#!/bin/sh
# The swarm runner on a two-node swarm the test builds itself: the manager
# is the test's dockerd; the worker a second dockerd in a network
# namespace of the test's own (a veth pair, its own address) and a UTS
# namespace (its own host name), joined as a worker with the node label
# pool=build.  A task constrained to that label runs there (its log names
# the node), and its stored file reaches a task on the manager; the worker
# killed while a task runs there ends that run lost, with the reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
D="$T/data"
IMG=scaffold-test:busybox
. "$(dirname "$0")/swarm2.sh"

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
