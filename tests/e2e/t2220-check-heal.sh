#!/bin/sh
# heal: a drifted task runs again by itself (its descendants reset and
# follow, its error: handler does not run), and its probe passes again; at
# most max_heals times an hour, then it stays error with the drift reason
# and the handler runs, once.  Local runner, real daemon.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed (scripts/install-deps.sh installs it)"
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$T" "$G"
}
G=$(mktemp -d /run/scaffold-check.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
trap cleanup EXIT
D="$T/data"
q() { sqlite3 "$D/scaffold.db" "$1"; }
task() { # NAME: "state runs"
	q "SELECT state || ' ' || (SELECT COUNT(*) FROM runs r WHERE r.task_id = t.id) FROM tasks t WHERE name = '$1'"
}

tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
# each run of app waits for its gate: the test decides when it ends
cat >"$T/r/.scaffold/web.yaml" <<Y
version: v1
name: web
runner: local
tasks:
  - name: app
    run: while [ ! -e "$G/run-\$SCAFFOLD_RUN_ID" ]; do sleep 0.05; done
    check:
      interval: 1s
      run: test -e "$G/marker"
      heal: true
      max_heals: 2
  - name: after
    depends_on: [app]
    run: echo after
  - name: fix
    depends_on: {error: [app]}
    run: echo fixing
Y
touch "$G/marker" "$G/run-1"
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
passed() { # RUN: probes of that run of app that passed
	q "SELECT COUNT(*) FROM check_runs WHERE run_id = $1 AND state = 'success'"
}
wait_for 10 sh -c "[ \"\$(sqlite3 '$D/scaffold.db' \"SELECT COUNT(*) FROM check_runs WHERE run_id = 1 AND state = 'success'\")\" -ge 2 ]"
is "$?" 0 "app succeeds and its probe passes"

# heal 1: the task runs again, the marker comes back, the probe passes
rm "$G/marker"
wait_for 5 sh -c "[ \"\$(sqlite3 '$D/scaffold.db' \"SELECT state || ' ' || (SELECT COUNT(*) FROM runs r WHERE r.task_id = t.id) FROM tasks t WHERE name = 'app'\")\" = 'running 2' ]"
is "$?" 0 "the drift heals: app runs again"
run1=$(q "SELECT MAX(id) FROM runs WHERE task_id = (SELECT id FROM tasks WHERE name = 'app')")
is "$(task after)" "not_started 1" "its descendant reset"
is "$(task fix)" "not_started 0" "its error: handler did not run"
is "$(q "SELECT reason FROM task_history WHERE task_id = (SELECT id FROM tasks WHERE name = 'app') AND to_state = 'error'")" \
	"drift: check failed on local (exit 1)" "the drift stays in the history"
touch "$G/marker" "$G/run-$run1"
wait_for 10 sh -c "[ \"\$(sqlite3 '$D/scaffold.db' \"SELECT COUNT(*) FROM check_runs WHERE run_id = $run1 AND state = 'success'\")\" -ge 1 ]"
is "$?" 0 "after the heal the probe passes again"
is "$(task app) $(task after)" "success 2 success 2" "app and its descendant succeeded again"

# heal 2, then max_heals (2 an hour) stops the loop
rm "$G/marker"
wait_for 5 sh -c "[ \"\$(sqlite3 '$D/scaffold.db' \"SELECT state || ' ' || (SELECT COUNT(*) FROM runs r WHERE r.task_id = t.id) FROM tasks t WHERE name = 'app'\")\" = 'running 3' ]"
is "$?" 0 "a second drift heals too"
run2=$(q "SELECT MAX(id) FROM runs WHERE task_id = (SELECT id FROM tasks WHERE name = 'app')")
touch "$G/run-$run2"
wait_for 10 sh -c "[ \"\$(sqlite3 '$D/scaffold.db' \"SELECT state FROM tasks WHERE name = 'fix'\")\" = success ]"
is "$?" 0 "the third drift is past max_heals: the handler runs"
sleep 2.2
is "$(task app)" "error 3" "app stays error, with no third heal"
is "$(q "SELECT reason FROM task_history WHERE task_id = (SELECT id FROM tasks WHERE name = 'app') ORDER BY id DESC LIMIT 1")" \
	"drift: check failed on local (exit 1)" "with the drift reason"
is "$(task fix)" "success 1" "the handler ran once"
is "$(q "SELECT COUNT(*) FROM check_runs WHERE heal = 1") $(q "SELECT COUNT(*) FROM check_runs WHERE drift = 1")" \
	"2 3" "two probes healed, three saw drift"
is "$(q "SELECT reason FROM task_history WHERE reason LIKE 'heal %' ORDER BY id" | sed 's/check run [0-9]*/check run N/')" \
	"heal 1 of 2 this hour: re-run after check run N failed on local
heal 2 of 2 this hour: re-run after check run N failed on local" \
	"each heal says so in the history"
done_testing
