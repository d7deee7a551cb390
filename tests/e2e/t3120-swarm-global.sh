#!/bin/sh
# Placement mode global on a two-node swarm (swarm2.sh: the manager and a
# worker sw-worker with the node label pool=build): a task runs once on
# every eligible node, each node's run recorded, shown and logged under
# the node's host name; a node that fails shows as that node failing; a
# retry runs again only the node that failed; a constraint that picks one
# node runs once; one that picks none ends error saying so.  Under the
# daemon, the API, the cascade page and the commit status name the node
# that failed.
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

# the daemon: the API, the page and the commit status name the node
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
[ -x "$STUB" ] || { echo "Bail out! no forge stub (make build/tests/forge-stub)"; exit 1; }
"$STUB" --log "$T/gh.log" >"$T/gh.port" 2>"$T/gh.err" &
GHPID=$!
SPID=""
trap 'kill_ours $SPID $GHPID; cleanup_two' EXIT
wait_for 10 test -s "$T/gh.port" || { echo "Bail out! no forge stub"; exit 1; }
touch "$T/gh.log"
echo ghp-token >"$T/gh.token"
tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
cat >"$T/r/.scaffold/web.yaml" <<Y
version: v1
name: web
runner: swarm
tasks:
  - name: deploy
    image: $IMG
    placement: {mode: global}
    run: |
      echo "deploying on \$SCAFFOLD_HOST"
      if [ "\$SCAFFOLD_HOST" = sw-worker ]; then exit 3; fi
Y
(cd "$T/r" && tgit add -A && tgit commit -q -m web && tgit push -q origin main 2>/dev/null)
cat >"$T/serve.yaml" <<Y
data_dir: $T/sdata
listen: 127.0.0.1:0
poll_interval: 1h
public_url: https://scaffold.example.com/
swarm: {socket: $DOCKER_SOCK, pending_timeout: 60s}
repos:
  - name: r
    url: $T/r.git
    runners: [swarm]
    forge: {kind: github, project: o/r, api_url: "http://127.0.0.1:$(cat "$T/gh.port")", token_file: $T/gh.token}
Y
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$T/sdata" 2>/dev/null)
"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/serve.log" &
SPID=$!
serve_port "$T/serve.log"
U="http://127.0.0.1:$PORT"
get() { curl -s -H "Authorization: Bearer $VIEW" "$U$1"; }
ended() { [ "$(get /api/v1/cascades/r/web | jq -r '.tasks[0].state')" = error ]; }
ok wait_for 60 ended "the daemon runs the task on both nodes, and it ends error"
is "$(get /api/v1/cascades/r/web | jq -r '.tasks[0].hosts[] | "\(.host) \(.state) \(.exit_code) \(.message)"' | sort)" \
	"$(printf '%s success 0 \nsw-worker error 3 exit code 3\n' "$MGR" | sort)" "API: each node's run under its host name"
get /c/r/web >"$T/page.html"
xp() { xmllint --html --xpath "$2" "$1" 2>/dev/null; }
is "$(xp "$T/page.html" "normalize-space(//p[@id='verdict'])")" \
	"1 of 1 task failed: deploy (on sw-worker: exit code 3)." "page: the verdict names the failed node"
is "$(xp "$T/page.html" "normalize-space((//table[@id='tasks']/tbody/tr)[1]/td[1])")" \
	"deploy" "page: the task's row"
is "$(for i in 2 3; do xp "$T/page.html" "normalize-space((//table[@id='tasks']/tbody/tr)[$i]/td[1])"; echo; done | sed '/^$/d' | sort)" \
	"$(printf '↳ %s\n↳ sw-worker\n' "$MGR" | sort)" "page: a row per node"
ok page_shot "$U/c/r/web" swarm-global 1280,900 -H "Authorization: Bearer $VIEW" \
	"screenshot of a global task on two nodes, one failed"
ok wait_for 10 sh -c "grep -q '\"context\":\"scaffold/web\".*failure' '$T/gh.log'" "a failure status is sent"
is "$(grep '"context":"scaffold/web"' "$T/gh.log" | tail -n 1 | jq -r '.body.state + ": " + .body.description')" \
	"failure: 1 of 1 failed: deploy (sw-worker: exit 3)" "commit status: the failed node and its exit code"
kill_ours -TERM "$SPID"
wait "$SPID"
SPID=""
done_testing
