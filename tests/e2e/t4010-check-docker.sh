#!/bin/sh
# Drift checks on the docker runner, against an engine of the test's own:
# the task's probe runs in a container of the task's image every interval
# (SCAFFOLD_CHECK=1, the task's env); when the image behind the task's tag
# changes under it (the drift: /marker gone), the task is error with the
# exact drift reason and its error: handler runs once; no container is
# left behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
spid=
trap '[ -n "$spid" ] && kill_ours "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
stop_dockerd; docker_leftovers; rm -rf "$T"' EXIT
D="$T/data"
start_dockerd
import_image scaffold-test:plain
# the same file system with /marker: the image the task is deployed with
touch "$T/rootfs/marker"
tar -C "$T/rootfs" -c . | dk import - scaffold-test:web >/dev/null
dk tag scaffold-test:web scaffold-test:marked
dk tag scaffold-test:web scaffold-test:hweb
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed (scripts/install-deps.sh installs it)"

tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
cat >"$T/r/.scaffold/web.yaml" <<Y
version: v1
name: web
tasks:
  - name: deploy
    image: scaffold-test:web
    env: {GREETING: hello}
    run: echo deployed
    check:
      interval: 1s
      timeout: 20s # a container's start may take longer than 1s
      run: |
        echo "probe \$SCAFFOLD_CHECK \$GREETING"
        test -e /marker
  - name: remediate
    image: scaffold-test:plain
    depends_on: {error: [deploy]}
    run: echo remediating
  - name: healer
    image: scaffold-test:hweb
    run: sleep 3 # time for the test to put the image right
    check:
      interval: 1s
      timeout: 20s
      run: test -e /marker
      heal: true
      max_heals: 1
Y
(cd "$T/r" && tgit add -A && tgit commit -q -m first &&
	tgit push -q origin main 2>/dev/null)
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 250ms
docker: {socket: $DOCKER_SOCK}
repos:
  - name: r
    url: $T/r.git
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"

status() { "$SCAFFOLD" status -d "$D" -o json web 2>&1; }
checks() { # probes of deploy
	sqlite3 "$D/scaffold.db" "SELECT COUNT(*) FROM check_runs k JOIN tasks t ON t.id = k.task_id WHERE t.name = 'deploy'"
}
wait_for 20 sh -c "[ \$(ls '$D/logs' 2>/dev/null | grep -c '^check-') -ge 3 ]"
is "$?" 0 "the probe runs again and again after the task's success"
is "$(cat "$D"/logs/check-*.log | grep '^probe' | sort -u)" "probe 1 hello" \
	"in the task's image, with its env and SCAFFOLD_CHECK=1"
is "$(sqlite3 "$D/scaffold.db" "SELECT COUNT(*) FROM check_runs WHERE state NOT IN ('success', 'running')")" 0 \
	"every probe passed"

dk tag scaffold-test:plain scaffold-test:web
t0=$(($(date +%s%N) / 1000000))
wait_for 30 sh -c "'$SCAFFOLD' status -d '$D' -o json web | grep -q '\"state\": \"error\"'"
is "$?" 0 "the task turns error once its probe fails"
# no probe is ignored: one in flight when the image changed may pass, the
# next one is the drift (counted, not timed: a container's start takes
# from 0.3 to 7 s here, depending on the load)
ended=$(sqlite3 "$D/scaffold.db" "SELECT k.drift FROM check_runs k JOIN tasks t ON t.id = k.task_id WHERE t.name = 'deploy' AND k.ended_at >= $t0 ORDER BY k.id" | tr '\n' ' ')
echo "# drift flags of the probes that ended after the change: $ended"
ok sh -c "case '$ended' in '1 '|'0 1 ') exit 0;; esac; exit 1" "the first probe started after the change is the drift"
is "$(status | sed -n 's/.*"reason": "\(drift[^"]*\)".*/\1/p' | head -1)" \
	"drift: check failed on docker (exit 1)" "the exact drift reason"
wait_for 20 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '\"name\":\"remediate\",\"state\":\"success\"'"
is "$?" 0 "its error: handler runs"
n=$(checks)
sleep 2.2
is "$(status | tr -d ' \n' | grep -o '"name":"deploy","state":"[a-z]*","runs":[0-9]*\|"name":"remediate","state":"[a-z]*","runs":[0-9]*')" \
	'"name":"deploy","state":"error","runs":1
"name":"remediate","state":"success","runs":1' \
	"the handler ran once; the task's runs did not change"
is "$(checks)" "$n" "no probe of a task in error"

# heal in containers: the task runs again, the probe passes again;
# max_heals 1 stops the loop
h() { "$SCAFFOLD" status -d "$D" -o json web | tr -d ' \n' | grep -o '"name":"healer","state":"[a-z_]*","runs":[0-9]*'; }
hq() { echo "\"name\":\"healer\",\"state\":\"$1\",\"runs\":$2"; }
wait_for 20 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '$(hq success 1)'"
is "$?" 0 "healer succeeded"
dk tag scaffold-test:plain scaffold-test:hweb
wait_for 15 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '$(hq running 2)'"
is "$?" 0 "its drift heals: it runs again"
dk tag scaffold-test:marked scaffold-test:hweb
wait_for 15 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '$(hq success 2)'"
is "$?" 0 "and succeeds"
hrun=$(sqlite3 "$D/scaffold.db" "SELECT MAX(id) FROM runs WHERE task_id = (SELECT id FROM tasks WHERE name = 'healer')")
wait_for 15 sh -c "[ \"\$(sqlite3 '$D/scaffold.db' \"SELECT COUNT(*) FROM check_runs WHERE run_id = $hrun AND state = 'success'\")\" -ge 1 ]"
is "$?" 0 "its probe passes again"
dk tag scaffold-test:plain scaffold-test:hweb
wait_for 15 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '$(hq error 2)'"
is "$?" 0 "max_heals: the next drift is not healed, the task stays error"
kill "$spid"
wait "$spid" 2>/dev/null
spid=
is "$(dk ps -aq | wc -l)" 0 "no container is left behind"
done_testing
