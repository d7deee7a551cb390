#!/bin/sh
# Placement mode global on a two-node swarm (swarm2.sh: the manager and a
# worker sw-worker with the node label pool=build): a task runs once on
# every eligible node, each node's run recorded, shown and logged under
# the node's host name; a node that fails shows as that node failing; a
# retry runs again only the node that failed; a constraint that picks one
# node runs once; one that picks none ends error saying so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
D="$T/data"
IMG=scaffold-test:busybox
. "$(dirname "$0")/swarm2.sh"
command -v jq >/dev/null || skip_all "jq is not installed"
MGR=$(dk info -f '{{.Name}}')

cat >"$T/c.yaml" <<Y
data_dir: $D
swarm: {socket: $DOCKER_SOCK, pending_timeout: 60s}
Y
cat >"$T/fan.yaml" <<Y
version: v1
name: fan
runner: swarm
tasks:
  - name: each
    image: $IMG
    placement: {mode: global}
    run: |
      echo "on \$SCAFFOLD_HOST"
      if [ "\$SCAFFOLD_HOST" = sw-worker ]; then exit 3; fi
  - name: pool
    image: $IMG
    placement: {mode: global, constraints: [node.labels.pool==build]}
    run: echo "pool on \$SCAFFOLD_HOST"
  - name: retried
    image: $IMG
    placement: {mode: global}
    retries: 1
    run: |
      echo "attempt \$SCAFFOLD_ATTEMPT on \$SCAFFOLD_HOST"
      if [ "\$SCAFFOLD_HOST" = sw-worker ] && [ "\$SCAFFOLD_ATTEMPT" = 1 ]; then exit 4; fi
  - name: nowhere
    image: $IMG
    placement: {mode: global, constraints: [node.labels.pool==gpu]}
    run: "true"
Y
run "$SCAFFOLD" apply -q -c "$T/c.yaml" -d "$D" "$T/fan.yaml"
is "$RC" 1 "a node that fails makes apply exit 1"
run "$SCAFFOLD" status -d "$D" -o json fan
printf '%s\n' "$OUT" >"$T/status.json"
task() { jq -r ".cascades[0].tasks[] | select(.name == \"$1\") | $2" "$T/status.json"; }
is "$(task each '.state, .runs, (.hosts[] | "\(.host) \(.state) \(.exit_code)")' | sort)" \
	"$(printf '2\n%s success 0\nerror\nsw-worker error 3\n' "$MGR" | sort)" \
	"mode global: a run on each node, each with its own outcome; the task is error because one node is"
is "$(task retried '.state, .runs, (.hosts[] | "\(.host) \(.attempt) \(.state)")' | sort)" \
	"$(printf '3\n%s 1 success\nsuccess\nsw-worker 2 success\n' "$MGR" | sort)" \
	"a retry runs again only the node that failed"
is "$(task pool '"\(.state) \(.runs)"') $("$SCAFFOLD" runs -d "$D" fan pool | awk 'NR > 1 { print $2, $4 }')" \
	"success 1 sw-worker success" "a constraint that picks one node: one run, there"
is "$(task nowhere '[.state, .runs, has("hosts")] | @json')" '["error",1,false]' \
	"a constraint no node meets: the task ends error, with one run and no node"
run "$SCAFFOLD" logs -d "$D" --host sw-worker fan each
is "$(printf '%s\n' "$OUT" | sed -n '2,$p' | sed 's/ after [0-9a-z.]*$//' | sed 's/^scaffold: run [0-9]* /scaffold: run N /')" "scaffold: swarm node sw-worker
on sw-worker
scaffold: run N ended error: exit code 3" "logs --host: the failing node's own run, its output only"
run "$SCAFFOLD" logs -d "$D" --host "$MGR" fan each
is "$(printf '%s\n' "$OUT" | sed -n '2,3p')" "scaffold: swarm node $MGR
on $MGR" "logs --host: the manager's run ran on the manager"
run "$SCAFFOLD" logs -d "$D" fan nowhere
is "$RC:$(printf '%s\n' "$ERR" | sed 's/run [0-9]* /run N /')" \
	"1:scaffold logs: run N never started: placement mode 'global': no swarm node meets node.labels.pool==gpu" \
	"the run of a constraint no node meets says why it never started"
run "$SCAFFOLD" runs -d "$D" fan each
is "$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $2, $3, $4, $5 }' | sort)" \
	"$(printf '%s 1 success 0\nsw-worker 1 error 3\n' "$MGR" | sort)" "scaffold runs: a row per node"
is "$(dk service ls -q | wc -l) $(dk ps -aq --filter label=scaffold.run | wc -l) $(wk ps -aq --filter label=scaffold.run --filter status=running | wc -l)" "0 0 0" \
	"no service is left, no container on the manager, nothing of the runs runs on the worker"
done_testing
