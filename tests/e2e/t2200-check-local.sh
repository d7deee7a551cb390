#!/bin/sh
# Drift checks on the local runner, for real: after a task succeeds its
# check.run probes every interval (in the task's sandbox, with its env and
# SCAFFOLD_CHECK=1), each probe a check run with its own log, never one of
# the task's runs; once the probe fails the task is error with the exact
# drift reason, its error: handler runs once, and no probe follows.
. "$(dirname "$0")/lib.sh"
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$T" "$G"
}
# the marker the probe tests: outside /tmp (a local task has its own of),
# readable by the task user (the sandbox lets it write only its run dir)
G=$(mktemp -d /run/scaffold-check.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
trap cleanup EXIT
D="$T/data"

tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
cat >"$T/r/.scaffold/web.yaml" <<Y
version: v1
name: web
runner: local
tasks:
  - name: deploy
    env: {GREETING: hello}
    run: echo deployed
    check:
      interval: 1s
      run: |
        echo "probe \$SCAFFOLD_CHECK \$GREETING \$SCAFFOLD_TASK"
        test -e "$G/marker"
  - name: remediate
    depends_on: {error: [deploy]}
    run: echo remediating
Y
touch "$G/marker"
(cd "$T/r" && tgit add -A && tgit commit -q -m first &&
	tgit push -q origin main 2>/dev/null)
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 250ms
local: {user: nobody}
repos:
  - name: r
    url: $T/r.git
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"

# jq-free field access: the task object of 'deploy' from status -o json
status() { "$SCAFFOLD" status -d "$D" -o json web 2>&1; }
checks() { ls "$D/logs" 2>/dev/null | grep -c '^check-.*\.log$'; }
wait_for 10 sh -c "[ \$(ls '$D/logs' 2>/dev/null | grep -c '^check-') -ge 3 ]"
is "$?" 0 "the probe runs again and again after the task's success"
first=$(ls "$D/logs" | grep '^check-' | sort | head -1)
id=${first#check-}; id=${id%.log}
is "$(sed 's/ after [0-9.]*m\{0,1\}s$//' "$D/logs/$first")" "scaffold: check run $id of web/deploy on local, runner local
probe 1 hello deploy
scaffold: check run $id ended success" \
	"each probe has its own log: the task's env and SCAFFOLD_CHECK=1"
out=$(status)
case "$out" in
*'"state": "success"'*'"runs": 1,'*) r=0 ;;
*) r=1 ;;
esac
is "$r" 0 "the task is success with one run: probes are not runs"
is "$(ls "$D/logs" | grep -vc '^check-')" 1 "one task log only"

rm "$G/marker"
t0=$(($(date +%s%N) / 1000000))
wait_for 20 sh -c "'$SCAFFOLD' status -d '$D' -o json web | grep -q '\"state\": \"error\"'"
is "$?" 0 "the task turns error once its probe fails"
# no probe is ignored: one in flight when the marker went may pass, the
# next one is the drift (counted, not timed: the load of the machine
# decides how long a probe takes)
ended=$(sqlite3 "$D/scaffold.db" "SELECT k.drift FROM check_runs k JOIN tasks t ON t.id = k.task_id WHERE t.name = 'deploy' AND k.ended_at >= $t0 ORDER BY k.id" | tr '\n' ' ')
echo "# drift flags of the probes that ended after the change: $ended"
ok sh -c "case '$ended' in '1 '|'0 1 ') exit 0;; esac; exit 1" "the first probe started after the change is the drift"
out=$(status)
is "$(printf '%s\n' "$out" | sed -n 's/.*"reason": "\(drift[^"]*\)".*/\1/p' | head -1)" \
	"drift: check failed on local (exit 1)" "the exact drift reason"
tasks() { status | tr -d ' \n' | sed 's/,"reason":[^]]*\]*}//'; }
wait_for 5 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '\"name\":\"remediate\",\"state\":\"success\"'"
is "$?" 0 "its error: handler runs"
n=$(checks)
sleep 2.2
is "$(status | tr -d ' \n' | sed 's/.*"tasks":\[{"name":"deploy","state":"error","runs":1,"last_run":1,[^]]*\]*},//')" \
	'{"name":"remediate","state":"success","runs":1,"last_run":2}]}]}' \
	"the handler ran once; the task's runs did not change"
is "$(checks)" "$n" "no probe of a task in error"
ok grep -q "check [0-9]* web/deploy on local: error (drift: the task is error)" "$T/serve.log" \
	"the daemon says so"

# visible everywhere: status, logs --check (data dir and API), metrics,
# the status page with a link to the probe's log
last=$(ls "$D/logs" | grep '^check-' | sed 's/check-\([0-9]*\).log/\1/' | sort -n | tail -1)
run "$SCAFFOLD" status -d "$D" web
is "$(printf '%s\n' "$OUT" | sed -n '/^  deploy/,/^  remediate/p' | sed 's/, [0-9.a-z ]* ago;/, T ago;/')" \
"  deploy                   error            1  1
    check: last $last error on local, T ago; none due
    drift: check failed on local (exit 1)
  remediate                success          1  2" "scaffold status shows the last probe and the drift"
run "$SCAFFOLD" logs --check -d "$D" web deploy
is "$(printf '%s\n' "$OUT" | sed 's/ after [0-9.]*m\{0,1\}s$//')" "scaffold: check run $last of web/deploy on local, runner local
probe 1 hello deploy
scaffold: check run $last ended error: exit code 1
scaffold: drift: the task is error" "scaffold logs --check prints the last probe's log"
run "$SCAFFOLD" logs --check -d "$D" web remediate
is "$RC:$ERR" "1:scaffold logs: task 'remediate' has not been probed yet" \
	"a task without probes says so"
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)
H="http://127.0.0.1:$PORT"
run env SCAFFOLD_TOKEN="$VIEW" "$SCAFFOLD" logs --check --server "$H" web deploy
is "$(printf '%s\n' "$OUT" | tail -n 1)" "scaffold: drift: the task is error" \
	"the same through the API"
# curl is installed by scripts/install-deps.sh: no silent skip here
curl -s -H "Authorization: Bearer $VIEW" "$H/metrics" >"$T/metrics"
is "$(grep '^scaffold_drifted_tasks' "$T/metrics")" "scaffold_drifted_tasks 1" \
	"metrics: one drifted task"
is "$(grep '^scaffold_checks_total{result="error"}' "$T/metrics")" \
	'scaffold_checks_total{result="error"} 1' "metrics: one failed probe"
curl -s -H "Authorization: Bearer $VIEW" "$H/c/r/web" >"$T/page"
ok grep -q "<span class=\"st st-error\">drift</span> check failed on local (exit 1)" "$T/page" \
	"the status page shows the drift apart from a failed run"
ok grep -q "<a href=\"../../k/$last/log\">#$last</a>" "$T/page" \
	"and links the probe's log"
ok page_shot "$H/c/r/web" drift 1280,1100 -H "Authorization: Bearer $VIEW" \
	"screenshot of a drifted task and its remediation"
is "$(curl -s -H "Authorization: Bearer $VIEW" "$H/k/$last/log" | tail -n 1)" \
	"scaffold: drift: the task is error" "which is there"
done_testing
